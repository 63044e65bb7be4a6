/** Streams an agent has not sent for this long no longer count against its quota. */
export const STREAM_IDLE_MS = 10 * 60_000;

/**
 * `limits.maxStreamsPerAgent`: how many distinct streams (files) one agent may have active on
 * this collector. A batch of a new stream beyond it is answered retry-after (it waits in the
 * file) until older streams go idle.
 */
export class StreamQuota {
  readonly #max: number;
  readonly #idleMs: number;
  readonly #agents = new Map<string, Map<string, number>>();

  constructor(max: number, idleMs: number = STREAM_IDLE_MS) {
    this.#max = max;
    this.#idleMs = idleMs;
  }

  /** True when the stream may send now (it is known, or there is room for it). */
  admit(agent: string, streamKey: string, now: number): boolean {
    let streams = this.#agents.get(agent);
    if (!streams) {
      streams = new Map();
      this.#agents.set(agent, streams);
    }
    if (streams.has(streamKey)) {
      streams.set(streamKey, now);
      return true;
    }
    if (streams.size >= this.#max) {
      for (const [key, seen] of streams) if (now - seen > this.#idleMs) streams.delete(key);
      if (streams.size >= this.#max) return false;
    }
    streams.set(streamKey, now);
    return true;
  }
}
