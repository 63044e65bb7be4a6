/**
 * Produce requests (v3–v7, record batches of format v2) encoded straight into one buffer.
 *
 * kafkajs builds a small encoder object per record and per field, copies every message object
 * and grows its buffers by doubling: in the collector's profile that encoding, its garbage and
 * its byte-at-a-time CRC were most of the CPU spent per line (see docs/architecture.md, "Kafka
 * client"). Everything else of kafkajs — connections, metadata, retries, idempotent sequence
 * numbers, transactions, the response decoding — stays as it is: only the bytes of the request
 * are produced here, from the same arguments kafkajs passes to its own encoder.
 *
 * `installProduceEncoder` swaps kafkajs's Produce request builder for this one (once per
 * process). kafkajs is pinned to an exact version in package.json because this reaches into
 * its module layout; a unit test compares both encodings byte for byte.
 */
import { createRequire } from 'node:module';
import { CODEC_IDS, compressorFor } from './codecs.js';
import { crc32c } from './crc32c.js';

/** A record as kafkajs hands it to the Produce encoder (our KafkaRecord, or any kafkajs Message). */
export interface EncodableMessage {
  readonly key?: string | Buffer | null;
  readonly value: string | Buffer | null;
  readonly headers?: Readonly<Record<string, string | Buffer | (string | Buffer)[] | undefined>>;
  readonly timestamp?: string | number;
}

/**
 * A producer id as kafkajs passes it: its `Long` (a BigInt wrapper) by default, the decimal
 * string its InitProducerId decoder gives once idempotent, a number or a BigInt.
 */
type LongLike = { value: bigint } | number | bigint | string | undefined;

/** The arguments kafkajs passes to a Produce request builder. */
export interface ProduceArgs {
  acks: number;
  timeout: number;
  compression?: number;
  transactionalId?: string | null;
  producerId?: LongLike;
  producerEpoch?: number;
  topicData: {
    topic: string;
    partitions: { partition: number; firstSequence?: number; messages: EncodableMessage[] }[];
  }[];
}

const TRANSACTIONAL_FLAG = 0x10;
const BATCH_HEADER_BYTES = 61;
/** Offset of the first byte the CRC covers (the attributes). */
const CRC_START = 21;

/** Bytes of a zigzag varint holding the unsigned value `z` (< 2^35). */
function varintBytes(z: number): number {
  if (z < 0x80) return 1;
  if (z < 0x4000) return 2;
  if (z < 0x200000) return 3;
  if (z < 0x10000000) return 4;
  return 5;
}

function writeVarint(buf: Buffer, pos: number, z: number): number {
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z = Math.floor(z / 0x80);
  }
  buf[pos++] = z;
  return pos;
}

/** zigzag of a non-negative int, or of -1 (null). */
function zigzag(n: number): number {
  return n < 0 ? -2 * n - 1 : 2 * n;
}

function bytesOf(value: string | Buffer): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

interface Header {
  key: Buffer;
  value: Buffer | null;
}

function headerList(headers: EncodableMessage['headers']): Header[] {
  const list: Header[] = [];
  if (!headers) return list;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      list.push({ key: Buffer.from(name, 'utf8'), value: v === undefined ? null : bytesOf(v) });
    }
  }
  return list;
}

function headersBytes(list: Header[]): number {
  let size = varintBytes(zigzag(list.length));
  for (const h of list) {
    size += varintBytes(zigzag(h.key.length)) + h.key.length;
    size += h.value === null ? 1 : varintBytes(zigzag(h.value.length)) + h.value.length;
  }
  return size;
}

/**
 * The records section of a batch (every record, no batch header). Keys are usually one string
 * for a whole request (a stream's key): its bytes are computed once.
 */
export function encodeRecords(messages: readonly EncodableMessage[]): Buffer {
  const n = messages.length;
  let lastKey: string | Buffer | null | undefined;
  let lastKeyBytes: Buffer | null = null;
  const keyBytes = (key: string | Buffer | null | undefined): Buffer | null => {
    if (key === lastKey) return lastKeyBytes;
    lastKey = key;
    lastKeyBytes = key === null || key === undefined ? null : bytesOf(key);
    return lastKeyBytes;
  };
  const bodies = new Float64Array(n);
  let headerLists: (Header[] | undefined)[] | undefined;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const m = messages[i] as EncodableMessage;
    const key = keyBytes(m.key);
    const value = m.value === null ? null : bytesOf(m.value);
    let headers = 1;
    if (m.headers) {
      headerLists ??= new Array<Header[] | undefined>(n);
      const list = headerList(m.headers);
      headerLists[i] = list;
      headers = headersBytes(list);
    }
    const body =
      2 + // attributes, timestamp delta 0
      varintBytes(2 * i) +
      (key === null ? 1 : varintBytes(2 * key.length) + key.length) +
      (value === null ? 1 : varintBytes(2 * value.length) + value.length) +
      headers;
    bodies[i] = body;
    total += varintBytes(2 * body) + body;
  }
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  lastKey = undefined;
  lastKeyBytes = null;
  for (let i = 0; i < n; i++) {
    const m = messages[i] as EncodableMessage;
    pos = writeVarint(buf, pos, 2 * (bodies[i] as number));
    buf[pos++] = 0; // attributes
    buf[pos++] = 0; // timestamp delta: every record has the batch's timestamp
    pos = writeVarint(buf, pos, 2 * i);
    const key = keyBytes(m.key);
    if (key === null) buf[pos++] = 1;
    else {
      pos = writeVarint(buf, pos, 2 * key.length);
      buf.set(key, pos);
      pos += key.length;
    }
    const value = m.value === null ? null : bytesOf(m.value);
    if (value === null) buf[pos++] = 1;
    else {
      pos = writeVarint(buf, pos, 2 * value.length);
      buf.set(value, pos);
      pos += value.length;
    }
    const list = headerLists?.[i];
    if (!list) buf[pos++] = 0;
    else {
      pos = writeVarint(buf, pos, zigzag(list.length));
      for (const h of list) {
        pos = writeVarint(buf, pos, 2 * h.key.length);
        buf.set(h.key, pos);
        pos += h.key.length;
        if (h.value === null) buf[pos++] = 1;
        else {
          pos = writeVarint(buf, pos, 2 * h.value.length);
          buf.set(h.value, pos);
          pos += h.value.length;
        }
      }
    }
  }
  return buf;
}

export interface BatchOptions {
  compression: number;
  transactional: boolean;
  producerId: bigint;
  producerEpoch: number;
  firstSequence: number;
  /** The batch's timestamp (ms since the epoch): every record's, as kafkajs does without one. */
  timestamp: number;
}

/** One record batch (format v2): header, CRC-32C, records (compressed when asked). */
export async function encodeRecordBatch(
  messages: readonly EncodableMessage[],
  options: BatchOptions,
): Promise<Buffer> {
  let records = encodeRecords(messages);
  if (options.compression !== CODEC_IDS.none) {
    records = await compressorFor(options.compression)(records);
  }
  const batch = Buffer.allocUnsafe(BATCH_HEADER_BYTES + records.length);
  batch.writeBigInt64BE(0n, 0); // base offset: the broker assigns it
  batch.writeInt32BE(batch.length - 12, 8); // length after the offset and this field
  batch.writeInt32BE(0, 12); // partition leader epoch: the broker sets it (0 as kafkajs sends)
  batch.writeInt8(2, 16); // magic
  batch.writeInt16BE(options.compression | (options.transactional ? TRANSACTIONAL_FLAG : 0), 21);
  batch.writeInt32BE(messages.length - 1, 23); // last offset delta
  const high = Math.floor(options.timestamp / 0x100000000);
  const low = options.timestamp >>> 0;
  batch.writeUInt32BE(high, 27);
  batch.writeUInt32BE(low, 31); // first timestamp
  batch.writeUInt32BE(high, 35);
  batch.writeUInt32BE(low, 39); // max timestamp
  batch.writeBigInt64BE(options.producerId, 43);
  batch.writeInt16BE(options.producerEpoch, 51);
  batch.writeInt32BE(options.firstSequence, 53);
  batch.writeInt32BE(messages.length, 57);
  batch.set(records, BATCH_HEADER_BYTES);
  batch.writeUInt32BE(crc32c(batch, CRC_START), 17);
  return batch;
}

function toBigInt(value: LongLike): bigint {
  if (value === undefined) return -1n;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' || typeof value === 'string') return BigInt(value);
  return value.value;
}

/** The body of a Produce request v3–v7 (everything after the request header). */
export async function encodeProduceBody(args: ProduceArgs): Promise<Buffer> {
  const timestamp = Date.now();
  const transactionalId = args.transactionalId ?? null;
  const producerId = toBigInt(args.producerId);
  const parts: Buffer[] = [];
  const head = Buffer.allocUnsafe(2 + 4 + 4);
  const txn = transactionalId === null ? null : Buffer.from(transactionalId, 'utf8');
  const txnHead = Buffer.allocUnsafe(2);
  txnHead.writeInt16BE(txn === null ? -1 : txn.length, 0);
  parts.push(txnHead);
  if (txn) parts.push(txn);
  head.writeInt16BE(args.acks, 0);
  head.writeInt32BE(args.timeout, 2);
  head.writeInt32BE(args.topicData.length, 6);
  parts.push(head);
  for (const topic of args.topicData) {
    const name = Buffer.from(topic.topic, 'utf8');
    const topicHead = Buffer.allocUnsafe(2 + name.length + 4);
    topicHead.writeInt16BE(name.length, 0);
    topicHead.set(name, 2);
    topicHead.writeInt32BE(topic.partitions.length, 2 + name.length);
    parts.push(topicHead);
    for (const p of topic.partitions) {
      const batch = await encodeRecordBatch(p.messages, {
        compression: args.compression ?? CODEC_IDS.none,
        transactional: transactionalId !== null,
        producerId,
        producerEpoch: args.producerEpoch ?? 0,
        firstSequence: p.firstSequence ?? 0,
        timestamp,
      });
      const partHead = Buffer.allocUnsafe(8);
      partHead.writeInt32BE(p.partition, 0);
      partHead.writeInt32BE(batch.length, 4);
      parts.push(partHead, batch);
    }
  }
  return Buffer.concat(parts);
}

/** What kafkajs's request pipeline needs of an encoded payload (its Encoder's shape). */
interface EncodedPayload {
  readonly buf: Buffer;
  readonly buffer: Buffer;
}

interface KafkajsRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  expectResponse?: () => boolean;
  encode: () => Promise<EncodedPayload> | EncodedPayload;
}

type RequestBuilder = (args: ProduceArgs) => { request: KafkajsRequest; response: unknown };

interface ProduceDefinition {
  versions: string[];
  protocol: (options: { version: number | string }) => RequestBuilder;
}

/** Whether kafkajs's own encoder must handle these arguments (records with timestamps). */
function needsKafkajs(args: ProduceArgs): boolean {
  for (const topic of args.topicData) {
    for (const p of topic.partitions) {
      for (const m of p.messages)
        if (m.timestamp !== undefined && m.timestamp !== null) return true;
    }
  }
  return false;
}

let installed = false;

/**
 * Makes kafkajs encode its Produce requests (v3 and later) with `encodeProduceBody`. Idempotent;
 * affects every kafkajs client of the process, which is what the collector wants.
 */
export function installProduceEncoder(): void {
  if (installed) return;
  const require = createRequire(import.meta.url);
  const definition = require('kafkajs/src/protocol/requests/produce/index.js') as ProduceDefinition;
  const original = definition.protocol;
  definition.protocol = ({ version }) => {
    const builder = original({ version });
    if (Number(version) < 3) return builder;
    return (args) => {
      const built = builder(args);
      if (needsKafkajs(args)) return built;
      const encode = async (): Promise<EncodedPayload> => {
        const buf = await encodeProduceBody(args);
        return { buf, buffer: buf };
      };
      return { request: { ...built.request, encode }, response: built.response };
    };
  };
  installed = true;
}
