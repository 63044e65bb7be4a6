import type {
  CompressionTypes,
  KafkaConfig,
  LogEntry,
  Message,
  Producer,
  ProducerRecord,
  SASLOptions,
  logCreator,
} from 'kafkajs';
import { Kafka, logLevel as KafkaLogLevel } from './kafkajs.js';
import { CODEC_IDS } from './codecs.js';
import { RelayError } from '../../../common/errors/relay-error.js';
import type { Logger } from '../../../common/logging/logger.js';
import type { KafkaSinkConfig } from './config.js';
import { chunkRecords, estimateRecordBytes, type KafkaRecord } from './records.js';
import { cachingDefaultPartitioner } from './partitioner.js';
import type { LoadedServiceTls } from '../../../common/security/index.js';

/**
 * The little the sink needs from a Kafka client. Kept this narrow so kafkajs (whose per-record
 * cost is the relay's likely ceiling) can be replaced without touching the sink.
 */
export interface RecordProducer {
  /** Connects (idempotent). Rejects with a RelayError; `send` connects again when needed. */
  connect(): Promise<void>;
  /**
   * Resolves once the broker acknowledged every record with acks=all, which land in the order
   * given. Rejects with a RelayError once no request of this call is in flight any more, so a
   * retry of the same records never races a straggler of the failed attempt; records before the
   * failed request may have been written.
   */
  send(topic: string, records: readonly KafkaRecord[]): Promise<void>;
  /** Releases connections. Safe at any time, also twice. */
  disconnect(): Promise<void>;
}

export type KafkajsProducerOptions = Pick<
  KafkaSinkConfig,
  | 'brokers'
  | 'clientId'
  | 'sasl'
  | 'compression'
  | 'maxRecordsPerRequest'
  | 'maxBytesPerRequest'
  | 'maxInFlightRequests'
  | 'idempotent'
  | 'requestTimeoutMs'
  | 'connectionTimeoutMs'
  | 'retries'
  | 'retryInitialMs'
  | 'logLevel'
> & {
  /** Where kafkajs's own log lines go. */
  readonly log: Logger;
  /** Called for each error kafkajs reports (logged at debug), with its namespace. */
  readonly onClientError?: (namespace: string) => void;
  /** TLS: off, on with the system's roots, or with the files of `ssl` read. */
  readonly ssl: boolean | LoadedServiceTls;
};

/** How long a failed connect answers for the next writes before one tries again. */
const CONNECT_FAILURE_HOLD_MS = 1000;

/** A FIFO counting semaphore: chunks acquire in the order they were queued. */
class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  async acquire(): Promise<() => void> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
  }
}

/**
 * RecordProducer over kafkajs 2.2: acks=all always; a call's records are split into requests of
 * at most `maxRecordsPerRequest` records / `maxBytesPerRequest` bytes, sent one after the other;
 * different calls run concurrently, at most `maxInFlightRequests` requests of the whole producer
 * (always 1 when idempotent) in flight at once, served first come first served.
 */
export class KafkajsProducer implements RecordProducer {
  readonly #options: KafkajsProducerOptions;
  readonly #kafka: Kafka;
  readonly #slots: Slots;
  #producer: Producer | undefined;
  #connecting: Promise<Producer> | undefined;
  /** A producer whose connect is in progress, so `disconnect` can close its sockets. */
  #pending: Producer | undefined;
  /**
   * Set after a failed request of an idempotent producer: kafkajs rolled its sequence numbers
   * back, yet the broker may have appended the request before the failure reached us. The next
   * records would reuse those numbers and be acknowledged as duplicates without being written,
   * so the next request starts a fresh producer (new producer id) instead.
   */
  #stale = false;
  #closed = false;
  /**
   * The last failed connect, for a short while: during an outage every queued write would
   * otherwise spend a full connect-with-retries (seconds) in turn before failing, and the last
   * of many streams would hear about the outage minutes late.
   */
  #connectFailure: { at: number; error: RelayError } | undefined;

  constructor(options: KafkajsProducerOptions) {
    this.#options = options;
    this.#slots = new Slots(options.idempotent ? 1 : options.maxInFlightRequests);
    this.#kafka = new Kafka(kafkaClientConfig(options));
  }

  async connect(): Promise<void> {
    this.#closed = false;
    this.#connectFailure = undefined;
    await this.#current();
  }

  async send(topic: string, records: readonly KafkaRecord[]): Promise<void> {
    if (records.length === 0) return;
    const requests = produceRequests(topic, records, this.#options);
    // One request at a time per call: a call carries one stream's lines, and kafkajs does not
    // keep the order of concurrent requests even to one partition (measured: with 4 in flight,
    // 2 of 20 requests swapped places). Concurrency comes from different calls — streams.
    let sent = 0;
    for (const request of requests) {
      const release = await this.#slots.acquire();
      try {
        const producer = await this.#current();
        await producer.send(request);
      } catch (err) {
        if (this.#options.idempotent) this.#stale = true;
        const error = toRelayError(err, `producing to ${topic}`);
        throw sent > 0 ? new PartialSendError(sent, error) : error;
      } finally {
        release();
      }
      sent += request.messages.length;
    }
  }

  async disconnect(): Promise<void> {
    this.#closed = true;
    const producers = [this.#producer, this.#pending];
    this.#producer = undefined;
    this.#pending = undefined;
    // A connect in progress keeps retrying inside kafkajs; its promise is not awaited (it can
    // take `retries` backoffs), and `#current` disconnects it when it resolves after close.
    await Promise.all(producers.map((p) => p?.disconnect().catch(() => undefined)));
  }

  /** The connected producer, connecting (or replacing a stale one) first when needed. */
  #current(): Promise<Producer> {
    if (this.#closed) {
      return Promise.reject(
        new RelayError('SINK_NOT_RUNNING', 'the Kafka producer is disconnected', {
          retriable: true,
        }),
      );
    }
    if (this.#producer && !this.#stale) return Promise.resolve(this.#producer);
    const failure = this.#connectFailure;
    if (failure && Date.now() - failure.at < CONNECT_FAILURE_HOLD_MS) {
      const { code, message, retriable, details } = failure.error;
      return Promise.reject(
        new RelayError(code, message, { retriable, details, cause: failure.error }),
      );
    }
    this.#connecting ??= this.#replace().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #replace(): Promise<Producer> {
    const old = this.#producer;
    this.#producer = undefined;
    if (old) await old.disconnect().catch(() => undefined);
    const producer = this.#kafka.producer({
      // Java's murmur2 partitioner: a key lands on the partition other clients would pick.
      createPartitioner: cachingDefaultPartitioner,
      idempotent: this.#options.idempotent,
      maxInFlightRequests: this.#options.idempotent ? 1 : this.#options.maxInFlightRequests,
      // Bounded on purpose (kafkajs warns that this "may invalidate EoS"): an outage must reach
      // the collector as a retriable error, and the producer is replaced after a failure, so no
      // rolled-back sequence number is ever reused.
      retry: { retries: this.#options.retries, initialRetryTime: this.#options.retryInitialMs },
    });
    this.#pending = producer;
    try {
      await producer.connect();
    } catch (err) {
      await producer.disconnect().catch(() => undefined);
      const error = toRelayError(err, `connecting to Kafka ${this.#options.brokers.join(',')}`);
      this.#connectFailure = { at: Date.now(), error };
      throw error;
    } finally {
      if (this.#pending === producer) this.#pending = undefined;
    }
    if (this.#closed) {
      await producer.disconnect().catch(() => undefined);
      throw new RelayError('SINK_NOT_RUNNING', 'the Kafka producer is disconnected', {
        retriable: true,
      });
    }
    this.#producer = producer;
    this.#stale = false;
    this.#connectFailure = undefined;
    return producer;
  }
}

/**
 * Broker error types caused by the records themselves: resending the same batch can never
 * succeed, so the collector must reject it rather than retry forever.
 */
const PERMANENT_KAFKA_TYPES = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_RECORD',
]);

interface KafkajsErrorLike extends Error {
  retriable?: boolean;
  type?: string;
  cause?: unknown;
  retryCount?: number;
}

function isKafkajsError(err: unknown): err is KafkajsErrorLike {
  return err instanceof Error && err.name.startsWith('KafkaJS');
}

/**
 * The produce requests for `records`, in order: chunks within the sink's per-request limits,
 * acks=all, the sink's compression and timeout. Shared by the plain and the transactional path.
 */
export function produceRequests(
  topic: string,
  records: readonly KafkaRecord[],
  options: Pick<
    KafkajsProducerOptions,
    'maxRecordsPerRequest' | 'maxBytesPerRequest' | 'compression' | 'requestTimeoutMs'
  >,
): Array<ProducerRecord & { messages: Message[] }> {
  // Our produce encoder compresses (codecs.ts); kafkajs only passes the number through.
  const compression = CODEC_IDS[options.compression] as CompressionTypes;
  return chunkRecords(
    records,
    options.maxRecordsPerRequest,
    options.maxBytesPerRequest,
    estimateRecordBytes,
  ).map((chunk) => ({
    topic,
    acks: -1,
    timeout: options.requestTimeoutMs,
    compression,
    // KafkaRecord is structurally a kafkajs Message; kafkajs does not mutate it.
    messages: chunk as Message[],
  }));
}

/** The kafkajs client settings of a sink's options (shared by the plain and the transactional path). */
export function kafkaClientConfig(
  options: Pick<
    KafkajsProducerOptions,
    | 'brokers'
    | 'clientId'
    | 'ssl'
    | 'sasl'
    | 'connectionTimeoutMs'
    | 'requestTimeoutMs'
    | 'retries'
    | 'retryInitialMs'
    | 'logLevel'
    | 'log'
    | 'onClientError'
  >,
): KafkaConfig {
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: [...options.brokers],
    ssl: typeof options.ssl === 'boolean' ? options.ssl : { ...options.ssl },
    connectionTimeout: options.connectionTimeoutMs,
    // Longer than the broker's own timeout, so a slow replication comes back as the broker's
    // REQUEST_TIMED_OUT rather than an ambiguous client timeout.
    requestTimeout: options.requestTimeoutMs + 5000,
    retry: { retries: options.retries, initialRetryTime: options.retryInitialMs },
    logLevel: kafkaLogLevel(options.logLevel),
    logCreator: pinoLogCreator(options.log, options.onClientError),
  };
  if (options.sasl) config.sasl = saslOptions(options.sasl);
  return config;
}

/**
 * Maps anything kafkajs throws to a RelayError.
 *
 * kafkajs's own `retriable` flag is not the answer the collector needs: once kafkajs gives up it
 * throws KafkaJSNumberOfRetriesExceeded (marked non-retriable) around a connection error, and its
 * timeouts, lock timeouts and authentication failures are non-retriable too. None of those is
 * the batch's fault; rejecting the batch would make the agent give up lines an operator could
 * still deliver. So only broker errors caused by the records (too large, illegal topic) are
 * permanent (`SINK_REJECTED`); every other Kafka failure is `SINK_UNAVAILABLE`, retriable.
 * Errors not from kafkajs are bugs: `SINK_INTERNAL` (which the collector retries too, and
 * reports as a stuck stream: see `onlyContentIsPermanent`).
 */
export function toRelayError(err: unknown, what: string): RelayError {
  if (err instanceof RelayError) return err;
  if (!isKafkajsError(err)) {
    return new RelayError('SINK_INTERNAL', `${what}: ${errorMessage(err)}`, { cause: err });
  }
  let root: KafkajsErrorLike = err;
  while (root.name === 'KafkaJSNumberOfRetriesExceeded' && isKafkajsError(root.cause)) {
    root = root.cause;
  }
  const permanent = root.type !== undefined && PERMANENT_KAFKA_TYPES.has(root.type);
  return new RelayError(
    permanent ? 'SINK_REJECTED' : 'SINK_UNAVAILABLE',
    `${what}: ${root.message}`,
    {
      retriable: !permanent,
      cause: err,
      details: {
        kafkaError: root.name,
        ...(root.type === undefined ? {} : { kafkaType: root.type }),
        ...(typeof err.retryCount === 'number' ? { retries: err.retryCount } : {}),
      },
    },
  );
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function kafkaLogLevel(level: KafkaSinkConfig['logLevel']): KafkaLogLevel {
  switch (level) {
    case 'nothing':
      return KafkaLogLevel.NOTHING;
    case 'error':
      return KafkaLogLevel.ERROR;
    case 'warn':
      return KafkaLogLevel.WARN;
    case 'info':
      return KafkaLogLevel.INFO;
    case 'debug':
      return KafkaLogLevel.DEBUG;
  }
}

/**
 * Routes kafkajs's log lines into pino, so they are JSON lines like every other log line.
 *
 * kafkajs logs at error every failed response and every failed attempt, before anyone knows
 * whether a retry recovers (a broker restart, CONCURRENT_TRANSACTIONS between transactions, a
 * coordinator loading): more than a thousand such lines in a night of routine faults, none of
 * which needs a person. Those go to debug and are counted (`onError`); what the sink cannot
 * recover from reaches its own code as an exception and is logged there (warn per failed write,
 * a stuck-stream warning when it lasts, error when lines are skipped).
 */
export function pinoLogCreator(log: Logger, onError?: (namespace: string) => void): logCreator {
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      // kafkajs's own timestamp and logger name would duplicate pino's fields.
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = entry;
      const fields = { kafkajs: namespace, ...extra };
      switch (level) {
        case KafkaLogLevel.ERROR:
          onError?.(namespace);
          log.debug({ ...fields, kafkajsLevel: 'error' }, message);
          break;
        case KafkaLogLevel.WARN:
          log.warn(fields, message);
          break;
        case KafkaLogLevel.INFO:
          log.info(fields, message);
          break;
        default:
          log.debug(fields, message);
      }
    };
}

function saslOptions(sasl: NonNullable<KafkaSinkConfig['sasl']>): SASLOptions {
  const { username, password } = sasl;
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username, password };
  }
}

/** A send whose first `sentRecords` records were acknowledged before a later request failed. */
export class PartialSendError extends RelayError {
  readonly sentRecords: number;

  constructor(sentRecords: number, cause: RelayError) {
    super(cause.code, cause.message, { retriable: cause.retriable, cause });
    this.sentRecords = sentRecords;
  }
}
