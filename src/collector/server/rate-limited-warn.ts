import type { Logger } from '../../common/logging/logger.js';

/**
 * Warns about repeated events of one kind at most once per `intervalMs`: the first event of a
 * quiet period is logged at once, the ones after it only counted, and the next line carries how
 * many were left out (`suppressed`). A flood of bad connections must reach the log, but must not
 * become one.
 */
export class RateLimitedWarn {
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #kinds = new Map<string, { lastAt: number; suppressed: number }>();

  constructor(log: Logger, intervalMs = 10_000, now: () => number = () => performance.now()) {
    this.#log = log;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /** Logs `msg` with `fields` unless an event of `kind` was logged less than `intervalMs` ago. */
  warn(kind: string, fields: Record<string, unknown>, msg: string): void {
    const now = this.#now();
    const state = this.#kinds.get(kind);
    if (state && now - state.lastAt < this.#intervalMs) {
      state.suppressed++;
      return;
    }
    const suppressed = state?.suppressed ?? 0;
    this.#kinds.set(kind, { lastAt: now, suppressed: 0 });
    this.#log.warn(suppressed > 0 ? { ...fields, suppressed } : fields, msg);
  }
}
