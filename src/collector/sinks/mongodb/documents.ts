import { createHash } from 'node:crypto';
import { BSON, Binary, Long } from 'mongodb';
import { RelayError } from '../../../common/errors/relay-error.js';
import { hasFields, type BatchFields } from '../../../common/wire/index.js';
import type { SinkBatch } from '../sink.js';
import {
  HASH_SUFFIX_LENGTH,
  MONGODB_COLLECTION_PATTERN,
  TOPIC_TOKEN,
  maxCollectionLength,
} from './config.js';

/**
 * Largest document a MongoDB server stores (its maxBsonObjectSize: 16 MiB in every version,
 * mongo-java-server included). A larger one is refused before it is sent.
 */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

/** A line's document in format `json`. */
export interface JsonDocument {
  _id: string;
  line: string | Binary;
  stream: string;
  agent: string;
  host: string;
  path: string;
  offset: Long;
  time: Date;
  /** The batch's fields (its tail's `fields`), a sub-document; absent when it has none. */
  fields?: BatchFields;
}

/** A line's document in format `raw`. */
export interface RawDocument {
  _id: string;
  line: string | Binary;
}

export type LineDocument = JsonDocument | RawDocument;

/**
 * The `_id` of the line at `offset` of a stream: `<streamKey>:<offset, 20 digits>`. Deterministic,
 * so a retransmitted line has the same `_id` (the duplicate key the sink counts as already
 * written); keyed by the stream key, not the path, since the generations of a truncated file
 * reuse offsets. Zero-padded so that ids sort in offset order within a stream.
 */
export function documentId(streamKey: string, offset: number): string {
  return `${streamKey}:${String(offset).padStart(20, '0')}`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The line as a string when its bytes are valid UTF-8, else a BSON Binary of the exact bytes. */
export function lineValue(line: Buffer): string | Binary {
  try {
    return utf8.decode(line);
  } catch {
    // Copied: the batch's lines are views into the received message.
    return new Binary(Buffer.from(line), Binary.SUBTYPE_DEFAULT);
  }
}

/** The document of line `i` of `batch`. */
export function buildDocument(batch: SinkBatch, i: number, format: 'json' | 'raw'): LineDocument {
  const offset = batch.offsets[i] as number;
  const _id = documentId(batch.streamKey, offset);
  const line = lineValue(batch.lines[i] as Buffer);
  if (format === 'raw') return { _id, line };
  const doc: JsonDocument = {
    _id,
    line,
    stream: batch.streamKey,
    agent: batch.agentId,
    host: batch.host,
    path: batch.path,
    offset: Long.fromNumber(offset),
    time: new Date(batch.readTimeMs),
  };
  // Only when there are some: a document without fields is the one written before they existed.
  if (hasFields(batch.fields)) doc.fields = batch.fields;
  return doc;
}

/**
 * The document of line `i`, refused (non-retriable, naming the offset and size) when its BSON is
 * larger than a server stores: the same line fails the same way every time.
 */
export function checkedDocument(
  batch: SinkBatch,
  i: number,
  format: 'json' | 'raw',
  maxBytes = MAX_DOCUMENT_BYTES,
): LineDocument {
  const line = batch.lines[i] as Buffer;
  const offset = batch.offsets[i] as number;
  // The line alone over the limit: no need to build (and copy) it to know.
  if (line.length > maxBytes) throw tooLarge(offset, line.length, line.length, maxBytes);
  const doc = buildDocument(batch, i, format);
  // A line close to the limit: measure the whole document (metadata, and a string's encoding).
  if (line.length > maxBytes - 64 * 1024) {
    const size = BSON.calculateObjectSize(doc as unknown as BSON.Document);
    if (size > maxBytes) throw tooLarge(offset, line.length, size, maxBytes);
  }
  return doc;
}

function tooLarge(offset: number, lineBytes: number, size: number, maxBytes: number): RelayError {
  return new RelayError(
    'SINK_REJECTED',
    `the line at offset ${offset} (${lineBytes} bytes) makes a document of at least ${size} ` +
      `bytes, over the ${maxBytes} bytes a MongoDB document can have`,
    { retriable: false, details: { offset, lineBytes, documentBytes: size, maxBytes } },
  );
}

/**
 * The collection of `topic` in `database`: the template with `{topic}` replaced by the topic,
 * every character outside [a-zA-Z0-9_.-] turned into `_` (so never `$` or NUL, which MongoDB
 * forbids), a leading `.` or a `system.` prefix (reserved) defused. A namespace over 120 bytes is
 * cut and ends in a hash of the topic, so long topics that share a prefix keep apart. Topics that
 * differ only in sanitised characters share a collection, which is harmless: `_id`s are keyed by
 * stream and offset.
 */
export function collectionName(template: string, topic: string, database: string): string {
  const sanitised = topic.replace(/[^a-zA-Z0-9_.-]/g, '_');
  let name = template.split(TOPIC_TOKEN).join(sanitised);
  name = name.replace(/^\./, '_').replace(/^system\./, 'system_');
  const max = maxCollectionLength(database);
  if (name.length > max) {
    const hash = createHash('sha256')
      .update(topic)
      .digest('hex')
      .slice(0, HASH_SUFFIX_LENGTH - 1);
    name = `${name.slice(0, max - HASH_SUFFIX_LENGTH)}_${hash}`;
  }
  if (!name || name.length > max || !MONGODB_COLLECTION_PATTERN.test(name)) {
    throw new RelayError(
      'SINK_REJECTED',
      `invalid MongoDB collection name ${JSON.stringify(name)}`,
      {
        retriable: false,
        details: { collection: name, topic },
      },
    );
  }
  return name;
}
