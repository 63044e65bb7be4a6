import { setTimeout as sleep } from 'node:timers/promises';
import { AdaptiveConcurrency, type WriteOutcome } from './adaptive-concurrency.js';
import type { SinkFlowConfig } from './config.js';
import { RateLimiter } from './rate-limiter.js';

/** Permission to write one batch to a sink; `done` must be called once the write settled. */
export interface FlowTicket {
  done(outcome: Omit<WriteOutcome, 'latencyMs'>): void;
}

export type FlowEntry =
  | {
      ok: true;
      ticket: FlowTicket;
      /** Time spent waiting for the rate and a slot, ms. */ waitedMs: number;
    }
  | {
      ok: false;
      /** The rate is spoken for beyond the hold limit: ask the agent to come back. */ retryInMs: number;
    };

/**
 * The smoothing in front of one sink: its token bucket (when it has a rate) and its adaptive
 * concurrency cap. A batch reserves its place in the rate, waits for it (at most the hold
 * limit; beyond it the batch is turned away, to wait in the agent's file), then for a slot.
 */
export class SinkFlow {
  readonly #rate: RateLimiter | undefined;
  readonly #concurrency: AdaptiveConcurrency;
  readonly #now: () => number;

  constructor(config: SinkFlowConfig, now: () => number = () => performance.now()) {
    this.#now = now;
    this.#rate = config.rate ? new RateLimiter(config.rate, now()) : undefined;
    this.#concurrency = new AdaptiveConcurrency(config.concurrency, now());
  }

  get concurrencyLimit(): number {
    return this.#concurrency.limit;
  }

  get writesInFlight(): number {
    return this.#concurrency.inFlight;
  }

  get writesWaiting(): number {
    return this.#concurrency.waiting;
  }

  async enter(bytes: number, records: number): Promise<FlowEntry> {
    const start = this.#now();
    if (this.#rate) {
      const reservation = this.#rate.reserve(bytes, records, start);
      if (!reservation.ok) return { ok: false, retryInMs: reservation.retryInMs };
      if (reservation.waitMs > 0) await sleep(reservation.waitMs);
    }
    await this.#concurrency.acquire();
    const writeStart = this.#now();
    let settled = false;
    const ticket: FlowTicket = {
      done: (outcome) => {
        if (settled) return;
        settled = true;
        const now = this.#now();
        this.#concurrency.release({ ...outcome, latencyMs: now - writeStart }, now);
      },
    };
    return { ok: true, ticket, waitedMs: writeStart - start };
  }
}
