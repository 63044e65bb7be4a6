import { createHash } from 'node:crypto';
import { Redis, ReplyError } from 'ioredis';
import type { Counter } from 'prom-client';
import { RelayError } from '../../../common/errors/relay-error.js';
import { Component } from '../../../common/lifecycle/component.js';
import type { Logger } from '../../../common/logging/logger.js';
import { sharedCounter } from '../../../common/metrics/shared-metrics.js';
import { InFlightWrites, sinkNotRunning } from '../in-flight.js';
import type { Sink, SinkBatch, SinkContext, SinkWriteResult } from '../sink.js';
import type { RedisSinkConfig } from './config.js';
import { APPEND_SCRIPT, buildScriptArgs, marksKey, redisKey } from './records.js';

/** ioredis declares its ReplyError (a server's error reply) as `any`. */
const RedisReplyError = ReplyError as new (...args: never[]) => Error;

const SCRIPT_SHA = createHash('sha1').update(APPEND_SCRIPT).digest('hex');

/** Reply errors that a later retry of the same batch can get past (server busy, failover, ...). */
const TRANSIENT_REPLIES = [
  'LOADING',
  'BUSY',
  'OOM',
  'READONLY',
  'MASTERDOWN',
  'TRYAGAIN',
  'CLUSTERDOWN',
  'MOVED',
  'ASK',
  'NOAUTH',
  'WRONGPASS',
  'NOPERM',
];

/** How long `stop` lets QUIT take before it drops the connection (ms). */
const QUIT_TIMEOUT_MS = 2000;

/**
 * Writes each line of a batch as one Redis Stream entry or list element (DESIGN.md "Records in
 * the sinks"), all lines of a batch in one Lua script, so a batch is committed entirely or not
 * at all.
 *
 * Exactly once: the script keeps, per stream, the end offset of the last committed batch in the
 * hash `<key>:marks` and appends only lines at or past it, then advances it, atomically. A batch
 * the collector retransmits (after a timeout whose write did land, a collector restart, ...) adds
 * nothing the second time, and an overlapping one adds only its new lines.
 */
export class RedisSink extends Component implements Sink {
  readonly config: Readonly<RedisSinkConfig>;
  readonly #log: Logger;
  #client: Redis | undefined;
  /** Writes not yet settled, so that stop can wait for them (each already has a catch). */
  readonly #inflight = new InFlightWrites();
  readonly #lines: Counter.Internal;
  readonly #duplicates: Counter.Internal;
  readonly #errors: Counter<'sink' | 'code'>;

  constructor(config: Readonly<RedisSinkConfig>, ctx: SinkContext) {
    super(config.name);
    this.config = config;
    this.#log = ctx.log;
    const sink = { sink: config.name };
    this.#lines = sharedCounter(
      ctx.registry,
      'logrelay_redis_sink_lines_total',
      'Lines a Redis sink appended (retransmitted lines skipped by the dedup mark excluded).',
      ['sink'],
    ).labels(sink);
    this.#duplicates = sharedCounter(
      ctx.registry,
      'logrelay_redis_sink_duplicate_lines_total',
      'Retransmitted lines a Redis sink skipped because they were committed before.',
      ['sink'],
    ).labels(sink);
    // Series exist from the start, so rate() over them works from the first scrape.
    this.#lines.inc(0);
    this.#duplicates.inc(0);
    this.#errors = sharedCounter(
      ctx.registry,
      'logrelay_redis_sink_errors_total',
      'Failed Redis sink writes by RelayError code.',
      ['sink', 'code'],
    );
  }

  protected async doStart(): Promise<void> {
    const client = new Redis(this.config.url, {
      lazyConnect: true,
      connectTimeout: this.config.connectTimeoutMs,
      commandTimeout: this.config.commandTimeoutMs,
      // Fail writes at once while disconnected (retriable) rather than queue them unboundedly.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    let lastError = '';
    client.on('error', (err: unknown) => {
      // ioredis emits every failed reconnect: log a changed cause once, not every attempt.
      const message = err instanceof Error ? err.message : String(err);
      if (message !== lastError) this.#log.warn({ err }, 'Redis connection error');
      lastError = message;
    });
    client.on('ready', () => {
      lastError = '';
    });
    this.#client = client;
    // Redis being down is an outage like any other, not a reason to refuse to start: writes
    // fail retriable meanwhile, and the client keeps reconnecting in the background.
    // Bounded: a server that accepts but is not ready (loading its data) must not hold start.
    let timer: NodeJS.Timeout | undefined;
    const connected = client.connect().then(
      () => true,
      (err: unknown) => {
        this.#log.warn({ err }, 'Redis not reachable yet; writes will fail until it is');
        return false;
      },
    );
    const gaveUp = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.config.connectTimeoutMs + 1000);
    });
    await Promise.race([connected, gaveUp]);
    clearTimeout(timer);
  }

  protected async doStop(): Promise<void> {
    await this.#inflight.drain();
    const client = this.#client;
    this.#client = undefined;
    if (!client) return;
    if (client.status === 'ready') {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, QUIT_TIMEOUT_MS);
      });
      await Promise.race([client.quit().catch(() => undefined), timeout]);
      clearTimeout(timer);
    }
    client.disconnect();
  }

  write(batch: SinkBatch): Promise<SinkWriteResult> {
    const client = this.#client;
    if (!this.running || !client) {
      this.#errors.inc({ sink: this.name, code: 'SINK_NOT_RUNNING' });
      return Promise.reject(sinkNotRunning('Redis', this.name, this.state));
    }
    if (batch.lines.length === 0) return Promise.resolve({ skippedLines: 0 });
    return this.#inflight.track(this.#write(client, batch));
  }

  async #write(client: Redis, batch: SinkBatch): Promise<SinkWriteResult> {
    try {
      const key = redisKey(this.config.keyTemplate, batch.topic);
      const args = buildScriptArgs(batch, this.config);
      let reply: unknown;
      try {
        reply = await client.evalsha(SCRIPT_SHA, 2, key, marksKey(key), ...args);
      } catch (err) {
        // The server lost its script cache (restart, SCRIPT FLUSH): send the script itself.
        if (!(err instanceof RedisReplyError && err.message.startsWith('NOSCRIPT'))) throw err;
        reply = await client.eval(APPEND_SCRIPT, 2, key, marksKey(key), ...args);
      }
      const appended = Number(reply);
      this.#lines.inc(appended);
      this.#duplicates.inc(batch.lines.length - appended);
      return { skippedLines: batch.lines.length - appended };
    } catch (err) {
      const error = toRelayError(err, this.name);
      this.#errors.inc({ sink: this.name, code: error.code });
      this.#log.warn(
        {
          err: error,
          topic: batch.topic,
          streamKey: batch.streamKey,
          lines: batch.lines.length,
          retriable: error.retriable,
        },
        'Redis write failed',
      );
      throw error;
    }
  }
}

/**
 * Connection problems (refused, closed, timed out) and transient server states are retriable
 * (SINK_UNAVAILABLE); other server replies, e.g. WRONGTYPE for a key that holds something else,
 * mean the batch cannot be written as configured (SINK_REJECTED).
 */
export function toRelayError(err: unknown, sinkName: string): RelayError {
  if (err instanceof RelayError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof RedisReplyError) {
    const code = message.split(' ', 1)[0] ?? '';
    const retriable =
      TRANSIENT_REPLIES.includes(code) || message.startsWith('ERR max number of clients');
    return new RelayError(
      retriable ? 'SINK_UNAVAILABLE' : 'SINK_REJECTED',
      `Redis sink ${sinkName}: ${message}`,
      { retriable, cause: err },
    );
  }
  return new RelayError('SINK_UNAVAILABLE', `Redis sink ${sinkName}: ${message}`, {
    retriable: true,
    cause: err,
  });
}
