import { Component } from './component.js';

/**
 * A component that does one piece of work on a timer (republish, probe, poll): one run at a
 * time — a run asked for while one is under way shares it — and `stop` waits for the run in
 * progress. `runOnce` handles its own errors (log, record them); a throw is dropped.
 */
export abstract class PeriodicTask extends Component {
  readonly #intervalMs: number;
  readonly #runAtStart: boolean;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  /**
   * @param intervalMs time between runs, in ms
   * @param runAtStart run once inside `start` (so the first result is there when it returns)
   */
  protected constructor(name: string, intervalMs: number, runAtStart: boolean) {
    super(name);
    this.#intervalMs = intervalMs;
    this.#runAtStart = runAtStart;
  }

  /** The work of one run. */
  protected abstract runOnce(): Promise<void>;

  /** Runs now; concurrent calls share one run. */
  runNow(): Promise<void> {
    this.#running ??= this.runOnce()
      .catch(() => undefined)
      .finally(() => (this.#running = undefined));
    return this.#running;
  }

  protected async doStart(): Promise<void> {
    if (this.#runAtStart) await this.runNow();
    this.#timer = setInterval(() => void this.runNow(), this.#intervalMs);
  }

  protected async doStop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
