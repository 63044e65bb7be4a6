import { NO_FIELDS, batchFieldsProblem, hasFields, type Batch } from '../../common/wire/index.js';
import type { SinkBatch } from '../sinks/sink.js';

/** Limits a collector enforces on every batch (on top of gRPC's message size limit). */
export interface BatchLimits {
  /** Largest `lines` blob, in bytes. */
  maxBatchBytes: number;
  /** Most lines in one batch. */
  maxBatchLines: number;
}

/** Why a batch can never be accepted: the code is sent to the agent in `Rejected.code`. */
export interface BatchRejection {
  code:
    | 'MISSING_FIELD'
    | 'BAD_TOPIC'
    | 'BATCH_TOO_LARGE'
    | 'TOO_MANY_LINES'
    | 'LENGTHS_MISMATCH'
    | 'OFFSETS_MISMATCH'
    | 'BAD_FIELDS';
  reason: string;
}

export type ValidatedBatch =
  { ok: true; batch: SinkBatch } | { ok: false; rejection: BatchRejection };

/**
 * Kafka's topic rules (also safe as an HDFS path segment and a file name): 1-249 characters of
 * [a-zA-Z0-9._-], and not `.` or `..`.
 */
const topicPattern = /^[a-zA-Z0-9._-]{1,249}$/;

export function isValidTopic(topic: string): boolean {
  return topicPattern.test(topic) && topic !== '.' && topic !== '..';
}

/**
 * The stream key everything is deduplicated by: agent, device, inode and generation (the agent
 * raises the generation when the content restarts, so the key never needs the fingerprint,
 * which is empty until a file is long enough and must not change a growing file's key).
 */
export function streamKeyOf(agentId: string, stream: NonNullable<Batch['stream']>): string {
  return `${agentId}:${stream.device}:${stream.inode}:${stream.generation}`;
}

const reject = (code: BatchRejection['code'], reason: string): ValidatedBatch => ({
  ok: false,
  rejection: { code, reason },
});

/**
 * Checks a batch against the limits and against itself — the line lengths must add up to the
 * blob, and the on-disk lengths (content + dropped bytes + terminators, or `source_lengths`
 * when given, plus the bytes of records the agent filtered out: `skipped_before`,
 * `skipped_after`) to end - start — and
 * returns zero-copy line views with their file offsets. The batch's fields must keep the wire
 * rules (common/wire/fields.ts), or it is rejected BAD_FIELDS naming the first problem. A batch
 * that fails is rejected alone;
 * other streams on the same connection go on.
 */
export function validateBatch(raw: Batch, limits: BatchLimits): ValidatedBatch {
  if (!raw.agentId) return reject('MISSING_FIELD', 'agent_id is empty');
  const stream = raw.stream;
  if (!stream || !stream.path) return reject('MISSING_FIELD', 'stream identity (path) is missing');
  if (!isValidTopic(raw.topic)) {
    return reject(
      'BAD_TOPIC',
      `topic ${JSON.stringify(raw.topic.slice(0, 300))} is not 1-249 of [a-zA-Z0-9._-]`,
    );
  }
  // Older agents send none: the common case costs one property walk that finds nothing.
  const fields = hasFields(raw.fields) ? raw.fields : NO_FIELDS;
  if (fields !== NO_FIELDS) {
    const problem = batchFieldsProblem(fields);
    if (problem !== undefined) return reject('BAD_FIELDS', problem);
  }
  const blob = raw.lines;
  if (blob.length > limits.maxBatchBytes) {
    return reject(
      'BATCH_TOO_LARGE',
      `lines are ${blob.length} bytes, the limit is ${limits.maxBatchBytes}`,
    );
  }
  const count = raw.lineLengths.length;
  if (count > limits.maxBatchLines) {
    return reject('TOO_MANY_LINES', `${count} lines, the limit is ${limits.maxBatchLines}`);
  }
  if (raw.terminatorLengths.length !== 0 && raw.terminatorLengths.length !== count) {
    return reject(
      'LENGTHS_MISMATCH',
      `${raw.terminatorLengths.length} terminator lengths for ${count} lines`,
    );
  }
  if (raw.truncatedBytes.length !== 0 && raw.truncatedBytes.length !== count) {
    return reject(
      'LENGTHS_MISMATCH',
      `${raw.truncatedBytes.length} truncated counts for ${count} lines`,
    );
  }

  const sourceLengths = raw.sourceLengths;
  const skippedBefore = raw.skippedBefore;
  const skippedAfter = raw.skippedAfter;
  if (sourceLengths.length !== 0 && sourceLengths.length !== count) {
    return reject(
      'LENGTHS_MISMATCH',
      `${sourceLengths.length} source lengths for ${count} records (give one per record, or none)`,
    );
  }
  if (skippedBefore.length !== 0 && skippedBefore.length !== count) {
    return reject(
      'LENGTHS_MISMATCH',
      `${skippedBefore.length} skipped_before counts for ${count} records (give one per record, or none)`,
    );
  }
  if (count === 0 && raw.lines.length > 0) {
    return reject('LENGTHS_MISMATCH', `no line lengths for a ${blob.length}-byte blob`);
  }

  const lines: Buffer[] = new Array<Buffer>(count);
  const offsets: number[] = new Array<number>(count);
  let inBlob = 0;
  let inFile = raw.startOffset;
  for (let i = 0; i < count; i++) {
    const length = raw.lineLengths[i] ?? 0;
    const terminator = raw.terminatorLengths.length === 0 ? 1 : (raw.terminatorLengths[i] ?? 0);
    if (terminator > 2)
      return reject('LENGTHS_MISMATCH', `line ${i} has a terminator of ${terminator} bytes`);
    if (inBlob + length > blob.length) {
      return reject('LENGTHS_MISMATCH', `line lengths exceed the ${blob.length}-byte blob`);
    }
    lines[i] = blob.subarray(inBlob, inBlob + length);
    inFile += skippedBefore[i] ?? 0;
    offsets[i] = inFile;
    inBlob += length;
    if (sourceLengths.length === 0) {
      inFile += length + (raw.truncatedBytes[i] ?? 0) + terminator;
    } else {
      // A record whose footprint on disk differs from its content (multiline, decoded).
      const footprint = sourceLengths[i] ?? 0;
      if (footprint < Math.max(1, terminator)) {
        return reject(
          'LENGTHS_MISMATCH',
          `record ${i} covers ${footprint} bytes on disk, less than its terminator (${terminator}) or 1`,
        );
      }
      inFile += footprint;
    }
  }
  inFile += skippedAfter;
  if (inBlob !== blob.length) {
    return reject(
      'LENGTHS_MISMATCH',
      `line lengths add up to ${inBlob} bytes, the blob has ${blob.length}`,
    );
  }
  if (inFile !== raw.endOffset) {
    return reject(
      'OFFSETS_MISMATCH',
      `start ${raw.startOffset} + on-disk record lengths + skipped bytes = ${inFile}, but end_offset is ${raw.endOffset}`,
    );
  }
  return {
    ok: true,
    batch: {
      streamKey: streamKeyOf(raw.agentId, stream),
      agentId: raw.agentId,
      host: stream.host,
      path: stream.path,
      keyPath: stream.keyPath || stream.path,
      topic: raw.topic,
      lines,
      offsets,
      startOffset: raw.startOffset,
      endOffset: raw.endOffset,
      readTimeMs: raw.readTimeMs,
      fields,
    },
  };
}
