/**
 * A short moving average of a rate from samples of a running total (bytes committed so far):
 * what a cluster member or agent reports as its load every few seconds. Each sample weighs half,
 * so the leader sees a change within a couple of reports without balancing on one noisy one.
 */
export class RateMeter {
  #lastTotal = 0;
  #lastAt = 0;
  #perSecond = 0;

  /** Takes the running total at `now` (ms) and returns the averaged rate, per second. */
  sample(total: number, now: number): number {
    if (this.#lastAt > 0 && now > this.#lastAt) {
      const rate = ((total - this.#lastTotal) * 1000) / (now - this.#lastAt);
      this.#perSecond = this.#perSecond === 0 ? rate : this.#perSecond * 0.5 + rate * 0.5;
    }
    this.#lastTotal = total;
    this.#lastAt = now;
    return this.#perSecond;
  }
}
