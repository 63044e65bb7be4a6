/** How long the per-stream state of a stream that stopped sending is kept, in ms. */
export interface MarkRetentionOptions {
  /** A stream not heard from for this long is forgotten. */
  streamIdleMs: number;
  /**
   * A stream superseded by a newer generation of the same file (same agent and key path) is
   * forgotten once idle this long (never later than `streamIdleMs`).
   */
  supersededIdleMs: number;
}

/**
 * Decides which streams' dedup marks (and the rest of their per-stream state) a collector may
 * forget, so that a collector that sees streams come and go — every rotation of every file is a
 * new stream — does not keep one mark per stream for ever.
 *
 * Both lists are Maps in the order streams were last seen (a touch moves a stream to the end),
 * so a sweep looks only at the streams it forgets and stops at the first one still in use.
 */
export class MarkRetention {
  readonly #opts: MarkRetentionOptions;
  /** Every known stream → when it was last seen; least recently seen first. */
  readonly #seen = new Map<string, number>();
  /** Streams a newer generation of their file has replaced → last seen; same order. */
  readonly #superseded = new Map<string, number>();
  /** Agent and key path of a file → its newest stream, and back. */
  readonly #current = new Map<string, string>();
  readonly #fileOf = new Map<string, string>();

  constructor(opts: MarkRetentionOptions) {
    this.#opts = opts;
  }

  /** Streams tracked now. */
  get size(): number {
    return this.#seen.size;
  }

  /** A batch of `streamKey` (the file `agentId`, `keyPath`) arrived at `now`. */
  touch(streamKey: string, agentId: string, keyPath: string, now: number): void {
    this.#seen.delete(streamKey);
    this.#seen.set(streamKey, now);
    if (this.#superseded.has(streamKey)) {
      // An older generation still being read (rename rotation): its mark is still needed.
      this.#superseded.delete(streamKey);
      this.#superseded.set(streamKey, now);
      return;
    }
    const file = `${agentId}\u0000${keyPath}`;
    const previous = this.#current.get(file);
    if (previous === streamKey) return;
    this.#current.set(file, streamKey);
    this.#fileOf.set(streamKey, file);
    if (previous !== undefined && this.#seen.has(previous)) {
      this.#superseded.set(previous, this.#seen.get(previous) ?? now);
      this.#fileOf.delete(previous);
    }
  }

  /**
   * The streams to forget at `now`, removed from this list; `busy` ones (a batch of them being
   * processed) are kept for a later sweep.
   */
  sweep(now: number, busy: (streamKey: string) => boolean = () => false): string[] {
    const out: string[] = [];
    const supersededBefore = now - Math.min(this.#opts.supersededIdleMs, this.#opts.streamIdleMs);
    for (const [key, seen] of this.#superseded) {
      if (seen > supersededBefore) break;
      if (busy(key)) continue;
      this.#forget(key);
      out.push(key);
    }
    const idleBefore = now - this.#opts.streamIdleMs;
    for (const [key, seen] of this.#seen) {
      if (seen > idleBefore) break;
      if (busy(key)) continue;
      this.#forget(key);
      out.push(key);
    }
    return out;
  }

  #forget(key: string): void {
    this.#seen.delete(key);
    this.#superseded.delete(key);
    const file = this.#fileOf.get(key);
    if (file !== undefined) {
      this.#fileOf.delete(key);
      if (this.#current.get(file) === key) this.#current.delete(file);
    }
  }
}
