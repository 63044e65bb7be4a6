import { createHash } from 'node:crypto';
import type { CommittedOffset } from './stable-offset-fetch.js';

/**
 * Kafka's default `offset.metadata.max.bytes` is 4096; a bucket stays under it with room for the
 * format's prefix.
 */
export const MAX_BUCKET_METADATA_BYTES = 4000;

/** The format tag of a bucket's metadata, so a later format can tell old buckets apart. */
const FORMAT = 'm1';

/**
 * The exactly-once marks of one agent's streams (stream → end offset of its last committed
 * batch), as they are kept in Kafka: the consumer group of the agent commits an offset on each
 * partition of the marks topic, and the offset's *metadata* string holds the marks of the
 * streams that hash to that partition (a bucket). One group per agent, whatever the number of
 * files and rotations, and a takeover reads all of an agent's marks in one OffsetFetch.
 *
 * A bucket holds as many streams as fit in its metadata; past that, the stream written least
 * recently is dropped. Its mark mattered only while a batch of it could still be resent (a
 * takeover while it was in flight), so it is the one least likely to be needed. With 16
 * partitions that is over 2,000 recently written streams per agent before anything is dropped.
 */
export class AgentMarks {
  readonly #partitions: number;
  readonly #maxBytes: number;
  /** Per bucket: stream id → mark, in the order written (least recent first). */
  readonly #buckets = new Map<number, Map<string, number>>();
  /** Marks dropped so far to keep buckets within their size. */
  evicted = 0;

  constructor(partitions: number, maxBytes = MAX_BUCKET_METADATA_BYTES) {
    if (!Number.isInteger(partitions) || partitions < 1)
      throw new RangeError(`marks need at least one partition, not ${partitions}`);
    this.#partitions = partitions;
    this.#maxBytes = maxBytes;
  }

  get partitions(): number {
    return this.#partitions;
  }

  /**
   * Takes the committed offsets of the agent's group (what OffsetFetch answered). Each mark is
   * put in the bucket its stream id belongs to now, wherever it was read from: marks written
   * when the topic had another partition count are still found.
   */
  load(offsets: readonly CommittedOffset[]): void {
    this.#buckets.clear();
    for (const { metadata } of offsets) {
      if (!metadata) continue;
      for (const [id, mark] of decodeBucket(metadata)) {
        const partition = bucketOfId(id, this.#partitions);
        let bucket = this.#buckets.get(partition);
        if (!bucket) {
          bucket = new Map();
          this.#buckets.set(partition, bucket);
        }
        bucket.set(id, Math.max(mark, bucket.get(id) ?? 0));
      }
    }
  }

  /** The stream's committed mark, or undefined when none is known. */
  get(streamKey: string): number | undefined {
    return this.#buckets.get(this.bucketOf(streamKey))?.get(streamId(streamKey));
  }

  /**
   * Sets the stream's mark; returns what to commit in the same transaction as the records: the
   * bucket's partition and its whole new metadata.
   */
  set(streamKey: string, mark: number): { partition: number; metadata: string } {
    const partition = this.bucketOf(streamKey);
    let bucket = this.#buckets.get(partition);
    if (!bucket) {
      bucket = new Map();
      this.#buckets.set(partition, bucket);
    }
    const id = streamId(streamKey);
    bucket.delete(id);
    bucket.set(id, mark);
    let metadata = encodeBucket(bucket);
    while (Buffer.byteLength(metadata) > this.#maxBytes && bucket.size > 1) {
      const oldest = bucket.keys().next().value as string;
      bucket.delete(oldest);
      this.evicted++;
      metadata = encodeBucket(bucket);
    }
    return { partition, metadata };
  }

  /** The partition (bucket) of a stream: stable for a given number of partitions. */
  bucketOf(streamKey: string): number {
    return bucketOfId(streamId(streamKey), this.#partitions);
  }
}

/** A stream id's bucket: the first 32 bits of the hash it is made of, modulo the partitions. */
function bucketOfId(id: string, partitions: number): number {
  const bytes = Buffer.from(id, 'base64url');
  return bytes.length >= 4 ? bytes.readUInt32BE(0) % partitions : 0;
}

/** 96 bits of the stream key's hash: short, and no collision among one agent's streams. */
function streamId(streamKey: string): string {
  return createHash('sha256').update(streamKey).digest('base64url').slice(0, 16);
}

/** `m1` then `;<id>=<mark in base 36>` per stream, least recently written first. */
export function encodeBucket(bucket: ReadonlyMap<string, number>): string {
  let out = FORMAT;
  for (const [id, mark] of bucket) out += `;${id}=${mark.toString(36)}`;
  return out;
}

/** The inverse of encodeBucket; metadata in another format (or none) is an empty bucket. */
export function decodeBucket(metadata: string): Map<string, number> {
  const bucket = new Map<string, number>();
  const parts = metadata.split(';');
  if (parts[0] !== FORMAT) return bucket;
  for (const part of parts.slice(1)) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const mark = parseInt(part.slice(eq + 1), 36);
    if (Number.isSafeInteger(mark) && mark >= 0) bucket.set(part.slice(0, eq), mark);
  }
  return bucket;
}
