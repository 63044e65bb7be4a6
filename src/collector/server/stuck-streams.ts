import type { Logger } from '../../common/logging/logger.js';

/** One (sink, stream) lane whose writes have been failing retriably since `since`. */
interface Stall {
  readonly sink: string;
  readonly stream: string;
  /** When the first failure after the last success happened (ms, `Date.now()`). */
  readonly since: number;
  /** The last failure's message, for the log and `/readyz`. */
  lastError: string;
  /** When the last failure happened. */
  lastAt: number;
  /** Whether the warning was logged already (once per stall). */
  warned: boolean;
}

/** A stream stuck longer than the limit, as `/readyz` and the gauge show it. */
export interface StuckStream {
  readonly sink: string;
  readonly stream: string;
  readonly forMs: number;
  readonly lastError: string;
}

/**
 * Which streams a collector cannot make progress on. A sink write that fails retriably is
 * answered retry-after and tried again when the agent resends, for as long as it takes: that is
 * what keeps lines from being lost in an outage, but it is silent from outside. A lane failing for
 * longer than `stuckAfterMs` is reported: a warning (once per stall), the
 * `logrelay_collector_stuck_streams` gauge and the collector's `/readyz`.
 */
export class StuckStreams {
  readonly #stuckAfterMs: number;
  readonly #log: Logger;
  readonly #stalls = new Map<string, Stall>();
  readonly #now: () => number;

  constructor(stuckAfterMs: number, log: Logger, now: () => number = Date.now) {
    this.#stuckAfterMs = stuckAfterMs;
    this.#log = log;
    this.#now = now;
  }

  /** A write of `stream` to `sink` failed retriably. */
  failed(sink: string, stream: string, error: string): void {
    const key = `${sink}\u0000${stream}`;
    const stall = this.#stalls.get(key);
    const now = this.#now();
    if (!stall) {
      this.#stalls.set(key, {
        sink,
        stream,
        since: now,
        lastError: error,
        lastAt: now,
        warned: false,
      });
      return;
    }
    stall.lastError = error;
    stall.lastAt = now;
    this.#warnIfStuck(stall);
  }

  /** A write of `stream` to `sink` committed (or was settled for good): the stall is over. */
  progressed(sink: string, stream: string): void {
    const key = `${sink}\u0000${stream}`;
    const stall = this.#stalls.get(key);
    if (!stall) return;
    this.#stalls.delete(key);
    if (stall.warned)
      this.#log.info(
        { sink, stream, stuckMs: this.#now() - stall.since },
        'stream makes progress again',
      );
  }

  /** The streams stuck for longer than the limit now, longest first. */
  stuck(): StuckStream[] {
    const now = this.#now();
    const out: StuckStream[] = [];
    for (const [key, stall] of this.#stalls) {
      // Nobody has tried this lane for a while: its agent moved to another collector or stopped
      // the file. Nothing is waiting on it here any more.
      if (now - stall.lastAt > this.#stuckAfterMs) {
        this.#stalls.delete(key);
        continue;
      }
      this.#warnIfStuck(stall);
      const forMs = now - stall.since;
      if (forMs >= this.#stuckAfterMs)
        out.push({ sink: stall.sink, stream: stall.stream, forMs, lastError: stall.lastError });
    }
    return out.sort((a, b) => b.forMs - a.forMs);
  }

  /** Stuck streams per sink (for the gauge). */
  countBySink(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const s of this.stuck()) counts.set(s.sink, (counts.get(s.sink) ?? 0) + 1);
    return counts;
  }

  /** `true`, or why the collector is not ready: the stuck streams, the longest first. */
  readiness(): true | string {
    const stuck = this.stuck();
    if (stuck.length === 0) return true;
    const first = stuck[0] as StuckStream;
    return (
      `${stuck.length} stream(s) made no progress for over ${this.#stuckAfterMs} ms; ` +
      `longest: ${first.stream} on sink ${first.sink} for ${first.forMs} ms (${first.lastError})`
    );
  }

  #warnIfStuck(stall: Stall): void {
    if (stall.warned) return;
    const forMs = this.#now() - stall.since;
    if (forMs < this.#stuckAfterMs) return;
    stall.warned = true;
    this.#log.warn(
      { sink: stall.sink, stream: stall.stream, stuckMs: forMs, lastError: stall.lastError },
      'stream makes no progress: every write to the sink fails (retried until it succeeds)',
    );
  }
}
