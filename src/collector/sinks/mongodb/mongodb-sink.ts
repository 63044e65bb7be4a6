import {
  MongoClient,
  MongoTopologyClosedError,
  type Collection,
  type MongoClientOptions,
  type WriteConcernSettings,
} from 'mongodb';
import type { Counter } from 'prom-client';
import { RelayError } from '../../../common/errors/relay-error.js';
import { Component } from '../../../common/lifecycle/component.js';
import type { Logger } from '../../../common/logging/logger.js';
import { sharedCounter } from '../../../common/metrics/shared-metrics.js';
import { loadSecret, loadServiceTls } from '../../../common/security/index.js';
import { InFlightWrites, sinkNotRunning } from '../in-flight.js';
import {
  sinkConfigRef,
  type Sink,
  type SinkBatch,
  type SinkConfigRef,
  type SinkContext,
  type SinkWriteResult,
} from '../sink.js';
import type { MongodbSinkConfig } from './config.js';
import {
  MAX_DOCUMENT_BYTES,
  checkedDocument,
  collectionName,
  type LineDocument,
} from './documents.js';
import {
  causes,
  documentWriteErrors,
  errorCode,
  hasWriteConcernError,
  isDuplicateId,
  toRelayError,
} from './errors.js';

/** What one insertMany of a chunk did. */
interface ChunkResult {
  inserted: number;
  duplicates: number;
}

/**
 * Writes each line of a batch as one document of the topic's collection, `_id` derived from the
 * stream key and the offset, in unordered `insertMany` calls of at most `maxDocumentsPerInsert`
 * documents. A document whose `_id` is already there (a retransmitted line, or a retry after an
 * answer was lost) is reported by the server as a duplicate key and counted as already written
 * (`skippedLines`): the collection holds every line once, without transactions.
 */
export class MongodbSink extends Component implements Sink {
  readonly config: Readonly<MongodbSinkConfig>;
  readonly #log: Logger;
  readonly #configRef: SinkConfigRef;
  /** The driver's options, built at start (TLS files and the password read then). */
  #options: MongoClientOptions | undefined;
  /** A connected client, once a connect succeeded. */
  #client: MongoClient | undefined;
  /** The connect under way, shared by the writes that wait for it. */
  #connecting: Promise<MongoClient> | undefined;
  /** Collections whose indexes exist, or are being created. */
  readonly #collections = new Map<string, Promise<void>>();
  /** Writes not yet settled, so that stop can wait for them (each already has a catch). */
  readonly #inflight = new InFlightWrites();
  readonly #documents: Counter.Internal;
  readonly #duplicates: Counter.Internal;
  readonly #errors: Counter<'sink' | 'code'>;

  constructor(config: Readonly<MongodbSinkConfig>, ctx: SinkContext) {
    super(config.name);
    this.config = config;
    this.#log = ctx.log;
    this.#configRef = sinkConfigRef(ctx, config.name);
    this.#documents = sharedCounter(
      ctx.registry,
      'logrelay_mongodb_sink_documents_total',
      'Documents (lines) MongoDB sinks inserted.',
      ['sink'],
    ).labels({ sink: config.name });
    this.#documents.inc(0);
    this.#duplicates = sharedCounter(
      ctx.registry,
      'logrelay_mongodb_sink_duplicate_documents_total',
      'Documents MongoDB sinks found already stored (a retransmitted line: duplicate _id).',
      ['sink'],
    ).labels({ sink: config.name });
    this.#duplicates.inc(0);
    this.#errors = sharedCounter(
      ctx.registry,
      'logrelay_mongodb_sink_errors_total',
      "Failed MongoDB sink writes by the server's code name (e.g. NotWritablePrimary), the " +
        "driver's error class (e.g. MongoServerSelectionError) or the RelayError code.",
      ['sink', 'code'],
    );
  }

  /** The driver's options from the config (TLS files and the password read here). */
  async clientOptions(): Promise<MongoClientOptions> {
    const c = this.config;
    const writeConcern: WriteConcernSettings = {
      w: c.writeConcern.w,
      journal: c.writeConcern.journal,
      ...(c.writeConcern.wtimeoutMs === undefined ? {} : { wtimeoutMS: c.writeConcern.wtimeoutMs }),
    };
    const options: MongoClientOptions = {
      appName: `logrelay/${c.name}`,
      connectTimeoutMS: c.connectTimeoutMs,
      serverSelectionTimeoutMS: c.connectTimeoutMs,
      socketTimeoutMS: c.operationTimeoutMs,
      waitQueueTimeoutMS: c.operationTimeoutMs,
      maxPoolSize: c.maxPoolSize,
      writeConcern,
      retryWrites: true,
      ignoreUndefined: true,
    };
    if (c.tls) {
      const tls = await loadServiceTls(
        c.tls,
        `${this.#configRef.path}.tls`,
        this.#configRef.source,
      );
      Object.assign(options, {
        tls: true,
        ...(tls.ca ? { ca: tls.ca } : {}),
        ...(tls.cert ? { cert: tls.cert } : {}),
        ...(tls.key ? { key: tls.key } : {}),
        ...(tls.rejectUnauthorized ? {} : { tlsAllowInvalidCertificates: true }),
      });
    }
    if (c.auth) {
      const password = await loadSecret(
        c.auth.password,
        `${this.#configRef.path}.auth.password`,
        this.#configRef.source,
      );
      Object.assign(options, {
        auth: { username: c.auth.username, password },
        authSource: c.auth.source,
        ...(c.auth.mechanism ? { authMechanism: c.auth.mechanism } : {}),
      });
    }
    return options;
  }

  protected async doStart(): Promise<void> {
    const options = await this.clientOptions();
    try {
      // Parses the URL and its options (nothing connects yet).
      new MongoClient(this.config.url, options);
    } catch (err) {
      // Never the URL itself in the message: it may hold credentials.
      throw new RelayError(
        'CONFIG_INVALID',
        `${this.#configRef.path}.url: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    this.#options = options;
    // Not connected here: the first write connects. The database being down is an outage like
    // any other, not a reason to refuse to start: writes fail retriable meanwhile.
  }

  protected async doStop(): Promise<void> {
    await this.#inflight.drain();
    // The writes waited for any connect under way; what is left is the connected client.
    await this.#connecting?.catch(() => undefined);
    const client = this.#client;
    this.#client = undefined;
    this.#options = undefined;
    this.#collections.clear();
    await client?.close().catch((err: unknown) => {
      this.#log.warn({ err }, 'closing the MongoDB client failed');
    });
  }

  write(batch: SinkBatch): Promise<void | SinkWriteResult> {
    if (!this.running || !this.#options) {
      this.#errors.inc({ sink: this.name, code: 'SINK_NOT_RUNNING' });
      return Promise.reject(sinkNotRunning('MongoDB', this.name, this.state));
    }
    if (batch.lines.length === 0) return Promise.resolve({ skippedLines: 0 });
    return this.#inflight.track(this.#write(batch));
  }

  /**
   * The connected client, connecting a new one if there is none. A client whose first connect
   * failed is of no further use (the driver closes its topology: every later operation fails
   * with "Topology is closed"), so a failed connect discards it and the next write makes a new
   * one. Once connected, a client rides out outages by itself (its monitor reconnects).
   */
  #connect(): Promise<MongoClient> {
    if (this.#client) return Promise.resolve(this.#client);
    if (!this.#connecting) {
      const client = new MongoClient(this.config.url, this.#options);
      const connecting = this.#bounded(client.connect(), 'connecting').then(
        () => {
          this.#connecting = undefined;
          this.#client = client;
          return client;
        },
        async (err: unknown) => {
          this.#connecting = undefined;
          await client.close().catch(() => undefined);
          throw err;
        },
      );
      this.#connecting = connecting;
    }
    return this.#connecting;
  }

  /** Drops `client` after it reported its topology closed, so that the next write reconnects. */
  #discard(client: MongoClient): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#collections.clear();
    void client.close().catch(() => undefined);
  }

  async #write(batch: SinkBatch): Promise<SinkWriteResult> {
    let client: MongoClient | undefined;
    try {
      if (batch.offsets.length !== batch.lines.length) {
        throw new RelayError('SINK_REJECTED', 'batch has not one offset per line', {
          details: { lines: batch.lines.length, offsets: batch.offsets.length },
        });
      }
      const { database, collectionTemplate, format, maxDocumentsPerInsert } = this.config;
      const name = collectionName(collectionTemplate, batch.topic, database);
      // Every document must fit before any is sent: a line too large is refused whole.
      batch.lines.forEach((line, i) => {
        if (line.length > MAX_DOCUMENT_BYTES - 64 * 1024) checkedDocument(batch, i, format);
      });
      client = await this.#connect();
      const collection = client.db(database).collection<LineDocument>(name);
      await this.#ensureCollection(collection);
      let inserted = 0;
      let duplicates = 0;
      for (let start = 0; start < batch.lines.length; start += maxDocumentsPerInsert) {
        const end = Math.min(start + maxDocumentsPerInsert, batch.lines.length);
        const docs: LineDocument[] = [];
        for (let i = start; i < end; i++) docs.push(checkedDocument(batch, i, format));
        const result = await this.#insert(collection, docs, batch, start);
        inserted += result.inserted;
        duplicates += result.duplicates;
      }
      this.#documents.inc(inserted);
      this.#duplicates.inc(duplicates);
      return { skippedLines: duplicates };
    } catch (err) {
      if (client && causes(err).some((e) => e instanceof MongoTopologyClosedError)) {
        this.#discard(client);
      }
      const error = toRelayError(err, this.name);
      this.#errors.inc({ sink: this.name, code: errorCode(err) });
      this.#log.warn(
        {
          err: error,
          topic: batch.topic,
          streamKey: batch.streamKey,
          lines: batch.lines.length,
          retriable: error.retriable,
        },
        'MongoDB write failed',
      );
      throw error;
    }
  }

  /**
   * One unordered insertMany. Whether a document was stored is decided from the per-document
   * write errors alone (a server's inserted count can be wrong for unordered inserts with
   * duplicates — mongo-java-server's is): a duplicate `_id` is already written; any other
   * document error fails the batch, classified by its code.
   */
  async #insert(
    collection: Collection<LineDocument>,
    docs: LineDocument[],
    batch: SinkBatch,
    first: number,
  ): Promise<ChunkResult> {
    try {
      await this.#bounded(
        collection.insertMany(docs, { ordered: false }),
        `inserting ${docs.length} documents into ${collection.collectionName}`,
      );
      return { inserted: docs.length, duplicates: 0 };
    } catch (err) {
      const writeErrors = documentWriteErrors(err);
      if (writeErrors.length === 0) throw err;
      if (hasWriteConcernError(err)) {
        // Whatever the documents' errors, the writes may not be durable: try the batch again.
        const error = toRelayError(err, this.name);
        throw new RelayError('SINK_UNAVAILABLE', `${error.message} (write concern failed)`, {
          retriable: true,
          cause: err,
          details: error.details,
        });
      }
      const failures = writeErrors
        .filter((w) => !isDuplicateId(w))
        .map((w) => ({
          w,
          error: toRelayError(Object.assign(new Error(w.errmsg), { code: w.code }), this.name),
        }));
      if (failures.length > 0) {
        // A document that may go in later makes the whole batch retriable: rejecting it would
        // have the agent skip a line that could have been stored.
        const { w, error } = failures.find((f) => f.error.retriable) ?? failures[0]!;
        const offset = batch.offsets[first + w.index];
        throw new RelayError(
          error.code,
          `${error.message} (document of the line at offset ${offset}: ${w.errmsg}` +
            `${failures.length > 1 ? `; ${failures.length - 1} more failed` : ''})`,
          {
            retriable: error.retriable,
            cause: err,
            details: { ...error.details, offset, serverCode: w.code, failed: failures.length },
          },
        );
      }
      return { inserted: docs.length - writeErrors.length, duplicates: writeErrors.length };
    }
  }

  /** Creates the collection's indexes once (format json with createIndexes: the time index). */
  async #ensureCollection(collection: Collection<LineDocument>): Promise<void> {
    const { createIndexes, format, ttlSeconds } = this.config;
    if (!createIndexes || format !== 'json') return;
    const key = collection.collectionName;
    let ready = this.#collections.get(key);
    if (!ready) {
      ready = this.#bounded(
        collection.createIndex(
          { time: 1 },
          ttlSeconds === undefined
            ? { name: 'time_1' }
            : { name: 'time_ttl', expireAfterSeconds: ttlSeconds },
        ),
        `creating the time index of ${key}`,
      ).then(
        () => undefined,
        // A failure is retriable (the next write tries again), whatever the server's code.
        (err: unknown) => {
          this.#collections.delete(key);
          const error = toRelayError(err, this.name);
          throw new RelayError(
            'SINK_UNAVAILABLE',
            `${error.message} (creating indexes of ${key})`,
            { retriable: true, cause: err, details: error.details },
          );
        },
      );
      this.#collections.set(key, ready);
    }
    await ready;
  }

  /**
   * `operation`, or a retriable timeout once it took longer than finding a server plus one
   * operation may take: a write in an outage fails in bounded time even if the driver waits on.
   * (The operation itself goes on until the driver gives up; re-sent lines are duplicates.)
   */
  #bounded<T>(operation: Promise<T>, what: string): Promise<T> {
    const limit = this.config.connectTimeoutMs + this.config.operationTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new RelayError(
              'SINK_UNAVAILABLE',
              `MongoDB sink ${this.name}: ${what} took over ${limit} ms`,
              {
                retriable: true,
                details: { timeoutMs: limit },
              },
            ),
          ),
        limit,
      );
    });
    operation.catch(() => undefined);
    return Promise.race([operation, timeout]).finally(() => clearTimeout(timer));
  }
}
