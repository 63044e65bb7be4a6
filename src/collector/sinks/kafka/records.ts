import { RelayError } from '../../../common/errors/relay-error.js';
import { hasFields, type BatchFields } from '../../../common/wire/index.js';
import { FIELD_PREFIX, envelopeBuilder, type JsonEnvelope } from '../envelope.js';
import type { SinkBatch } from '../sink.js';
import { KAFKA_TOPIC_MAX_LENGTH, KAFKA_TOPIC_PATTERN } from './config.js';

/**
 * One Kafka record as the sink hands it to a RecordProducer. Deliberately client-neutral (no
 * kafkajs types) so the client can be swapped.
 */
export interface KafkaRecord {
  readonly key: string | Buffer;
  readonly value: Buffer;
  readonly headers?: Readonly<Record<string, string | Buffer>>;
}

export interface RecordFormat {
  readonly format: 'raw' | 'json';
  readonly headers: boolean;
}

/** The JSON value of a record with `format: json` (the shared envelope, `fields` included). */
export type JsonRecordValue = JsonEnvelope;

/** The header a field travels in is `fields.<key>` (see FIELD_PREFIX). */
export const FIELD_HEADER_PREFIX = FIELD_PREFIX;

/**
 * The destination topic. Checked here rather than left to the broker: kafkajs would first try
 * to auto-create an illegal topic through metadata requests and surface a confusing error, while
 * an illegal name is a permanent property of the batch's route.
 */
export function kafkaTopic(prefix: string, topic: string): string {
  const full = prefix + topic;
  if (
    full.length === 0 ||
    full.length > KAFKA_TOPIC_MAX_LENGTH ||
    full === '.' ||
    full === '..' ||
    !KAFKA_TOPIC_PATTERN.test(full)
  ) {
    throw new RelayError('SINK_REJECTED', `illegal Kafka topic name ${JSON.stringify(full)}`, {
      retriable: false,
      details: { topic: full },
    });
  }
  return full;
}

/**
 * `<agent id>:<path>`, with the path the stream was first known by (`keyPath`): every
 * generation of a rotated file hashes to one partition, so a file's lines stay in order there
 * across rotations and agent restarts, and a consumer sees where a line came from.
 */
export function recordKey(batch: Pick<SinkBatch, 'agentId' | 'path' | 'keyPath'>): string {
  return `${batch.agentId}:${batch.keyPath ?? batch.path}`;
}

/**
 * One record per line, in the batch's order.
 *
 * `raw` values are the line's bytes exactly as read — a view of the received buffer, never
 * decoded, so invalid UTF-8 and any other bytes pass through byte-exact. `json` values must be
 * text: the line is decoded as UTF-8 with U+FFFD for invalid sequences (never throws), so a
 * consumer of the JSON does not get exact bytes for such lines — use raw when that matters.
 * The batch's fields go into the envelope's `fields` object, and with `headers` into one header
 * `fields.<key>` each; a batch without fields makes the same records as before fields existed.
 */
export function buildRecords(batch: SinkBatch, options: RecordFormat): KafkaRecord[] {
  const { lines, offsets } = batch;
  if (offsets.length !== lines.length) {
    throw new RelayError(
      'SINK_REJECTED',
      `batch of ${batch.streamKey} has ${lines.length} lines but ${offsets.length} offsets`,
      { retriable: false, details: { streamKey: batch.streamKey } },
    );
  }
  const key = recordKey(batch);
  const records: KafkaRecord[] = new Array<KafkaRecord>(lines.length);
  const envelope = options.format === 'json' ? envelopeBuilder(batch) : undefined;
  // The field headers are the same for every record: named once per batch, none without fields.
  const fieldHeaders =
    options.headers && hasFields(batch.fields) ? headersOf(batch.fields) : undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as Buffer;
    const offset = offsets[i] as number;
    const value = envelope ? Buffer.from(envelope(line, offset)) : line;
    if (!options.headers) {
      records[i] = { key, value };
      continue;
    }
    const headers: Record<string, string> = {
      host: batch.host,
      path: batch.path,
      offset: String(offset),
      agent: batch.agentId,
    };
    if (fieldHeaders !== undefined) {
      for (let j = 0; j < fieldHeaders.length; j += 2)
        headers[fieldHeaders[j] as string] = fieldHeaders[j + 1] as string;
    }
    records[i] = { key, value, headers };
  }
  return records;
}

/** `fields.<key>`, value, … for each field, in the batch's order (flat: no pair per field). */
function headersOf(fields: BatchFields): string[] {
  const flat: string[] = [];
  for (const name in fields) flat.push(FIELD_HEADER_PREFIX + name, fields[name] as string);
  return flat;
}

/**
 * Per-record framing in a v2 record batch (length, attributes, deltas, key/value lengths,
 * header count): a generous bound so chunks stay under the broker's limit.
 */
const RECORD_OVERHEAD_BYTES = 24;
/** Record batch header (61 bytes) plus request framing, rounded up. */
export const REQUEST_OVERHEAD_BYTES = 256;

/** Upper estimate of a record's size in a produce request. */
export function estimateRecordBytes(record: KafkaRecord): number {
  let size = RECORD_OVERHEAD_BYTES + record.value.length + byteLength(record.key);
  if (record.headers) {
    for (const name in record.headers) {
      size += 10 + byteLength(name) + byteLength(record.headers[name] as string | Buffer);
    }
  }
  return size;
}

function byteLength(value: string | Buffer): number {
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

/**
 * Splits records, in order, into chunks of at most `maxRecords` records and — unless a single
 * record is larger on its own — at most `maxBytes` estimated bytes.
 */
export function chunkRecords<T>(
  records: readonly T[],
  maxRecords: number,
  maxBytes: number,
  sizeOf: (record: T) => number,
): T[][] {
  if (maxRecords < 1) throw new RangeError('maxRecords must be at least 1');
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let bytes = REQUEST_OVERHEAD_BYTES;
  for (const record of records) {
    const size = sizeOf(record);
    if (chunk.length > 0 && (chunk.length >= maxRecords || bytes + size > maxBytes)) {
      chunks.push(chunk);
      chunk = [];
      bytes = REQUEST_OVERHEAD_BYTES;
    }
    chunk.push(record);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}
