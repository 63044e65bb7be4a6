// Role: cut points — where records sent but not yet acknowledged ended, so that lines read again
// after a lost acknowledgement are cut into the same records as the first time.

import { lineEnd, type Line } from '../tail/line-splitter.js';

/**
 * Offsets (past the acked offset) at which a record sent earlier ended.
 *
 * Why: a record's end is not always a property of the file. A multiline event flushed by its
 * timeout, or a partial line flushed from an orphaned file, ended where the file ended *then*.
 * When the acknowledgement of such a record is lost (a dropped connection, a collector failover,
 * a retry-after) the agent reads again from the acked offset; by then more lines may have joined
 * the event. Cut differently, the record would start at the same offset but run further, and the
 * collector — whose mark lies just past the first record — would drop it whole as a duplicate,
 * losing the lines that joined it. Cutting again where the first record ended gives the same
 * record (a duplicate, dropped) and then the rest (new, delivered).
 *
 * Every sent batch's end is kept, not only the forced ones: an ordinary batch end is an event
 * boundary anyway, so cutting there again changes nothing. Bounded by the batches in flight.
 */
export class CutPoints {
  /** Ascending, unique, all past the acked offset. */
  readonly #offsets: number[] = [];
  /** Those the file alone does not fix (see {@link forced}). */
  readonly #forced = new Set<number>();

  get size(): number {
    return this.#offsets.length;
  }

  /**
   * A batch was sent ending at `offset`. `forced`: its last record ends where the file ended
   * then, not where the file says (the agent persists those: a restart must cut there too).
   */
  add(offset: number, forced = false): void {
    if (forced) this.#forced.add(offset);
    const list = this.#offsets;
    let i = list.length;
    while (i > 0 && (list[i - 1] as number) > offset) i--;
    if (i > 0 && list[i - 1] === offset) return;
    list.splice(i, 0, offset);
  }

  /** Everything before `acked` was acknowledged: those cuts can no longer be read again. */
  dropThrough(acked: number): void {
    let n = 0;
    while (n < this.#offsets.length && (this.#offsets[n] as number) <= acked) n++;
    if (n > 0) for (const c of this.#offsets.splice(0, n)) this.#forced.delete(c);
  }

  /** The forced cuts, ascending: what the checkpoint registry keeps across a restart. */
  forced(): number[] {
    return this.#offsets.filter((c) => this.#forced.has(c));
  }

  /** A new generation of the file: offsets of the old content mean nothing in it. */
  clear(): void {
    this.#offsets.length = 0;
    this.#forced.clear();
  }

  /** Whether a record sent earlier ended at `offset` (the next line must start a new record). */
  endsAt(offset: number): boolean {
    return this.#offsets.includes(offset);
  }

  /**
   * Splits each line that a cut falls inside (a partial line sent unterminated, later completed)
   * into the part sent then, unterminated, and the rest. A cut inside the truncated tail of a too
   * long line is left alone: that line's bytes were never shipped whole anyway.
   */
  split(lines: Line[]): Line[] {
    if (this.#offsets.length === 0 || lines.length === 0) return lines;
    const from = (lines[0] as Line).offset;
    const to = lineEnd(lines[lines.length - 1] as Line);
    if (!this.#offsets.some((c) => c > from && c < to)) return lines;
    const out: Line[] = [];
    for (const line of lines) {
      let rest = line;
      for (const cut of this.#offsets) {
        const at = cut - rest.offset;
        if (at <= 0 || at >= rest.content.length) continue;
        out.push({
          offset: rest.offset,
          content: rest.content.subarray(0, at),
          terminatorLength: 0,
          truncatedBytes: 0,
        });
        rest = { ...rest, offset: cut, content: rest.content.subarray(at) };
      }
      out.push(rest);
    }
    return out;
  }
}
