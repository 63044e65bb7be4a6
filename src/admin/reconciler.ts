import { Component } from '../common/lifecycle/component.js';
import type { Logger } from '../common/logging/logger.js';
import type { AdminOperations } from './operations.js';

/**
 * Republishes every node from MySQL on a timer. MySQL is the truth: this repairs an etcd that
 * was wiped or restored from an old snapshot, a deleted key, and a publish lost while etcd was
 * down.
 */
export class Reconciler extends Component {
  readonly #ops: AdminOperations;
  readonly #intervalMs: number;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(ops: AdminOperations, intervalMs: number, log: Logger) {
    super('reconciler');
    this.#ops = ops;
    this.#intervalMs = intervalMs;
    this.#log = log;
  }

  /** One pass: every node's key rewritten from MySQL. */
  reconcile(): Promise<void> {
    this.#running ??= this.#ops
      .publish()
      .then(
        (results) => this.#log.debug({ nodes: results.length }, 'reconciled etcd with MySQL'),
        (err: unknown) => this.#log.warn({ err }, 'reconcile failed; will retry'),
      )
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  protected async doStart(): Promise<void> {
    this.#timer = setInterval(() => void this.reconcile(), this.#intervalMs);
  }

  protected async doStop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }
}
