import { PeriodicTask } from '../common/lifecycle/periodic-task.js';
import type { Logger } from '../common/logging/logger.js';
import type { AdminOperations } from './operations.js';

/**
 * Republishes every node from MySQL on a timer. MySQL is the truth: this repairs an etcd that
 * was wiped or restored from an old snapshot, a deleted key, and a publish lost while etcd was
 * down.
 */
export class Reconciler extends PeriodicTask {
  readonly #ops: AdminOperations;
  readonly #log: Logger;

  constructor(ops: AdminOperations, intervalMs: number, log: Logger) {
    super('reconciler', intervalMs, false);
    this.#ops = ops;
    this.#log = log;
  }

  /** One pass: every node's key rewritten from MySQL. */
  reconcile(): Promise<void> {
    return this.runNow();
  }

  protected async runOnce(): Promise<void> {
    try {
      const results = await this.#ops.publish();
      this.#log.debug({ nodes: results.length }, 'reconciled etcd with MySQL');
    } catch (err) {
      this.#log.warn({ err }, 'reconcile failed; will retry');
    }
  }
}
