import { Gauge, type Registry } from 'prom-client';
import { PeriodicTask } from '../../common/lifecycle/periodic-task.js';
import type { Logger } from '../../common/logging/logger.js';
import type { Publisher } from '../publish/publisher.js';
import type { Store } from '../store/store.js';

/** The admin's view of its own dependencies, for `/readyz`, `/metrics` and the dashboard. */
export interface ServiceState {
  mysql: { up: boolean; error: string | null };
  etcd: { up: boolean; error: string | null };
}

/**
 * Checks MySQL (`SELECT 1`) and etcd (a read) on a timer, so readiness and the dashboard answer
 * from the last result instead of blocking a request on a dead service.
 */
export class ServiceProbe extends PeriodicTask {
  readonly #store: Store;
  readonly #publisher: Publisher;
  readonly #log: Logger;
  #state: ServiceState = {
    mysql: { up: false, error: 'not checked yet' },
    etcd: { up: false, error: 'not checked yet' },
  };

  /** @param intervalMs how often both are checked, in ms (default 5000) */
  constructor(
    store: Store,
    publisher: Publisher,
    log: Logger,
    registry?: Registry,
    intervalMs = 5000,
  ) {
    super('service-probe', intervalMs, true);
    this.#store = store;
    this.#publisher = publisher;
    this.#log = log;
    if (registry) {
      const up = (name: keyof ServiceState) => (this.#state[name].up ? 1 : 0);
      new Gauge({
        name: 'logrelay_admin_etcd_connected',
        help: '1 while the last etcd check of the admin succeeded.',
        registers: [registry],
        collect() {
          this.set(up('etcd'));
        },
      });
      new Gauge({
        name: 'logrelay_admin_mysql_up',
        help: '1 while the last MySQL check of the admin succeeded.',
        registers: [registry],
        collect() {
          this.set(up('mysql'));
        },
      });
    }
  }

  get services(): ServiceState {
    return this.#state;
  }

  protected async runOnce(): Promise<void> {
    const check = async (name: keyof ServiceState, fn: () => Promise<unknown>) => {
      try {
        await fn();
        return { up: true, error: null };
      } catch (err) {
        const error = err instanceof Error ? err.message.split('\n')[0]! : String(err);
        if (this.#state[name].up) this.#log.warn({ err, service: name }, `${name} unreachable`);
        return { up: false, error };
      }
    };
    const [mysql, etcd] = await Promise.all([
      check('mysql', () => this.#store.ping()),
      check('etcd', () => this.#publisher.ping()),
    ]);
    this.#state = { mysql, etcd };
  }
}
