/** The outcome of asking a bucket for room. */
export type Reservation =
  | { ok: true; /** Wait before going ahead, ms (0: now). */ waitMs: number }
  | { ok: false; /** When asking again makes sense, ms from now. */ retryInMs: number };

/**
 * A token bucket that hands out reservations (like Go's rate.Limiter.Reserve): a request takes
 * its tokens at once — the bucket may go into debt — and learns how long it must wait until
 * that debt is paid off at the refill rate. Requests thus leave at exactly the rate, in arrival
 * order. A request that would wait longer than the caller accepts takes nothing.
 *
 * The bucket refills only up to its depth, so a request larger than the depth plus what the
 * rate adds during the longest accepted wait could never be given its tokens in time. Such a
 * request waits only until the bucket is full (within the hold) and leaves the whole excess as
 * debt: the requests after it wait until that debt is repaid, so the long-run rate still holds
 * (a batch of 4096 lines at 1000 lines/s is followed by about 4 s without any).
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #capacity: number;
  #tokens: number;
  #last: number;

  /**
   * @param ratePerSecond tokens added per second
   * @param burstMs bucket depth, in ms of the rate
   * @param now start time, ms (performance.now() in production)
   */
  constructor(ratePerSecond: number, burstMs: number, now: number) {
    this.#rate = ratePerSecond / 1000;
    this.#capacity = Math.max(1, this.#rate * burstMs);
    this.#tokens = this.#capacity;
    this.#last = now;
  }

  /** Tokens now (negative while in debt). */
  tokens(now: number): number {
    this.#refill(now);
    return this.#tokens;
  }

  /** Takes `n` tokens if they are there within `maxWaitMs`. */
  reserve(n: number, now: number, maxWaitMs: number): Reservation {
    this.#refill(now);
    // A request that even a full bucket cannot serve within the hold waits only for a full
    // bucket and leaves the rest as debt; waiting for all of it would never end.
    const needed = n > this.#capacity + this.#rate * maxWaitMs ? this.#capacity : n;
    const short = needed - this.#tokens;
    const waitMs = short <= 0 ? 0 : short / this.#rate;
    if (waitMs > maxWaitMs) return { ok: false, retryInMs: waitMs - maxWaitMs };
    this.#tokens -= n;
    return { ok: true, waitMs };
  }

  /** Gives back tokens of a reservation that was not used. */
  refund(n: number, now: number): void {
    this.#refill(now);
    this.#tokens = Math.min(this.#capacity, this.#tokens + n);
  }

  #refill(now: number): void {
    if (now > this.#last) {
      this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#last) * this.#rate);
      this.#last = now;
    }
  }
}
