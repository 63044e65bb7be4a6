/** Marks kept per stream before old ones are merged (bounded memory on a fast-growing file). */
const MAX_MARKS = 256;

/**
 * How long the oldest unacknowledged byte of a stream has been waiting: "seconds behind".
 *
 * The agent cannot know when a byte was written, only when it first saw the file hold it. So it
 * keeps marks "the file had grown to `offset` by time `at`" whenever it notices growth (each scan
 * and each read), and the lag is the age of the first mark past the acknowledged offset. The
 * figure is late by at most the time between observations (`scanIntervalMs`); bytes already in
 * a file when the agent opens it count from that moment.
 */
export class LagClock {
  #marks: Array<{ offset: number; at: number }> = [];

  /** The file holds `size` bytes at `now` (ms). A smaller size (truncation) starts over. */
  observe(size: number, now: number): void {
    const last = this.#marks.at(-1);
    if (last && size < last.offset) this.#marks = [];
    else if (last && size === last.offset) return;
    this.#marks.push({ offset: size, at: now });
    // Dropping the second-oldest mark keeps the oldest (the figure alerts look at) exact; the
    // bytes it covered are dated by a later mark, so the lag after it is acked reads low.
    if (this.#marks.length > MAX_MARKS) this.#marks.splice(1, 1);
  }

  /** Forgets every mark: the file was truncated and is read from 0 again. */
  reset(): void {
    this.#marks = [];
  }

  /** Seconds the first byte past `acked` has waited at `now` (ms); 0 when nothing waits. */
  secondsBehind(acked: number, now: number): number {
    let drop = 0;
    while (drop < this.#marks.length && (this.#marks[drop]?.offset ?? 0) <= acked) drop++;
    if (drop > 0) this.#marks.splice(0, drop);
    const first = this.#marks[0];
    return first ? Math.max(0, now - first.at) / 1000 : 0;
  }
}
