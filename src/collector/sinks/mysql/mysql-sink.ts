import mysql from 'mysql2/promise';
import type { Counter } from 'prom-client';
import { RelayError } from '../../../common/errors/relay-error.js';
import { Component } from '../../../common/lifecycle/component.js';
import type { Logger } from '../../../common/logging/logger.js';
import { sharedCounter } from '../../../common/metrics/shared-metrics.js';
import { InFlightWrites, sinkNotRunning } from '../in-flight.js';
import {
  sinkConfigRef,
  type Sink,
  type SinkBatch,
  type SinkConfigRef,
  type SinkContext,
} from '../sink.js';
import type { MysqlSinkConfig } from './config.js';
import { createTableSql, insertSql, tableName } from './table.js';
import { loadServiceTls } from '../../../common/security/index.js';

/**
 * Server errors that say nothing about the batch: the server is down, busy, read-only, out of
 * space, or the relay's account cannot write. Retrying later may succeed.
 */
const RETRIABLE_ERRNOS = new Set([
  1021, // ER_DISK_FULL
  1037, // ER_OUTOFMEMORY
  1040, // ER_CON_COUNT_ERROR (too many connections)
  1041, // ER_OUT_OF_RESOURCES
  1044, // ER_DBACCESS_DENIED_ERROR
  1045, // ER_ACCESS_DENIED_ERROR
  1049, // ER_BAD_DB_ERROR (database missing: an operator creates it)
  1053, // ER_SERVER_SHUTDOWN
  1114, // ER_RECORD_FILE_FULL
  1129, // ER_HOST_IS_BLOCKED
  1130, // ER_HOST_NOT_PRIVILEGED
  1142, // ER_TABLEACCESS_DENIED_ERROR
  1152, // ER_ABORTING_CONNECTION
  1158, // ER_NET_READ_ERROR
  1159, // ER_NET_READ_INTERRUPTED
  1160, // ER_NET_ERROR_ON_WRITE
  1161, // ER_NET_WRITE_INTERRUPTED
  1203, // ER_TOO_MANY_USER_CONNECTIONS
  1205, // ER_LOCK_WAIT_TIMEOUT
  1206, // ER_LOCK_TABLE_FULL
  1213, // ER_LOCK_DEADLOCK
  1226, // ER_USER_LIMIT_REACHED
  1290, // ER_OPTION_PREVENTS_STATEMENT (--read-only during a fail-over)
  1317, // ER_QUERY_INTERRUPTED
  1836, // ER_READ_ONLY_MODE
  1927, // ER_CONNECTION_KILLED (MariaDB)
  2002, // CR_CONNECTION_ERROR
  2003, // CR_CONN_HOST_ERROR
  2006, // CR_SERVER_GONE_ERROR
  2013, // CR_SERVER_LOST
  4031, // ER_CLIENT_INTERACTION_TIMEOUT (MariaDB, idle session killed)
]);

/**
 * Server errors caused by the batch itself (a value that does not fit its column, a statement
 * over max_allowed_packet): the same batch fails the same way every time.
 */
const REJECTED_ERRNOS = new Set([
  1048, // ER_BAD_NULL_ERROR
  1153, // ER_NET_PACKET_TOO_LARGE
  1264, // ER_WARN_DATA_OUT_OF_RANGE
  1292, // ER_TRUNCATED_WRONG_VALUE
  1301, // ER_WARN_ALLOWED_PACKET_OVERFLOWED
  1366, // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
  1406, // ER_DATA_TOO_LONG
]);

interface DriverError {
  code?: unknown;
  errno?: unknown;
  fatal?: unknown;
}

/** The driver's name for an error (`ER_DATA_TOO_LONG`, `ECONNREFUSED`), or undefined. */
function driverCode(err: unknown): string | undefined {
  const code = (err as DriverError | null)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : undefined;
}

/**
 * Maps a mysql2 error to a RelayError: SINK_REJECTED (not retriable) when the batch itself can
 * never be written, SINK_UNAVAILABLE (retriable) otherwise — connection failures, timeouts,
 * lock waits, deadlocks, too many connections, and anything unknown (a sink never drops data on
 * an error it cannot classify; the collector retries it).
 */
export function toRelayError(err: unknown, sinkName: string): RelayError {
  if (err instanceof RelayError) return err;
  const e = (err ?? {}) as DriverError;
  const errno = typeof e.errno === 'number' ? e.errno : undefined;
  const code = driverCode(err) ?? 'UNKNOWN';
  const message = err instanceof Error ? err.message : String(err);
  const details = { driverCode: code, ...(errno === undefined ? {} : { errno }) };
  const rejected = errno !== undefined && REJECTED_ERRNOS.has(errno) && e.fatal !== true;
  if (rejected) {
    return new RelayError('SINK_REJECTED', `MySQL sink ${sinkName} rejected a batch: ${message}`, {
      retriable: false,
      cause: err,
      details,
    });
  }
  const known = (errno !== undefined && RETRIABLE_ERRNOS.has(errno)) || e.fatal === true;
  return new RelayError(
    'SINK_UNAVAILABLE',
    `MySQL sink ${sinkName} ${known ? 'cannot write' : 'failed'}: ${message}`,
    { retriable: true, cause: err, details },
  );
}

/** The connection options in a mysql:// URL (validated by the config schema). */
export function connectionOptions(url: string): {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
} {
  const u = new URL(url);
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')),
  };
}

type Row = [string, number, string, string, string, Buffer, Date];

/** Room in a packet for the statement's own text and the protocol's header. */
const STATEMENT_SLACK = 4096;

/** The longest value a MEDIUMBLOB holds. */
const MAX_LINE_BYTES = 16 * 1024 * 1024 - 1;

/** Approximate bytes one row adds to an INSERT: escaped metadata, hex line, separators. */
function rowBytes(batch: SinkBatch, lineBytes: number): number {
  const meta =
    Buffer.byteLength(batch.streamKey) +
    Buffer.byteLength(batch.agentId) +
    Buffer.byteLength(batch.host) +
    Buffer.byteLength(batch.path);
  return 2 * meta + 2 * lineBytes + 64;
}

/**
 * Refuses (non-retriable) a batch with a line that can never be stored: longer than the column,
 * or too long for one statement under the server's max_allowed_packet.
 */
function checkLines(batch: SinkBatch, maxPacket: number): void {
  const limit = Math.min(
    MAX_LINE_BYTES,
    Math.floor((maxPacket - STATEMENT_SLACK - rowBytes(batch, 0)) / 2),
  );
  batch.lines.forEach((line, i) => {
    if (line.length > limit) {
      throw new RelayError(
        'SINK_REJECTED',
        `a line of ${line.length} bytes (offset ${batch.offsets[i]}) is longer than the ` +
          `${limit} bytes a MySQL row can take here (MEDIUMBLOB, max_allowed_packet ${maxPacket})`,
        { details: { offset: batch.offsets[i], bytes: line.length, limit } },
      );
    }
  });
}

/**
 * Writes each line of a batch as one row of the topic's table (created if missing), in
 * multi-row inserts of at most `maxRowsPerInsert` rows, all of a batch in one transaction: a
 * batch is committed whole or not at all. The unique key on (stream, offset) turns a
 * retransmitted line into a no-op, so a retry never duplicates, even after a commit whose answer
 * was lost.
 */
export class MysqlSink extends Component implements Sink {
  readonly config: Readonly<MysqlSinkConfig>;
  readonly #log: Logger;
  readonly #configRef: SinkConfigRef;
  #pool: mysql.Pool | undefined;
  /**
   * The server's max_allowed_packet per connection (keyed by the driver's connection, which
   * outlives its pool wrappers), read when the connection was set to strict mode.
   */
  readonly #maxPacket = new WeakMap<object, number>();
  /** Tables known to exist, or being created. */
  readonly #tables = new Map<string, Promise<void>>();
  /** Writes not yet settled, so that stop can wait for them (each already has a catch). */
  readonly #inflight = new InFlightWrites();
  readonly #rows: Counter.Internal;
  readonly #errors: Counter<'sink' | 'code'>;

  constructor(config: Readonly<MysqlSinkConfig>, ctx: SinkContext) {
    super(config.name);
    this.config = config;
    this.#log = ctx.log;
    this.#configRef = sinkConfigRef(ctx, config.name);
    this.#rows = sharedCounter(
      ctx.registry,
      'logrelay_mysql_sink_rows_total',
      'Rows (lines) MySQL sinks committed, retransmitted duplicates included.',
      ['sink'],
    ).labels({ sink: config.name });
    this.#rows.inc(0);
    this.#errors = sharedCounter(
      ctx.registry,
      'logrelay_mysql_sink_errors_total',
      "Failed MySQL sink writes by the driver's error code (e.g. ER_LOCK_DEADLOCK, " +
        'ECONNREFUSED) or the RelayError code.',
      ['sink', 'code'],
    );
  }

  protected async doStart(): Promise<void> {
    const { connectTimeoutMs, connectionLimit, tls } = this.config;
    const ssl = tls
      ? await loadServiceTls(tls, `${this.#configRef.path}.tls`, this.#configRef.source)
      : undefined;
    const pool = mysql.createPool({
      ...connectionOptions(this.config.url),
      ...(ssl ? { ssl } : {}),
      connectionLimit,
      connectTimeout: connectTimeoutMs,
      waitForConnections: true,
      queueLimit: 0,
      // Dates are written as UTC; lines are Buffers and go as binary literals.
      timezone: 'Z',
      charset: 'utf8mb4_unicode_ci',
      multipleStatements: false,
      enableKeepAlive: true,
    });
    this.#pool = pool;
    // The database being down is an outage like any other, not a reason to refuse to start:
    // writes fail retriable meanwhile.
  }

  protected async doStop(): Promise<void> {
    await this.#inflight.drain();
    const pool = this.#pool;
    this.#pool = undefined;
    this.#tables.clear();
    await pool?.end().catch((err: unknown) => {
      this.#log.warn({ err }, 'closing the MySQL pool failed');
    });
  }

  write(batch: SinkBatch): Promise<void> {
    const pool = this.#pool;
    if (!this.running || !pool) {
      this.#errors.inc({ sink: this.name, code: 'SINK_NOT_RUNNING' });
      return Promise.reject(sinkNotRunning('MySQL', this.name, this.state));
    }
    if (batch.lines.length === 0) return Promise.resolve();
    return this.#inflight.track(this.#write(pool, batch));
  }

  async #write(pool: mysql.Pool, batch: SinkBatch): Promise<void> {
    try {
      if (batch.offsets.length !== batch.lines.length) {
        throw new RelayError('SINK_REJECTED', 'batch has not one offset per line', {
          details: { lines: batch.lines.length, offsets: batch.offsets.length },
        });
      }
      const table = tableName(this.config.tableTemplate, batch.topic);
      const conn = await pool.getConnection();
      let broken = false;
      try {
        const maxPacket = await this.#prepare(conn);
        checkLines(batch, maxPacket);
        // CREATE TABLE commits implicitly: it runs before the batch's transaction begins.
        await this.#ensureTable(conn, table);
        await this.#insertAll(conn, table, batch, maxPacket);
      } catch (err) {
        // Our own refusals come before any statement of the batch: the connection is clean.
        broken = !(err instanceof RelayError);
        throw err;
      } finally {
        // After a failure the connection's state is unknown (a timed-out statement may still
        // run): drop it; the server rolls back whatever it had not committed.
        if (broken) conn.destroy();
        else conn.release();
      }
      this.#rows.inc(batch.lines.length);
    } catch (err) {
      const error = toRelayError(err, this.name);
      this.#errors.inc({ sink: this.name, code: driverCode(err) ?? error.code });
      this.#log.warn(
        {
          err: error,
          topic: batch.topic,
          streamKey: batch.streamKey,
          lines: batch.lines.length,
          retriable: error.retriable,
        },
        'MySQL write failed',
      );
      throw error;
    }
  }

  /**
   * Once per connection: strict mode, so a value that does not fit fails instead of being cut;
   * and the server's max_allowed_packet, which bounds a statement (over it the server just
   * closes the connection, which would look like an outage).
   */
  async #prepare(conn: mysql.PoolConnection): Promise<number> {
    const known = this.#maxPacket.get(conn.connection);
    if (known !== undefined) return known;
    const timeout = this.config.queryTimeoutMs;
    await conn.query({
      sql: "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'",
      timeout,
    });
    const [result] = await conn.query<mysql.RowDataPacket[]>({
      sql: 'SELECT @@max_allowed_packet AS m',
      timeout,
    });
    const maxPacket = Number(result[0]?.['m']) || 4 * 1024 * 1024;
    this.#maxPacket.set(conn.connection, maxPacket);
    return maxPacket;
  }

  async #ensureTable(conn: mysql.PoolConnection, table: string): Promise<void> {
    let ready = this.#tables.get(table);
    if (!ready) {
      ready = conn
        .query({ sql: createTableSql(table), timeout: this.config.queryTimeoutMs })
        .then(() => undefined);
      this.#tables.set(table, ready);
      ready.catch(() => this.#tables.delete(table));
    }
    await ready;
  }

  async #insertAll(
    conn: mysql.PoolConnection,
    table: string,
    batch: SinkBatch,
    maxPacket: number,
  ): Promise<void> {
    const timeout = this.config.queryTimeoutMs;
    const readTime = new Date(batch.readTimeMs);
    const rowOverhead = rowBytes(batch, 0);
    // Lines travel hex-encoded: a statement is about twice its line bytes plus the metadata.
    const maxStatement = Math.min(2 * this.config.maxBytesPerInsert, maxPacket - STATEMENT_SLACK);
    await conn.query({ sql: 'START TRANSACTION', timeout });
    let rows: Row[] = [];
    let bytes = 0;
    const flush = async () => {
      if (rows.length === 0) return;
      await conn.query({ sql: insertSql(table, rows.length), values: rows.flat(), timeout });
      rows = [];
      bytes = 0;
    };
    for (let i = 0; i < batch.lines.length; i++) {
      const line = batch.lines[i] as Buffer;
      const size = rowOverhead + 2 * line.length;
      if (rows.length > 0 && bytes + size > maxStatement) await flush();
      rows.push([
        batch.streamKey,
        batch.offsets[i] as number,
        batch.agentId,
        batch.host,
        batch.path,
        line,
        readTime,
      ]);
      bytes += size;
      if (rows.length >= this.config.maxRowsPerInsert) await flush();
    }
    await flush();
    await conn.query({ sql: 'COMMIT', timeout });
  }
}
