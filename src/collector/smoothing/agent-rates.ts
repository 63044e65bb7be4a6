import type { RateLimitConfig } from './config.js';
import { RateLimiter } from './rate-limiter.js';
import type { Reservation } from './token-bucket.js';

/** Agents not heard from for this long have their bucket dropped (it would be full anyway). */
const IDLE_MS = 10 * 60_000;

/** A rate limit per agent id, so one loud host cannot take a collector's whole capacity. */
export class AgentRates {
  readonly #config: RateLimitConfig;
  readonly #limiters = new Map<string, { limiter: RateLimiter; seen: number }>();
  #lastSweep = 0;

  constructor(config: RateLimitConfig) {
    this.#config = config;
  }

  get agents(): number {
    return this.#limiters.size;
  }

  reserve(agent: string, bytes: number, records: number, now: number): Reservation {
    this.#sweep(now);
    let entry = this.#limiters.get(agent);
    if (!entry) {
      entry = { limiter: new RateLimiter(this.#config, now), seen: now };
      this.#limiters.set(agent, entry);
    }
    entry.seen = now;
    return entry.limiter.reserve(bytes, records, now);
  }

  refund(agent: string, bytes: number, records: number, now: number): void {
    this.#limiters.get(agent)?.limiter.refund(bytes, records, now);
  }

  #sweep(now: number): void {
    if (now - this.#lastSweep < IDLE_MS) return;
    this.#lastSweep = now;
    for (const [agent, entry] of this.#limiters)
      if (now - entry.seen > IDLE_MS) this.#limiters.delete(agent);
  }
}
