import { RelayError } from '../../common/errors/relay-error.js';

/**
 * The writes a sink has started and not finished, so that `stop()` can wait for them before it
 * closes the connection they use.
 */
export class InFlightWrites {
  readonly #pending = new Set<Promise<unknown>>();

  /** Tracks `write` until it settles and returns it unchanged. */
  track<T>(write: Promise<T>): Promise<T> {
    const settled = write.then(
      () => undefined,
      () => undefined,
    );
    this.#pending.add(settled);
    void settled.then(() => this.#pending.delete(settled));
    return write;
  }

  /** Resolves once every tracked write (including ones started meanwhile) has settled. */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }
}

/** The retriable error of a write to a sink that is not running (the agent sends it again). */
export function sinkNotRunning(kind: string, name: string, state: string): RelayError {
  return new RelayError('SINK_NOT_RUNNING', `${kind} sink ${name} is ${state}`, {
    retriable: true,
  });
}
