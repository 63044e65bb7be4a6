import type { Counter } from 'prom-client';
import { RelayError } from '../../../common/errors/relay-error.js';
import { Component } from '../../../common/lifecycle/component.js';
import type { Logger } from '../../../common/logging/logger.js';
import { sharedCounter } from '../../../common/metrics/shared-metrics.js';
import { loadSecret, loadServiceTls } from '../../../common/security/index.js';
import { InFlightWrites, sinkNotRunning } from '../in-flight.js';
import {
  PartialWriteError,
  sinkConfigRef,
  type Sink,
  type SinkBatch,
  type SinkConfigRef,
  type SinkContext,
  type SinkWriteResult,
} from '../sink.js';
import type { HbaseSinkConfig } from './config.js';
import { buildRows, chunkRows, putBody, schemaBody, tableName } from './records.js';
import { HbaseHttpError, HbaseRestClient } from './rest-client.js';

/** Statuses after which the same request can succeed later: timeout, throttling, server side. */
function retriableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Maps a failure of the REST gateway to a RelayError.
 *
 * Retriable (SINK_UNAVAILABLE; the agent keeps the lines and sends them again):
 * - no answer: connection refused or reset, DNS, TLS, timeout (HbaseTimeoutError);
 * - 5xx (503 while a region server is down or the client's retries ran out, 500 for whatever
 *   the gateway did not expect), 408 and 429;
 * - 401/403: credentials or ACLs an operator fixes; the batch itself is fine;
 * - 404 on a write: the table (createTable: false, or dropped meanwhile) or its column family is
 *   missing. Rejecting would drop the lines for good, while an operator creating the table makes
 *   the very same batch succeed; so it is retried, with a message that says what to create;
 * - anything unknown (a sink never drops data on an error it cannot classify).
 *
 * Not retriable (SINK_REJECTED): other 4xx — 400 (e.g. "KeyValue size too large"), 406, 413,
 * 415: the same request fails the same way every time.
 */
export function toRelayError(err: unknown, sinkName: string, table?: string): RelayError {
  if (err instanceof RelayError) return err;
  const prefix = `HBase sink ${sinkName}`;
  if (err instanceof HbaseHttpError) {
    const details = { status: err.status, ...(table ? { table } : {}) };
    const { status } = err;
    if (status === 404) {
      const family = /NoSuchColumnFamilyException/.test(err.reason);
      const hint = family
        ? `table ${table ?? '?'} lacks the column family: add it`
        : `table ${table ?? '?'} does not exist: create it (or set createTable: true)`;
      return new RelayError(
        'SINK_UNAVAILABLE',
        `${prefix}: ${hint}; the batch is retried until it can be written (${err.message})`,
        { retriable: true, cause: err, details },
      );
    }
    if (status === 401 || status === 403) {
      return new RelayError(
        'SINK_UNAVAILABLE',
        `${prefix}: the gateway refused the credentials (check auth); retried: ${err.message}`,
        { retriable: true, cause: err, details },
      );
    }
    if (retriableStatus(status)) {
      return new RelayError('SINK_UNAVAILABLE', `${prefix} cannot write: ${err.message}`, {
        retriable: true,
        cause: err,
        details,
      });
    }
    return new RelayError('SINK_REJECTED', `${prefix} rejected a batch: ${err.message}`, {
      retriable: false,
      cause: err,
      details,
    });
  }
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return new RelayError('SINK_UNAVAILABLE', `${prefix}: gateway unreachable: ${message}`, {
    retriable: true,
    cause: err,
    details: code ? { errno: code } : undefined,
  });
}

/**
 * Writes each line of a batch as one row of the topic's table through HBase's REST gateway
 * (DESIGN.md "Records in the sinks"), in PUTs of at most maxRowsPerRequest rows and
 * maxBytesPerRequest line bytes. The row key derives from (stream key, offset) (row-key.ts), so
 * a batch sent again — after a timeout whose write did land, a partly written batch, a collector
 * restart, another collector — overwrites its own cells: exactly-once by construction, with no
 * marks to keep.
 */
export class HbaseSink extends Component implements Sink {
  readonly config: Readonly<HbaseSinkConfig>;
  readonly #log: Logger;
  readonly #configRef: SinkConfigRef;
  #client: HbaseRestClient | undefined;
  /** Tables known to exist, or being checked/created. */
  readonly #tables = new Map<string, Promise<void>>();
  /** Writes not yet settled, so that stop can wait for them (each already has a catch). */
  readonly #inflight = new InFlightWrites();
  readonly #rows: Counter.Internal;
  readonly #errors: Counter<'sink' | 'code'>;

  constructor(config: Readonly<HbaseSinkConfig>, ctx: SinkContext) {
    super(config.name);
    this.config = config;
    this.#log = ctx.log;
    this.#configRef = sinkConfigRef(ctx, config.name);
    this.#rows = sharedCounter(
      ctx.registry,
      'logrelay_hbase_sink_rows_total',
      'Rows (lines) HBase sinks wrote, retransmitted lines (which overwrite their rows) included.',
      ['sink'],
    ).labels({ sink: config.name });
    this.#errors = sharedCounter(
      ctx.registry,
      'logrelay_hbase_sink_errors_total',
      'Failed HBase sink writes by RelayError code.',
      ['sink', 'code'],
    );
    // Series exist from the start, so rate() over them works from the first scrape.
    this.#rows.inc(0);
    for (const code of ['SINK_UNAVAILABLE', 'SINK_REJECTED', 'SINK_NOT_RUNNING']) {
      this.#errors.inc({ sink: config.name, code }, 0);
    }
  }

  protected async doStart(): Promise<void> {
    const { path, source } = this.#configRef;
    const tls = this.config.tls
      ? await loadServiceTls(this.config.tls, `${path}.tls`, source)
      : undefined;
    const auth = this.config.auth;
    const authorization = auth
      ? `Basic ${Buffer.from(
          `${auth.user}:${await loadSecret(auth.password, `${path}.auth.password`, source)}`,
        ).toString('base64')}`
      : undefined;
    // Nothing is sent here: the gateway being down is an outage like any other, not a reason to
    // refuse to start; writes fail retriable meanwhile.
    this.#client = new HbaseRestClient({
      url: this.config.url,
      timeoutMs: this.config.timeoutMs,
      ...(tls ? { tls } : {}),
      ...(authorization ? { authorization } : {}),
    });
  }

  protected async doStop(): Promise<void> {
    await this.#inflight.drain();
    const client = this.#client;
    this.#client = undefined;
    this.#tables.clear();
    client?.close();
  }

  write(batch: SinkBatch): Promise<SinkWriteResult> {
    const client = this.#client;
    if (!this.running || !client) {
      this.#errors.inc({ sink: this.name, code: 'SINK_NOT_RUNNING' });
      return Promise.reject(sinkNotRunning('HBase', this.name, this.state));
    }
    if (batch.lines.length === 0) return Promise.resolve({ skippedLines: 0 });
    return this.#inflight.track(this.#write(client, batch));
  }

  async #write(client: HbaseRestClient, batch: SinkBatch): Promise<SinkWriteResult> {
    const { config } = this;
    const table = tableName(config.tableTemplate, batch.topic, config.namespace);
    /** Offset just past the rows stored so far; set once a chunk is in. */
    let committedEnd: number | undefined;
    try {
      // Checked before anything is sent: a line that can never be stored fails the batch whole.
      const rows = buildRows(batch, config);
      if (config.createTable) await this.#ensureTable(client, table);
      let stored = 0;
      for (const chunk of chunkRows(rows, config.maxRowsPerRequest, config.maxBytesPerRequest)) {
        try {
          await client.putRows(table, putBody(chunk, config.columnFamily));
        } catch (err) {
          // Dropped since it was checked: look again (and create it) on the next write.
          if (err instanceof HbaseHttpError && err.status === 404) this.#tables.delete(table);
          throw err;
        }
        this.#rows.inc(chunk.length);
        // Lines are contiguous: the next line starts where the stored ones end.
        stored += chunk.length;
        committedEnd = rows[stored]?.offset ?? batch.endOffset;
      }
      return { skippedLines: 0 };
    } catch (err) {
      const error = toRelayError(err, this.name, table);
      this.#errors.inc({ sink: this.name, code: error.code });
      this.#log.warn(
        {
          err: error,
          table,
          topic: batch.topic,
          streamKey: batch.streamKey,
          lines: batch.lines.length,
          retriable: error.retriable,
          ...(committedEnd === undefined ? {} : { committedEndOffset: committedEnd }),
        },
        'HBase write failed',
      );
      // The chunks before the failed one are stored: the collector records them and the resend
      // starts after them (rewriting them would be harmless, only wasted).
      throw committedEnd === undefined ? error : new PartialWriteError(committedEnd, error);
    }
  }

  /**
   * Creates a missing table once (one family, VERSIONS 1); an existing table is left as it is.
   * Two collectors creating the same table at once is harmless: the gateway answers both with
   * success, the second finding the family already there.
   */
  #ensureTable(client: HbaseRestClient, table: string): Promise<void> {
    let ready = this.#tables.get(table);
    if (!ready) {
      ready = (async () => {
        if (await client.tableExists(table)) return;
        this.#log.info({ table, family: this.config.columnFamily }, 'creating HBase table');
        await client.createTable(table, schemaBody(table, this.config.columnFamily));
      })();
      this.#tables.set(table, ready);
      ready.catch(() => this.#tables.delete(table));
    }
    return ready;
  }
}
