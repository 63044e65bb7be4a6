import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { RelayError } from '../errors/relay-error.js';
import { Component } from '../lifecycle/component.js';
import type { Logger } from '../logging/logger.js';
import type { OpsServerConfig } from './ops-config.js';

/**
 * A readiness check: returns true when ready, or a string saying why not. Checks must be cheap
 * and synchronous — they read state the component already keeps, they do not probe services.
 */
export type ReadinessCheck = () => true | string;

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; reason?: string }>;
}

/**
 * Serves `/metrics` (Prometheus text format), `/healthz` (the process is alive and its event
 * loop answers) and `/readyz` (every registered readiness check passes; 503 with the reasons
 * otherwise).
 */
export class OpsServer extends Component {
  readonly #config: OpsServerConfig;
  readonly #registry: Registry;
  readonly #log: Logger;
  readonly #checks = new Map<string, ReadinessCheck>();
  #server: Server | undefined;

  constructor(config: OpsServerConfig, registry: Registry, log: Logger) {
    super('ops-server');
    this.#config = config;
    this.#registry = registry;
    this.#log = log;
  }

  /** Adds (or replaces) a named readiness check. */
  addReadinessCheck(name: string, check: ReadinessCheck): void {
    this.#checks.set(name, check);
  }

  readiness(): ReadinessReport {
    const checks: ReadinessReport['checks'] = {};
    let ready = true;
    for (const [name, check] of this.#checks) {
      let result: true | string;
      try {
        result = check();
      } catch (err) {
        result = err instanceof Error ? err.message : String(err);
      }
      if (result === true) checks[name] = { ok: true };
      else {
        ready = false;
        checks[name] = { ok: false, reason: result };
      }
    }
    return { ready, checks };
  }

  /** The bound address, e.g. `http://127.0.0.1:9464`. Only valid while running. */
  get url(): string {
    const address = this.#server?.address() as AddressInfo | null | undefined;
    if (!address) throw new RelayError('LIFECYCLE', 'ops server is not listening');
    return `http://${this.#config.host}:${address.port}`;
  }

  protected async doStart(): Promise<void> {
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.#log.error({ err }, 'ops request failed');
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(
          new RelayError(
            'LISTEN_FAILED',
            `cannot listen on ${this.#config.host}:${this.#config.port}`,
            { cause: err },
          ),
        ),
      );
      server.listen(this.#config.port, this.#config.host, () => resolve());
    });
    this.#log.info({ url: this.url }, 'ops endpoint listening');
  }

  protected async doStop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server?.listening) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'application/json', JSON.stringify({ error: 'method not allowed' }));
      return;
    }
    switch (path) {
      case '/metrics':
        send(res, 200, this.#registry.contentType, await this.#registry.metrics());
        return;
      case '/healthz':
        send(res, 200, 'application/json', JSON.stringify({ status: 'ok' }));
        return;
      case '/readyz': {
        const report = this.readiness();
        send(res, report.ready ? 200 : 503, 'application/json', JSON.stringify(report));
        return;
      }
      default:
        send(res, 404, 'application/json', JSON.stringify({ error: 'not found' }));
    }
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}
