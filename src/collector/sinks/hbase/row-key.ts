import { createHash } from 'node:crypto';

/**
 * Row keys of the HBase sink: deterministic functions of (stream, offset), so a retransmitted
 * line writes the same cells of the same row again (exactly-once by construction, DESIGN.md
 * "Records in the sinks").
 *
 * The stream is the batch's `streamKey` (`<agent>:<device>:<inode>:<generation>`), never the path
 * alone: a truncated or recreated file starts a new generation whose offsets start at 0 again,
 * and its lines must not overwrite the old generation's.
 *
 * - `plain`: `<agent>:<stream hash>:<offset>`. A stream's lines sort in file order, so one prefix
 *   scan reads a stream (or, with the agent prefix, everything of an agent) in order. The cost:
 *   offsets only grow, so all writes of one stream go to the end of one region (a hot spot per
 *   stream); many agents spread over regions only once the table has split by agent.
 * - `salted`: `<bucket>:<agent>:<stream hash>:<offset>`, the two-digit bucket derived from the
 *   stream hash and the offset's block of SALT_BLOCK_BYTES, so a stream's writes move from bucket
 *   to bucket as the file grows and the load spreads over a table pre-split at the bucket
 *   prefixes. The cost: reading a stream in order takes one scan per bucket, merged by offset.
 */

/** Digits of the zero-padded offset: enough for any 64-bit unsigned number. */
export const OFFSET_DIGITS = 20;

/** Hex characters of the stream hash (the first 64 bits of SHA-1 of the stream key). */
export const STREAM_HASH_CHARS = 16;

/**
 * File bytes per salt block: lines whose offsets fall in one block of a stream share a bucket
 * (a batch touches one or two buckets, not all of them). 1 MiB.
 */
export const SALT_BLOCK_BYTES = 1024 * 1024;

/** Most salt buckets: the bucket is two decimal digits. */
export const MAX_SALT_BUCKETS = 100;

/** The longest row key HBase accepts (Short.MAX_VALUE bytes). */
export const MAX_ROW_KEY_BYTES = 32_767;

export type RowKeyConfig = { kind: 'plain' } | { kind: 'salted'; saltBuckets: number };

/** First 16 hex characters of SHA-1 of the stream key. */
export function streamHash(streamKey: string): string {
  return createHash('sha1').update(streamKey).digest('hex').slice(0, STREAM_HASH_CHARS);
}

/** The offset as 20 decimal digits, so that keys sort in offset order. */
export function paddedOffset(offset: number): string {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`offset ${offset} is not a non-negative integer`);
  }
  return String(offset).padStart(OFFSET_DIGITS, '0');
}

/** The salt bucket (0 .. buckets-1) of a line at `offset` of the stream hashed to `hash`. */
export function saltBucket(hash: string, offset: number, buckets: number): number {
  const block = Math.floor(offset / SALT_BLOCK_BYTES);
  const digest = createHash('sha1').update(`${hash}:${block}`).digest();
  return digest.readUInt32BE(0) % buckets;
}

/**
 * Builds the row keys of one stream: `keyOf(offset)` for each line. The stream's hash is
 * computed once per batch.
 */
export function rowKeyBuilder(
  config: RowKeyConfig,
  agentId: string,
  streamKey: string,
): (offset: number) => string {
  const hash = streamHash(streamKey);
  const prefix = `${agentId}:${hash}:`;
  if (config.kind === 'plain') return (offset) => prefix + paddedOffset(offset);
  const { saltBuckets } = config;
  return (offset) =>
    `${String(saltBucket(hash, offset, saltBuckets)).padStart(2, '0')}:${prefix}${paddedOffset(offset)}`;
}

/** The row key of one line (see rowKeyBuilder for a whole batch). */
export function rowKey(
  config: RowKeyConfig,
  agentId: string,
  streamKey: string,
  offset: number,
): string {
  return rowKeyBuilder(config, agentId, streamKey)(offset);
}

/**
 * The split points of a table pre-split for `salted` keys: `01` .. `<buckets-1>`, one region
 * per bucket. For operators (HBase shell `create ... SPLITS => [...]`): the REST gateway cannot
 * create a pre-split table.
 */
export function saltSplitKeys(buckets: number): string[] {
  return Array.from({ length: buckets - 1 }, (_, i) => String(i + 1).padStart(2, '0'));
}
