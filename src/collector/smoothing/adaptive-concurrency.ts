import type { ConcurrencyConfig } from './config.js';

/** How a write went, for the limit's adjustment. */
export interface WriteOutcome {
  latencyMs: number;
  /** The sink failed in a way that says "too much" (a retriable error: timeout, unavailable). */
  overloaded: boolean;
}

/** Weight of a new window's mean latency in the long-run average. */
const EWMA_WEIGHT = 0.3;

/** Shortest adjustment window, ms: keeps a very fast sink from being re-tuned per write. */
const MIN_WINDOW_MS = 50;

/**
 * A cap on concurrent writes to one sink, tuned by AIMD in windows of about one round trip:
 * +1 when a window saw the cap reached with latency near its usual level and no errors;
 * × `decrease` on an error or on a mean latency above the usual by `latencyTolerance`.
 * Waiters queue in arrival order; the queue is bounded by the collector's in-flight bytes.
 */
export class AdaptiveConcurrency {
  readonly #config: ConcurrencyConfig;
  readonly #waiters: Array<() => void> = [];
  #limit: number;
  #inFlight = 0;
  #usualLatencyMs: number | undefined;
  #windowStart: number;
  #windowSum = 0;
  #windowCount = 0;
  #windowOverloaded = false;
  #windowSaturated = false;

  constructor(config: ConcurrencyConfig, now: number) {
    this.#config = config;
    this.#limit = config.initial;
    this.#windowStart = now;
  }

  get limit(): number {
    return this.#limit;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Resolves when a slot is free; every acquire must be followed by one `release`. */
  acquire(): Promise<void> {
    if (this.#inFlight < this.#limit) {
      this.#take();
      return Promise.resolve();
    }
    this.#windowSaturated = true;
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  release(outcome: WriteOutcome, now: number): void {
    this.#inFlight--;
    this.#windowSum += outcome.latencyMs;
    this.#windowCount++;
    if (outcome.overloaded) this.#windowOverloaded = true;
    const windowMs = Math.max(MIN_WINDOW_MS, this.#usualLatencyMs ?? 0);
    // One adjustment per window: a burst of errors from writes sent together is one signal.
    if (now - this.#windowStart >= windowMs) this.#adjust(now);
    this.#wake();
  }

  #take(): void {
    this.#inFlight++;
    if (this.#inFlight >= this.#limit) this.#windowSaturated = true;
  }

  #adjust(now: number): void {
    const mean = this.#windowSum / Math.max(1, this.#windowCount);
    const usual = this.#usualLatencyMs;
    const climbed = usual !== undefined && mean > usual * (1 + this.#config.latencyTolerance);
    if (this.#windowOverloaded || climbed) {
      this.#limit = Math.max(this.#config.min, Math.floor(this.#limit * this.#config.decrease));
    } else if (this.#windowSaturated) {
      this.#limit = Math.min(this.#config.max, this.#limit + 1);
    }
    // Failed writes often return fast; they would drag the usual latency down.
    if (!this.#windowOverloaded)
      this.#usualLatencyMs = usual === undefined ? mean : usual + EWMA_WEIGHT * (mean - usual);
    this.#windowStart = now;
    this.#windowSum = 0;
    this.#windowCount = 0;
    this.#windowOverloaded = false;
    this.#windowSaturated = this.#inFlight >= this.#limit;
  }

  #wake(): void {
    while (this.#inFlight < this.#limit && this.#waiters.length > 0) {
      this.#take();
      this.#waiters.shift()?.();
    }
  }
}
