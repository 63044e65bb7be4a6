import { setTimeout as sleep } from 'node:timers/promises';
import type { Counter, Histogram } from 'prom-client';
import { RelayError } from '../../common/errors/relay-error.js';
import type { Logger } from '../../common/logging/logger.js';
import type { Batch, ShipResponse } from '../../common/wire/index.js';
import type { HighWaterMarks } from '../dedup/high-water-marks.js';
import { unseenPart } from '../dedup/high-water-marks.js';
import { MarkRetention } from '../dedup/mark-retention.js';
import type { Router } from '../routing/router.js';
import { PartialWriteError, type Sink, type SinkBatch } from '../sinks/sink.js';
import type { AgentRates } from '../smoothing/agent-rates.js';
import type { FlowTicket, SinkFlow } from '../smoothing/sink-flow.js';
import type { StreamQuota } from '../smoothing/stream-quota.js';
import { StuckStreams } from './stuck-streams.js';
import { validateBatch, type BatchLimits } from './validate-batch.js';

export type ShipResult = NonNullable<ShipResponse['result']>;

export interface BatchProcessorOptions extends BatchLimits {
  /** Bytes of batches being written at once, collector-wide; above it agents get retry-after. */
  maxInFlightBytes: number;
  /** Delay suggested to agents when a sink failed retriably, in ms. */
  retryAfterMs: number;
  /** Delay suggested to agents when the collector is busy (in-flight bytes full), in ms. */
  busyRetryAfterMs: number;
  /** A stream whose writes fail for this long is reported stuck, in ms. Default: 60000. */
  stuckStreamMs?: number;
  /** A stream not heard from for this long has its marks forgotten, in ms. Default: 3600000. */
  streamIdleMs?: number;
  /** Same, for a stream a newer generation of its file replaced, in ms. Default: 60000. */
  supersededStreamIdleMs?: number;
  /** The clock for forgetting idle streams, ms (tests). Default: performance.now. */
  now?: () => number;
}

/** The smoothing parts; each one is optional (off when absent). */
export interface BatchProcessorFlow {
  /** Per sink: rate limit and adaptive concurrency. */
  sinks?: ReadonlyMap<string, SinkFlow>;
  /** Per agent rate limit. */
  agents?: AgentRates;
  /** Active streams per agent. */
  streams?: StreamQuota;
}

export interface BatchProcessorMetrics {
  batches: Counter<'result'>;
  lines: Counter<'result'>;
  bytes: Counter<'result'>;
  duplicates: Counter<'sink'>;
  sinkSeconds: Histogram<'sink'>;
  sinkErrors: Counter<'sink' | 'code'>;
  /** Lines a sink committed (duplicates it skipped are not counted), by sink. */
  sinkLines: Counter<'sink'>;
  /** Line bytes a sink committed, by sink. */
  sinkBytes: Counter<'sink'>;
  /** Limits hit, by limit (its config key). */
  limitHits: Counter<'limit'>;
  /**
   * Batches slowed by a rate limit, by scope (sink, agent), name (the sink, or `agentRate`) and
   * action (held, refused).
   */
  throttled: Counter<'scope' | 'name' | 'action'>;
  /** Lines not written because the collector's or the sink's marks had them, by sink. */
  skipped?: Counter<'sink'>;
}

/**
 * The `name` of every agent-scope throttle series. Never the agent id: agents choose their ids,
 * so a label per id would let any client grow the registry without bound (one series per id it
 * invents). Which agent is slowed shows on that agent (`logrelay_agent_retries_total{reason}`).
 */
const AGENT_RATE = 'agentRate';

/**
 * Turns a received batch into an answer: validate, route, deduplicate per sink, write to every
 * sink of the route, and answer committed only when all of them committed.
 *
 * Batches of one stream are processed one after another (a lane per stream, collector-wide, so
 * a reconnecting agent's second connection cannot overtake its first). When a sink fails on a
 * stream, later batches of that stream that would leave a gap are answered retry-after until
 * the failed range arrives again — otherwise the mark would move past lines never written.
 */
export class BatchProcessor {
  readonly #opts: BatchProcessorOptions;
  readonly #router: Router;
  readonly #sinks: ReadonlyMap<string, Sink>;
  readonly #marks: HighWaterMarks;
  readonly #log: Logger;
  readonly #metrics: BatchProcessorMetrics;
  readonly #lanes = new Map<string, Promise<unknown>>();
  /**
   * Per sink, per stream: where the next batch must start (at the latest) and the Ship stream
   * (connection) that is known on. The rule (docs/architecture.md, "Order within a stream"):
   *
   * - On the connection of the last batch, a batch starting beyond `next` leaves a gap (a failed
   *   or refused range, or a sender that sent a later range first): it is answered retry-after
   *   OUT_OF_ORDER naming `next`, and neither written nor acknowledged. The agent rewinds to its
   *   acked offset, which is at most `next`, and resends in order.
   * - The agent may leave a gap itself: a line over `lines.maxBytes` with `onLongLine: skip`.
   *   Its resend then starts at the same offset again; unless `next` is a failed range, that
   *   second identical gap is taken as skipped by the agent and written.
   * - A batch on a newer connection is the first after the agent reconnected, and the agent
   *   starts again from its acked offset: lines below it were committed (here or through another
   *   collector while it was away), so a start beyond `next` is the stream's new base, however
   *   the last connection ended (fenced, failed, throttled).
   * - The offsets jumped over in either case are remembered as a hole: a batch in it on that
   *   connection is refused, never acknowledged as a duplicate of lines that were not written.
   */
  readonly #expected = new Map<string, ExpectedStart>();
  /** Per stream: the newest connection a batch of it came on. */
  readonly #newestConnection = new Map<string, number>();
  readonly #flow: BatchProcessorFlow;
  #inFlightBytes = 0;
  #pending = new Set<Promise<unknown>>();
  #committedBytes = 0;
  /** Why the collector fenced itself (cluster mode), while it is fenced. */
  #fenced: string | undefined;
  /** Streams that have made no progress for long (for the log, a gauge and `/readyz`). */
  readonly stuckStreams: StuckStreams;
  /** Which streams' marks and state may be forgotten (idle, or superseded and idle). */
  readonly #retention: MarkRetention;
  readonly #now: () => number;
  #lastSweep = 0;
  /** (sink, stream) pairs whose skip as already delivered was logged (once each). */
  readonly #skipLogged = new Set<string>();
  /** Lines skipped as already delivered, per sink, since start (for `logrelay status`). */
  readonly #skippedLines = new Map<string, number>();

  constructor(
    opts: BatchProcessorOptions,
    router: Router,
    sinks: ReadonlyMap<string, Sink>,
    marks: HighWaterMarks,
    log: Logger,
    metrics: BatchProcessorMetrics,
    flow: BatchProcessorFlow = {},
  ) {
    this.#opts = opts;
    this.#flow = flow;
    this.#router = router;
    this.#sinks = sinks;
    this.#marks = marks;
    this.#log = log;
    this.#metrics = metrics;
    this.stuckStreams = new StuckStreams(opts.stuckStreamMs ?? 60_000, log);
    this.#now = opts.now ?? (() => performance.now());
    this.#retention = new MarkRetention({
      streamIdleMs: opts.streamIdleMs ?? 3_600_000,
      supersededIdleMs: opts.supersededStreamIdleMs ?? 60_000,
    });
    this.#lastSweep = this.#now();
  }

  /** Lines skipped as already delivered (collector or sink marks), per sink, since start. */
  get skippedLines(): ReadonlyMap<string, number> {
    return this.#skippedLines;
  }

  /** Streams whose state (marks, order) this collector holds. */
  get streamsTracked(): number {
    return this.#retention.size;
  }

  /**
   * Forgets the state of streams idle long enough. An exactly-once sink keeps its own marks and
   * skips a resend after that as before; an at-least-once sink may write such a resend again.
   */
  #sweep(now: number): void {
    if (now - this.#lastSweep < 1000) return;
    this.#lastSweep = now;
    const forgotten = this.#retention.sweep(now, (key) => this.#lanes.has(key));
    for (const key of forgotten) {
      this.#marks.forget(key);
      this.#newestConnection.delete(key);
      for (const sink of this.#sinks.keys()) {
        this.#expected.delete(`${sink}\u0000${key}`);
        this.#skipLogged.delete(`${sink}\u0000${key}`);
      }
    }
    if (forgotten.length > 0)
      this.#log.debug({ streams: forgotten.length }, 'forgot the marks of idle streams');
  }

  get inFlightBytes(): number {
    return this.#inFlightBytes;
  }

  /** Line bytes committed so far (for the load a cluster member reports). */
  get committedBytes(): number {
    return this.#committedBytes;
  }

  /**
   * Commits nothing from now on (the collector is not a confirmed cluster member): batches are
   * answered retry-after, and writes not yet started do not start.
   */
  fence(reason: string): void {
    this.#fenced = reason;
  }

  unfence(): void {
    this.#fenced = undefined;
  }

  /** Resolves when every batch accepted so far has been answered (for a graceful stop). */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /**
   * @param connection the Ship stream the batch came on (increasing per collector); batches of
   *   one stream on one connection are in order, and a newer connection restarts from the
   *   agent's acked offset
   */
  process(raw: Batch, connection = 0): Promise<ShipResult> {
    const checked = validateBatch(raw, this.#opts);
    if (!checked.ok) {
      this.#count('rejected', raw);
      const limit = LIMIT_OF_REJECTION[checked.rejection.code];
      if (limit) this.#metrics.limitHits.inc({ limit });
      this.#log.warn(
        { agent: raw.agentId, path: raw.stream?.path, ...checked.rejection },
        'batch rejected',
      );
      return Promise.resolve({ $case: 'rejected', value: checked.rejection });
    }
    const batch = checked.batch;
    const clock = this.#now();
    this.#retention.touch(batch.streamKey, batch.agentId, batch.keyPath ?? batch.path, clock);
    this.#sweep(clock);
    if (this.#fenced !== undefined) {
      this.#count('busy', raw);
      return Promise.resolve({
        $case: 'retryAfter',
        value: { delayMs: this.#opts.retryAfterMs, reason: `collector fenced: ${this.#fenced}` },
      });
    }
    const sinkNames = this.#router.sinksFor(batch.topic);
    if (sinkNames.length === 0) {
      this.#count('rejected', raw);
      return Promise.resolve({
        $case: 'rejected',
        value: {
          code: 'NO_ROUTE',
          reason: `no route for topic ${batch.topic} and no default route`,
        },
      });
    }
    const size = raw.lines.length;
    // A batch larger than the whole budget is still let through alone, or it could never pass.
    if (this.#inFlightBytes > 0 && this.#inFlightBytes + size > this.#opts.maxInFlightBytes) {
      this.#count('busy', raw);
      this.#metrics.limitHits.inc({ limit: 'maxInFlightBytes' });
      return Promise.resolve({
        $case: 'retryAfter',
        value: {
          delayMs: this.#opts.busyRetryAfterMs,
          reason: 'collector busy: in-flight bytes at limit',
        },
      });
    }
    const now = performance.now();
    if (this.#flow.streams && !this.#flow.streams.admit(batch.agentId, batch.streamKey, now)) {
      this.#count('busy', raw);
      this.#metrics.limitHits.inc({ limit: 'maxStreamsPerAgent' });
      return Promise.resolve({
        $case: 'retryAfter',
        value: {
          delayMs: this.#opts.retryAfterMs,
          reason: 'agent has limits.maxStreamsPerAgent streams active on this collector',
        },
      });
    }
    const agentRates = this.#flow.agents;
    this.#inFlightBytes += size;
    const previous = this.#lanes.get(batch.streamKey) ?? Promise.resolve();
    let overAgentRate = false;
    // The agent's rate is taken once the batch's turn in its stream's lane has come: a refusal
    // answered ahead of the batches before it would make the agent rewind and drop their
    // answers, so with batches larger than the rate's depth not one would ever count as sent.
    const run = previous.then(async (): Promise<ShipResult> => {
      if (agentRates) {
        const reservation = agentRates.reserve(
          batch.agentId,
          size,
          batch.lines.length,
          performance.now(),
        );
        if (!reservation.ok) {
          overAgentRate = true;
          this.#metrics.throttled.inc({ scope: 'agent', name: AGENT_RATE, action: 'refused' });
          return {
            $case: 'retryAfter',
            value: {
              delayMs: retryDelay(reservation.retryInMs),
              reason: 'agent over limits.agentRate',
            },
          };
        }
        if (reservation.waitMs > 0) {
          this.#metrics.throttled.inc({ scope: 'agent', name: AGENT_RATE, action: 'held' });
          await sleep(reservation.waitMs);
        }
      }
      const result = await this.#writeAll(batch, sinkNames, connection);
      // Not delivered: the resend will take the agent's tokens again.
      if (agentRates && result.$case !== 'committed')
        agentRates.refund(batch.agentId, size, batch.lines.length, performance.now());
      return result;
    });
    const lane = run.finally(() => {
      this.#inFlightBytes -= size;
      if (this.#lanes.get(batch.streamKey) === lane) this.#lanes.delete(batch.streamKey);
      this.#pending.delete(lane);
    });
    this.#lanes.set(batch.streamKey, lane);
    this.#pending.add(lane);
    return run.then((result) => {
      if (result.$case === 'committed') this.#committedBytes += size;
      this.#count(
        result.$case === 'committed'
          ? 'committed'
          : overAgentRate
            ? 'busy'
            : result.$case === 'retryAfter'
              ? 'retry'
              : 'rejected',
        raw,
      );
      return result;
    });
  }

  async #writeAll(
    batch: SinkBatch,
    sinkNames: readonly string[],
    connection: number,
  ): Promise<ShipResult> {
    // A batch of an older connection than one already seen for the stream is a straggler (the
    // agent has moved on and resends from its acked offset on the newer one): writing it could
    // move the mark past lines not yet written. Checked once per batch, before any sink.
    if (connection < (this.#newestConnection.get(batch.streamKey) ?? 0)) {
      return {
        $case: 'retryAfter',
        value: { delayMs: this.#opts.retryAfterMs, reason: 'batch of a connection the agent left' },
      };
    }
    this.#newestConnection.set(batch.streamKey, connection);
    const outcomes = await Promise.all(
      sinkNames.map((name) => this.#writeOne(name, batch, connection)),
    );
    // A sink that failed retriably still needs the lines: the batch is resent even when another
    // sink refused its content for good (that sink refuses the resend again, and only once no
    // sink needs the lines any more is the batch rejected and skipped).
    const retry = outcomes.find((o) => o.error?.retriable);
    if (retry?.error) {
      return {
        $case: 'retryAfter',
        value: {
          delayMs: retry.retryInMs ?? this.#opts.retryAfterMs,
          reason: `${retry.sink}: ${retry.error.message}`,
        },
      };
    }
    const refused = outcomes.find((o) => o.error);
    if (refused?.error) {
      return {
        $case: 'rejected',
        value: { code: refused.error.code, reason: `${refused.sink}: ${refused.error.message}` },
      };
    }
    const duplicates = Math.min(...outcomes.map((o) => o.duplicates));
    return { $case: 'committed', value: { duplicateLines: duplicates } };
  }

  async #writeOne(
    name: string,
    batch: SinkBatch,
    connection: number,
  ): Promise<{ sink: string; duplicates: number; error?: RelayError; retryInMs?: number }> {
    const sink = this.#sinks.get(name);
    if (!sink) {
      return {
        sink: name,
        duplicates: 0,
        error: new RelayError('NO_SUCH_SINK', `sink ${name} is not configured`),
      };
    }
    const laneKey = `${name}\u0000${batch.streamKey}`;
    // Where the batch starts on disk: before its first record when the agent filtered out lines
    // ahead of it, and a batch of zero records (only filtered-out lines) starts there too.
    const first = batch.startOffset ?? batch.offsets[0] ?? batch.endOffset;
    const mark = this.#marks.get(name, batch.streamKey);
    let expected = this.#expected.get(laneKey);
    const firstHere = expected === undefined;
    if (expected === undefined || connection !== expected.connection) {
      // The first batch here, or the agent reconnected: it starts from its acked offset, the
      // stream's new base.
      const below = mark ?? 0;
      const hole = first > below ? { from: below, to: first } : undefined;
      expected = { next: Math.max(first, below), connection, failed: false, hole };
      this.#expected.set(laneKey, expected);
    }
    const inHole =
      expected.hole !== undefined &&
      first < expected.hole.to &&
      batch.endOffset > expected.hole.from;
    if (first > expected.next && !expected.failed && expected.gapRefused === first) {
      // Refused once and sent again from the agent's acked offset with the same start: the
      // agent itself skipped those bytes (a line over lines.maxBytes with onLongLine: skip).
      expected.hole = { from: expected.next, to: first };
      expected.next = first;
      expected.gapRefused = undefined;
    } else if (first > expected.next || inHole) {
      if (!inHole && (expected.gapRefused === undefined || first < expected.gapRefused))
        expected.gapRefused = first;
      const why = inHole
        ? `out of order: offsets ${expected.hole?.from}-${expected.hole?.to} were skipped on this connection`
        : `out of order: waiting for offset ${expected.next} to be sent again (batch starts at ${first})`;
      this.stuckStreams.failed(name, batch.streamKey, why);
      return {
        sink: name,
        duplicates: 0,
        error: new RelayError('OUT_OF_ORDER', why, {
          retriable: true,
          details: { expectedOffset: expected.next },
        }),
      };
    }
    const { batch: part, duplicates } = unseenPart(batch, mark);
    if (duplicates > 0) this.#metrics.duplicates.inc({ sink: name }, duplicates);
    if (duplicates > 0 && (firstHere || !part)) {
      const to = part ? (part.offsets[0] ?? batch.endOffset) : batch.endOffset;
      this.#skippedAsDelivered(name, batch, laneKey, first, to, duplicates, 'collector');
    } else if (duplicates > 0) this.#countSkipped(name, duplicates);
    if (!part) {
      // Nothing to write: every record was a duplicate, or the batch has none (the agent
      // filtered out every line of it). The mark still passes over what it covers.
      if (batch.endOffset > (mark ?? 0) && batch.offsets.length === 0) {
        this.#marks.advance(name, batch.streamKey, batch.endOffset);
        this.stuckStreams.progressed(name, batch.streamKey);
      }
      this.#expect(laneKey, Math.max(batch.endOffset, mark ?? 0), connection);
      return { sink: name, duplicates };
    }
    const partBytes = part.lines.reduce((n, l) => n + l.length, 0);
    const flow = this.#flow.sinks?.get(name);
    let ticket: FlowTicket | undefined;
    if (flow) {
      const entry = await flow.enter(partBytes, part.lines.length);
      if (!entry.ok) {
        this.#metrics.throttled.inc({ scope: 'sink', name, action: 'refused' });
        this.#expectAgain(laneKey, part.offsets[0] ?? first, connection);
        return {
          sink: name,
          duplicates,
          retryInMs: retryDelay(entry.retryInMs),
          error: new RelayError('THROTTLED', 'over its configured rate (flow.rate)', {
            retriable: true,
          }),
        };
      }
      if (entry.waitedMs >= 1) this.#metrics.throttled.inc({ scope: 'sink', name, action: 'held' });
      ticket = entry.ticket;
    }
    if (this.#fenced !== undefined) {
      ticket?.done({ overloaded: false });
      this.#expectAgain(laneKey, part.offsets[0] ?? first, connection);
      return {
        sink: name,
        duplicates,
        error: new RelayError('FENCED', `collector fenced: ${this.#fenced}`, { retriable: true }),
      };
    }
    const end = this.#metrics.sinkSeconds.startTimer({ sink: name });
    try {
      const written = await sink.write(part);
      ticket?.done({ overloaded: false });
      const skipped = written?.skippedLines ?? 0;
      if (skipped > 0) {
        const from = part.offsets[0] ?? first;
        const to = part.offsets[skipped] ?? part.endOffset;
        if (firstHere || skipped === part.lines.length)
          this.#skippedAsDelivered(name, batch, laneKey, from, to, skipped, 'sink');
        else this.#countSkipped(name, skipped);
      }
      this.#metrics.sinkLines.inc({ sink: name }, part.lines.length);
      this.#metrics.sinkBytes.inc({ sink: name }, partBytes);
      this.#marks.advance(name, batch.streamKey, batch.endOffset);
      this.#expect(laneKey, Math.max(batch.endOffset, mark ?? 0), connection);
      this.stuckStreams.progressed(name, batch.streamKey);
      return { sink: name, duplicates };
    } catch (thrown) {
      const err = onlyContentIsPermanent(RelayError.from(thrown, 'SINK_WRITE_FAILED', true));
      ticket?.done({ overloaded: err.retriable });
      this.#metrics.sinkErrors.inc({ sink: name, code: err.code });
      let failedAt = part.offsets[0] ?? first;
      if (err instanceof PartialWriteError) {
        // The prefix is committed: a resend must not write it again.
        this.#marks.advance(name, batch.streamKey, err.committedEndOffset);
        failedAt = err.committedEndOffset;
      }
      if (err.retriable) {
        this.#expectAgain(laneKey, failedAt, connection);
        this.stuckStreams.failed(name, batch.streamKey, err.message);
        this.#log.warn({ sink: name, stream: batch.streamKey, err }, 'sink write failed');
      } else {
        // The agent skips these lines for good: the next batch starts after them, so no resend
        // of the range is awaited any more.
        this.#expect(laneKey, batch.endOffset, connection);
        this.stuckStreams.progressed(name, batch.streamKey);
        this.#log.error(
          {
            sink: name,
            agent: batch.agentId,
            stream: batch.streamKey,
            path: batch.path,
            fromOffset: failedAt,
            toOffset: batch.endOffset,
            lines: part.lines.length,
            err,
          },
          'sink rejected the batch for its content: these lines are skipped',
        );
      }
      return { sink: name, duplicates, error: err };
    } finally {
      end();
    }
  }

  #countSkipped(sink: string, lines: number): void {
    this.#skippedLines.set(sink, (this.#skippedLines.get(sink) ?? 0) + lines);
    this.#metrics.skipped?.inc({ sink }, lines);
  }

  /**
   * A whole batch, or the start of a stream, was not written because it was delivered before
   * (a retransmission after a takeover, or a file shipped again under the same identity): said
   * once per sink and stream, so a deliberate re-ship that writes nothing is not silent.
   */
  #skippedAsDelivered(
    sink: string,
    batch: SinkBatch,
    laneKey: string,
    fromOffset: number,
    toOffset: number,
    lines: number,
    marks: 'collector' | 'sink',
  ): void {
    this.#countSkipped(sink, lines);
    if (this.#skipLogged.has(laneKey)) return;
    this.#skipLogged.add(laneKey);
    this.#log.info(
      {
        sink,
        agent: batch.agentId,
        stream: batch.streamKey,
        path: batch.path,
        fromOffset,
        toOffset,
        lines,
        marks,
      },
      'lines skipped as already delivered to this sink (logged once per stream; to ship a file again on purpose see docs/operations.md)',
    );
  }

  /** The next batch on `connection` may start anywhere up to `next`. */
  #expect(laneKey: string, next: number, connection: number, failed = false): void {
    const current = this.#expected.get(laneKey);
    this.#expected.set(laneKey, {
      next,
      connection,
      failed,
      hole: current?.connection === connection ? current.hole : undefined,
    });
  }

  /** A range starting at `offset` was not written: on this connection, it comes first again. */
  #expectAgain(laneKey: string, offset: number, connection: number): void {
    const current = this.#expected.get(laneKey);
    const next = current?.connection === connection ? Math.min(current.next, offset) : offset;
    this.#expect(laneKey, next, connection, true);
  }

  #count(result: string, raw: Batch): void {
    this.#metrics.batches.inc({ result });
    this.#metrics.lines.inc({ result }, raw.lineLengths.length);
    this.#metrics.bytes.inc({ result }, raw.lines.length);
  }
}

/** Where the next batch of a stream must start, on which connection (see `#expected`). */
interface ExpectedStart {
  next: number;
  connection: number;
  /** `next` is where a write failed (or was refused): nothing after it goes first. */
  failed: boolean;
  /** The lowest start of a batch refused for a gap since `next` was set. */
  gapRefused?: number;
  /** Offsets the agent reported acknowledged when it came back on this connection. */
  hole?: { from: number; to: number };
}

/**
 * Error codes that say the batch's own content can never be written (a line too large for the
 * backend, an illegal destination name): the only sink failures that may make an agent skip
 * lines.
 */
const CONTENT_REJECTIONS = new Set(['SINK_REJECTED']);

/**
 * A sink failure as the agent must see it. A backend that is down, slow, refusing connections or
 * out of retries is retriable whatever the client library calls it, and so is a failure nobody
 * classified (a bug): retrying costs a stuck stream that is reported (StuckStreams), skipping
 * costs lines for good. Only a rejection of the content is permanent.
 */
export function onlyContentIsPermanent(err: RelayError): RelayError {
  if (err.retriable || CONTENT_REJECTIONS.has(err.code)) return err;
  if (err instanceof PartialWriteError && err.cause instanceof RelayError)
    return new PartialWriteError(err.committedEndOffset, onlyContentIsPermanent(err.cause));
  return new RelayError(err.code, err.message, {
    retriable: true,
    cause: err,
    details: err.details,
  });
}

/** The limit (config key) behind each rejection that is one. */
const LIMIT_OF_REJECTION: Partial<Record<string, string>> = {
  BATCH_TOO_LARGE: 'maxBatchBytes',
  TOO_MANY_LINES: 'maxBatchLines',
};

/**
 * The retry-after for a throttled batch: when the rate has room again, plus up to 20 % jitter so
 * the agents turned away together do not all come back in the same millisecond.
 */
function retryDelay(retryInMs: number): number {
  const base = Math.max(10, retryInMs);
  return Math.ceil(base * (1 + Math.random() * 0.2));
}
