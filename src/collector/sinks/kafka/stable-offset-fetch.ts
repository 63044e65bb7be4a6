/**
 * OffsetFetch with `require_stable` (KIP-447) over kafkajs's connections.
 *
 * kafkajs 2.2 speaks OffsetFetch only up to v4, which answers with whatever the group
 * coordinator has materialised so far. After a transaction commits, the coordinator moves the
 * transaction's offsets from pending to committed in a task of its own, a moment after the
 * commit completed: a v4 read in that moment returns the older offset. v7+ with `require_stable`
 * answers UNSTABLE_OFFSET_COMMIT instead while any transactional offset of the group is pending,
 * which is what makes a takeover's mark read exact rather than timed.
 *
 * The request is sent through kafkajs's own broker connections (found through its cluster
 * object), so TLS, SASL and reconnects stay kafkajs's. That reaches into kafkajs internals: the
 * version is pinned (2.2.4) and a unit test fails if the internals moved.
 */
import type { Kafka } from 'kafkajs';
import { RelayError } from '../../../common/errors/relay-error.js';
import { toRelayError } from './producer.js';

/** The kafkajs internals used here (kafkajs 2.2.4). */
interface InternalRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  encode(): Promise<{ buf: Buffer; buffer: Buffer }>;
}
interface InternalResponse {
  decode(payload: Buffer): Promise<unknown>;
  parse(decoded: unknown): Promise<unknown>;
}
interface InternalBroker {
  versions?: Record<number, { minVersion: number; maxVersion: number }>;
  connectionPool: {
    send(req: { request: InternalRequest; response: InternalResponse }): Promise<unknown>;
  };
}
interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  findGroupCoordinator(args: { groupId: string }): Promise<InternalBroker>;
}

const OFFSET_FETCH = 9;
/** The first version with `require_stable`; flexible (compact encodings, tagged fields). */
const OFFSET_FETCH_STABLE = 7;

/** Errors worth asking again for (the coordinator moves, loads, or a commit is pending). */
const RETRY_CODES = new Map([
  [14, 'COORDINATOR_LOAD_IN_PROGRESS'],
  [15, 'COORDINATOR_NOT_AVAILABLE'],
  [16, 'NOT_COORDINATOR'],
  [88, 'UNSTABLE_OFFSET_COMMIT'],
]);

/** One committed offset of a group, with its metadata string. */
export interface CommittedOffset {
  partition: number;
  /** -1 when the group has no offset for the partition. */
  offset: number;
  metadata: string | null;
}

/** Reads consumer-group offsets the way a `read_committed` consumer of a transaction must. */
export class StableOffsetFetcher {
  readonly #cluster: InternalCluster;
  #connected: Promise<void> | undefined;

  constructor(kafka: Kafka) {
    this.#cluster = internalCluster(kafka);
  }

  async disconnect(): Promise<void> {
    this.#connected = undefined;
    await this.#cluster.disconnect().catch(() => undefined);
  }

  /**
   * The group's committed offsets of `topic`'s partitions, once none of them is pending in a
   * transaction. Waits (asking again) while the coordinator answers that an offset is unstable,
   * is loading or moved, up to `timeoutMs`; then rejects retriable.
   */
  async fetch(groupId: string, topic: string, partitions: readonly number[], timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    let delay = 10;
    let last = '';
    for (;;) {
      let answer: Awaited<ReturnType<StableOffsetFetcher['fetchOnce']>>;
      try {
        answer = await this.fetchOnce(groupId, topic, partitions);
      } catch (err) {
        throw toRelayError(err, `reading the marks of group ${groupId}`);
      }
      if (answer.ok) return answer.offsets;
      last = answer.error;
      if (Date.now() + delay > deadline) break;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(200, delay * 2);
    }
    throw new RelayError(
      'SINK_UNAVAILABLE',
      `reading the marks of group ${groupId}: still ${last} after ${timeoutMs} ms`,
      { retriable: true, details: { groupId, kafkaType: last } },
    );
  }

  /** One OffsetFetch v7 round trip; `ok: false` with the error name when worth asking again. */
  async fetchOnce(
    groupId: string,
    topic: string,
    partitions: readonly number[],
  ): Promise<{ ok: true; offsets: CommittedOffset[] } | { ok: false; error: string }> {
    this.#connected ??= this.#cluster.connect().catch((err: unknown) => {
      this.#connected = undefined;
      throw err;
    });
    await this.#connected;
    const broker = await this.#cluster.findGroupCoordinator({ groupId });
    const max = broker.versions?.[OFFSET_FETCH]?.maxVersion ?? 0;
    if (max < OFFSET_FETCH_STABLE) {
      throw new RelayError(
        'KAFKA_TOO_OLD',
        `exactly-once needs OffsetFetch v${OFFSET_FETCH_STABLE} (Kafka 2.5 or newer); the broker speaks up to v${max}`,
        { retriable: false },
      );
    }
    const decoded = (await broker.connectionPool.send({
      request: {
        apiKey: OFFSET_FETCH,
        apiVersion: OFFSET_FETCH_STABLE,
        apiName: 'OffsetFetch',
        encode: () => Promise.resolve(asEncoder(encodeOffsetFetchV7(groupId, topic, partitions))),
      },
      response: {
        decode: (payload) => Promise.resolve(decodeOffsetFetchV7(payload)),
        parse: (value) => Promise.resolve(value),
      },
    })) as OffsetFetchV7Response;
    const codes = [decoded.errorCode, ...decoded.partitions.map((p) => p.errorCode)];
    for (const code of codes) {
      const retry = RETRY_CODES.get(code);
      if (retry) return { ok: false, error: retry };
      if (code !== 0)
        throw new RelayError('SINK_UNAVAILABLE', `OffsetFetch of ${groupId}: Kafka error ${code}`, {
          retriable: true,
          details: { groupId, kafkaErrorCode: code },
        });
    }
    return {
      ok: true,
      offsets: decoded.partitions.map(({ partition, offset, metadata }) => ({
        partition,
        offset,
        metadata,
      })),
    };
  }
}

function internalCluster(kafka: Kafka): InternalCluster {
  const symbol = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === 'private:Kafka:createCluster',
  );
  const create = symbol ? (kafka as unknown as Record<symbol, unknown>)[symbol] : undefined;
  if (typeof create !== 'function') {
    throw new RelayError(
      'INTERNAL',
      'kafkajs internals changed: no cluster factory (exactly-once needs kafkajs 2.2.4)',
    );
  }
  return (create as (opts: object) => InternalCluster)({ allowAutoTopicCreation: false });
}

/** kafkajs's request writer takes an object with its encoder's `buf` and `buffer`. */
function asEncoder(bytes: Buffer): { buf: Buffer; buffer: Buffer } {
  return { buf: bytes, buffer: bytes };
}

/** Growable byte writer with Kafka's flexible-version encodings. */
class Writer {
  #buf = Buffer.alloc(256);
  #at = 0;

  #room(n: number): void {
    if (this.#at + n <= this.#buf.length) return;
    const next = Buffer.alloc(Math.max(this.#buf.length * 2, this.#at + n));
    this.#buf.copy(next, 0, 0, this.#at);
    this.#buf = next;
  }
  int8(v: number): this {
    this.#room(1);
    this.#buf.writeInt8(v, this.#at);
    this.#at += 1;
    return this;
  }
  int32(v: number): this {
    this.#room(4);
    this.#buf.writeInt32BE(v, this.#at);
    this.#at += 4;
    return this;
  }
  uvarint(v: number): this {
    let n = v >>> 0;
    do {
      let byte = n & 0x7f;
      n >>>= 7;
      if (n !== 0) byte |= 0x80;
      this.#room(1);
      this.#buf[this.#at++] = byte;
    } while (n !== 0);
    return this;
  }
  compactString(s: string): this {
    const bytes = Buffer.from(s, 'utf8');
    this.uvarint(bytes.length + 1);
    this.#room(bytes.length);
    bytes.copy(this.#buf, this.#at);
    this.#at += bytes.length;
    return this;
  }
  done(): Buffer {
    return this.#buf.subarray(0, this.#at);
  }
}

/**
 * The body of OffsetFetch v7 for one group and one topic's partitions, preceded by the tagged
 * fields of request header v2 (kafkajs writes the header only up to the client id).
 */
export function encodeOffsetFetchV7(
  groupId: string,
  topic: string,
  partitions: readonly number[],
): Buffer {
  const w = new Writer();
  w.uvarint(0); // request header v2: no tagged fields
  w.compactString(groupId);
  w.uvarint(2); // one topic
  w.compactString(topic);
  w.uvarint(partitions.length + 1);
  for (const p of partitions) w.int32(p);
  w.uvarint(0); // topic: no tagged fields
  w.int8(1); // require_stable
  w.uvarint(0); // no tagged fields
  return w.done();
}

export interface OffsetFetchV7Response {
  errorCode: number;
  partitions: Array<{
    topic: string;
    partition: number;
    offset: number;
    metadata: string | null;
    errorCode: number;
  }>;
}

/** Reads a flexible-version response (after the correlation id kafkajs has read). */
class Reader {
  readonly #buf: Buffer;
  #at = 0;
  constructor(buf: Buffer) {
    this.#buf = buf;
  }
  int16(): number {
    const v = this.#buf.readInt16BE(this.#at);
    this.#at += 2;
    return v;
  }
  int32(): number {
    const v = this.#buf.readInt32BE(this.#at);
    this.#at += 4;
    return v;
  }
  int64(): number {
    const v = this.#buf.readBigInt64BE(this.#at);
    this.#at += 8;
    return Number(v);
  }
  uvarint(): number {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = this.#buf[this.#at++];
      if (byte === undefined) throw new Error('OffsetFetch response ends inside a varint');
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
      shift += 7;
    }
  }
  compactNullableString(): string | null {
    const n = this.uvarint();
    if (n === 0) return null;
    const s = this.#buf.toString('utf8', this.#at, this.#at + n - 1);
    this.#at += n - 1;
    return s;
  }
  skipTaggedFields(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint(); // tag
      const size = this.uvarint();
      this.#at += size;
    }
  }
}

export function decodeOffsetFetchV7(payload: Buffer): OffsetFetchV7Response {
  const r = new Reader(payload);
  r.skipTaggedFields(); // response header v1
  r.int32(); // throttle_time_ms
  const partitions: OffsetFetchV7Response['partitions'] = [];
  const topics = r.uvarint() - 1;
  for (let t = 0; t < topics; t++) {
    const topic = r.compactNullableString() ?? '';
    const count = r.uvarint() - 1;
    for (let i = 0; i < count; i++) {
      const partition = r.int32();
      const offset = r.int64();
      r.int32(); // committed_leader_epoch
      const metadata = r.compactNullableString();
      const errorCode = r.int16();
      r.skipTaggedFields();
      partitions.push({ topic, partition, offset, metadata, errorCode });
    }
    r.skipTaggedFields();
  }
  const errorCode = r.int16();
  r.skipTaggedFields();
  return { errorCode, partitions };
}
