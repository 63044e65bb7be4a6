import type { SinkBatch } from '../sinks/sink.js';

/**
 * Per sink, per stream: the offset just past the last line the sink committed. A retransmitted
 * batch (the agent did not see our ack) or one that overlaps what was committed is cut down to
 * the lines at or after the mark, so a sink never receives a line twice from this collector.
 *
 * Kept in memory, within this collector; sharing marks across collectors is the cluster's job.
 * Bounded by MarkRetention: marks of streams idle for `streamIdleMs` (or superseded by a newer
 * generation of their file and idle for `supersededStreamIdleMs`) are forgotten.
 */
export class HighWaterMarks {
  readonly #marks = new Map<string, Map<string, number>>();

  get(sink: string, streamKey: string): number | undefined {
    return this.#marks.get(sink)?.get(streamKey);
  }

  /** Records that `sink` committed everything of the stream below `offset` (only moves forward). */
  advance(sink: string, streamKey: string, offset: number): void {
    let perSink = this.#marks.get(sink);
    if (!perSink) this.#marks.set(sink, (perSink = new Map()));
    const current = perSink.get(streamKey);
    if (current === undefined || offset > current) perSink.set(streamKey, offset);
  }

  /** Streams known to any sink (for metrics). */
  get streamCount(): number {
    let n = 0;
    for (const perSink of this.#marks.values()) n = Math.max(n, perSink.size);
    return n;
  }

  /** (sink, stream) marks held, over all sinks (for the gauge). */
  get size(): number {
    let n = 0;
    for (const perSink of this.#marks.values()) n += perSink.size;
    return n;
  }

  /** Forgets a stream everywhere (see MarkRetention for when). */
  forget(streamKey: string): void {
    for (const perSink of this.#marks.values()) perSink.delete(streamKey);
  }
}

/**
 * The part of `batch` that `sink` has not committed yet: the whole batch, a suffix of it, or
 * nothing (undefined), plus how many lines were dropped as duplicates.
 */
export function unseenPart(
  batch: SinkBatch,
  mark: number | undefined,
): { batch: SinkBatch | undefined; duplicates: number } {
  if (mark === undefined || batch.offsets.length === 0 || (batch.offsets[0] ?? 0) >= mark) {
    return { batch: batch.offsets.length === 0 ? undefined : batch, duplicates: 0 };
  }
  if (batch.endOffset <= mark) return { batch: undefined, duplicates: batch.offsets.length };
  // Offsets are increasing: find the first line at or after the mark.
  let lo = 0;
  let hi = batch.offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((batch.offsets[mid] ?? 0) < mark) lo = mid + 1;
    else hi = mid;
  }
  return {
    batch: { ...batch, lines: batch.lines.slice(lo), offsets: batch.offsets.slice(lo) },
    duplicates: lo,
  };
}
