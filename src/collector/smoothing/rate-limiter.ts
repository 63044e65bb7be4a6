import type { RateLimitConfig } from './config.js';
import { TokenBucket, type Reservation } from './token-bucket.js';

/**
 * A rate limit on bytes and lines at once: a request goes ahead when both buckets have room,
 * and waits as long as the slower of the two requires.
 */
export class RateLimiter {
  readonly #bytes: TokenBucket | undefined;
  readonly #records: TokenBucket | undefined;
  readonly #maxHoldMs: number;

  constructor(config: RateLimitConfig, now: number) {
    this.#bytes =
      config.bytesPerSecond === undefined
        ? undefined
        : new TokenBucket(config.bytesPerSecond, config.burstMs, now);
    this.#records =
      config.recordsPerSecond === undefined
        ? undefined
        : new TokenBucket(config.recordsPerSecond, config.burstMs, now);
    this.#maxHoldMs = config.maxHoldMs;
  }

  /** Reserves room for `bytes` and `records`, or nothing when the wait would exceed maxHoldMs. */
  reserve(bytes: number, records: number, now: number): Reservation {
    const b = this.#bytes?.reserve(bytes, now, this.#maxHoldMs) ?? { ok: true, waitMs: 0 };
    const r = this.#records?.reserve(records, now, this.#maxHoldMs) ?? { ok: true, waitMs: 0 };
    if (b.ok && r.ok) return { ok: true, waitMs: Math.max(b.waitMs, r.waitMs) };
    if (b.ok) this.#bytes?.refund(bytes, now);
    if (r.ok) this.#records?.refund(records, now);
    return {
      ok: false,
      retryInMs: Math.max(b.ok ? 0 : b.retryInMs, r.ok ? 0 : r.retryInMs),
    };
  }

  /** Gives back a reservation whose batch was not delivered after all. */
  refund(bytes: number, records: number, now: number): void {
    this.#bytes?.refund(bytes, now);
    this.#records?.refund(records, now);
  }
}
