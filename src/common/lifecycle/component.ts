import { RelayError } from '../errors/relay-error.js';

export type ComponentState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * The lifecycle every source, sink, server and cluster client shares.
 *
 * - `start()` is idempotent; concurrent calls share one attempt. A failed start cleans up
 *   (runs `doStop`) before it rethrows, so a half-started component never leaks resources.
 * - `stop()` is idempotent, safe before `start()`, waits for a start in progress, and is where
 *   implementations flush. A stopped component may be started again.
 */
export abstract class Component {
  readonly name: string;
  #state: ComponentState = 'new';
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  protected constructor(name: string) {
    this.name = name;
  }

  get state(): ComponentState {
    return this.#state;
  }

  get running(): boolean {
    return this.#state === 'running';
  }

  /** Acquire resources and begin work. Should return quickly; long work runs in the background. */
  protected abstract doStart(): Promise<void>;
  /** Flush and release everything `doStart` acquired. Must tolerate a partial start. */
  protected abstract doStop(): Promise<void>;

  start(): Promise<void> {
    switch (this.#state) {
      case 'running':
        return Promise.resolve();
      case 'starting':
        return this.#starting ?? Promise.resolve();
      case 'stopping':
        return Promise.reject(
          new RelayError('LIFECYCLE', `${this.name}: cannot start while stopping`),
        );
      default:
        break;
    }
    this.#state = 'starting';
    this.#starting = (async () => {
      try {
        await this.doStart();
        this.#state = 'running';
      } catch (err) {
        this.#state = 'stopping';
        try {
          await this.doStop();
        } catch {
          // The start error is the one worth reporting; cleanup failures are secondary.
        }
        this.#state = 'stopped';
        throw err;
      } finally {
        this.#starting = undefined;
      }
    })();
    return this.#starting;
  }

  stop(): Promise<void> {
    if (this.#state === 'new' || this.#state === 'stopped') return Promise.resolve();
    if (this.#stopping) return this.#stopping;
    this.#stopping = (async () => {
      if (this.#starting) {
        try {
          await this.#starting;
        } catch {
          return; // the failed start already cleaned up
        }
      }
      if (this.#state !== 'running') return;
      this.#state = 'stopping';
      try {
        await this.doStop();
      } finally {
        this.#state = 'stopped';
      }
    })().finally(() => {
      this.#stopping = undefined;
    });
    return this.#stopping;
  }
}
