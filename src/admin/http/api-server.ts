import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { RelayError } from '../../common/errors/relay-error.js';
import { Component } from '../../common/lifecycle/component.js';
import type { Logger } from '../../common/logging/logger.js';
import type { DashboardAsset } from '../dashboard/assets.js';
import type { ClusterMonitor } from '../dashboard/cluster-monitor.js';
import type { ServiceProbe } from '../dashboard/service-probe.js';
import type { AdminOperations } from '../operations.js';
import { AdminInputError, validateId } from '../store/validate.js';
import {
  BodyTooLargeError,
  defaultMaxBodyBytes,
  onlyFields,
  parseJsonObject,
  parseNewNode,
  parseNewTail,
  parseQuery,
} from './api-input.js';

/** The default port of `logrelay admin serve`. */
export const defaultAdminApiPort = 8080;

/** Configuration of {@link AdminApiServer}. */
export interface AdminApiConfig {
  /**
   * Interface to bind. Default 127.0.0.1: the API speaks plain HTTP, so exposing it beyond the
   * host should go through a TLS proxy.
   */
  host?: string;
  /** TCP port; 0 picks a free one. Default {@link defaultAdminApiPort} (8080). */
  port?: number;
  /** The bearer token every write must carry. Required and non-empty. */
  token: string;
  /** The largest request body accepted (bytes); larger ones get 413. Default 65536. */
  maxBodyBytes?: number;
}

/**
 * What `admin serve` adds to the JSON API: the dashboard's page and data, readiness and metrics.
 * Each is optional, so the API alone stays testable without ZooKeeper.
 */
export interface AdminApiExtras {
  /** The collector cluster from ZooKeeper: `/api/cluster`, `/api/history`. */
  monitor?: ClusterMonitor;
  /** MySQL and etcd reachability: `/readyz`, `/api/services`. */
  probe?: ServiceProbe;
  /** Served at `/metrics` (Prometheus text format). */
  registry?: Registry;
  /** The dashboard's static files by URL path (`/`, `/dashboard/app.js`, ...). */
  assets?: Map<string, DashboardAsset>;
}

// RelayError codes → HTTP status. Anything else is a server fault (500, message withheld).
const statusByCode: Record<string, number> = {
  ADMIN_INVALID_INPUT: 400,
  ADMIN_UNAUTHORIZED: 401,
  ADMIN_UNKNOWN_NODE: 404,
  ADMIN_UNKNOWN_TAIL: 404,
  ADMIN_NOT_FOUND: 404,
  ADMIN_METHOD_NOT_ALLOWED: 405,
  ADMIN_DUPLICATE_NODE: 409,
  ADMIN_DUPLICATE_TAIL: 409,
  ADMIN_DUPLICATE_KEY_PATH: 409,
  ADMIN_NODE_HAS_TAILS: 409,
  ADMIN_BODY_TOO_LARGE: 413,
  ADMIN_UNSUPPORTED_MEDIA_TYPE: 415,
  ADMIN_DB_UNREACHABLE: 503,
  ADMIN_DB_REJECTED: 503,
  ADMIN_DB_NOT_MIGRATED: 503,
  ADMIN_ETCD_UNREACHABLE: 503,
};

/** A request the router understood: the route's handler gets these. */
interface Request {
  params: string[];
  query: string;
  /** The parsed JSON body (`{}` when empty and the route allows it). */
  body: () => Promise<Record<string, unknown>>;
}

/** A route's answer: JSON `body`, or `raw` bytes of a given type (page, metrics). */
interface Reply {
  status: number;
  body?: unknown;
  raw?: { type: string; data: string | Buffer };
}

interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  /** Segments; `:id` matches any one segment, checked by the handler. */
  pattern: readonly string[];
  /** True when the body must be a non-empty JSON object; otherwise it may be empty. */
  needsBody?: boolean;
  handle: (req: Request) => Promise<Reply>;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function pathId(value: string | undefined, what: string): number {
  // The raw segment: validateId only accepts digits, so %-encoded tricks are refused too.
  return validateId(value ?? '', what);
}

/**
 * The control plane's HTTP API (issue 5): JSON in and out over node:http.
 *
 * - Reads (GET) are open; every write needs `Authorization: Bearer <token>`, compared in constant
 *   time. The token is checked before the body is read, so an unauthenticated client learns
 *   nothing about validation.
 * - Every body is a JSON object of known, correctly typed fields (./api-input.ts) whose values
 *   pass the same validation as the CLI's; anything else is a 4xx with a message.
 * - Every change goes through {@link AdminOperations}, which publishes the affected node to etcd
 *   at once, exactly as the CLI does.
 * - Errors are `{ "error": { "code", "message" } }`; unreachable MySQL or etcd is 503.
 */
export class AdminApiServer extends Component {
  readonly #host: string;
  readonly #port: number;
  readonly #tokenDigest: Buffer;
  readonly #maxBodyBytes: number;
  readonly #ops: AdminOperations;
  readonly #log: Logger;
  readonly #routes: Route[];
  readonly #extras: AdminApiExtras;
  #server: Server | undefined;

  constructor(
    config: AdminApiConfig,
    ops: AdminOperations,
    log: Logger,
    extras: AdminApiExtras = {},
  ) {
    super('admin-api');
    if (config.token.length === 0) {
      throw new AdminInputError('the admin API needs a non-empty bearer token');
    }
    this.#host = config.host ?? '127.0.0.1';
    this.#port = config.port ?? defaultAdminApiPort;
    // Digests have a fixed length, so timingSafeEqual never leaks the token's length either.
    this.#tokenDigest = digest(config.token);
    this.#maxBodyBytes = config.maxBodyBytes ?? defaultMaxBodyBytes;
    this.#ops = ops;
    this.#log = log;
    this.#extras = extras;
    this.#routes = [...this.#buildRoutes(), ...this.#operatorRoutes()];
  }

  /** The bound address, e.g. `http://127.0.0.1:8080`. Only valid while running. */
  get url(): string {
    const address = this.#server?.address() as AddressInfo | null | undefined;
    if (!address) throw new RelayError('LIFECYCLE', 'admin API is not listening');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  protected async doStart(): Promise<void> {
    const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.#log.error({ err }, 'admin API request failed');
        if (!res.headersSent) {
          sendJson(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
        } else res.end();
      });
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(
          new RelayError('LISTEN_FAILED', `cannot listen on ${this.#host}:${this.#port}`, {
            cause: err,
          }),
        ),
      );
      server.listen(this.#port, this.#host, () => resolve());
    });
    this.#log.info({ url: this.url }, 'admin API listening');
  }

  protected async doStop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server?.listening) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  }

  #buildRoutes(): Route[] {
    const ops = this.#ops;
    const noFields = async (req: Request) => onlyFields(await req.body(), []);
    const change = (status: number, c: Awaited<ReturnType<AdminOperations['addNode']>>) => ({
      status,
      body: { node: c.value, published: c.published ?? null },
    });
    return [
      {
        method: 'GET',
        pattern: ['healthz'],
        handle: async () => ({ status: 200, body: { status: 'ok' } }),
      },
      {
        method: 'GET',
        pattern: ['api', 'nodes'],
        handle: async (req) => {
          parseQuery(req.query, []);
          return { status: 200, body: { nodes: await ops.store.nodes.list() } };
        },
      },
      {
        method: 'POST',
        pattern: ['api', 'nodes'],
        needsBody: true,
        handle: async (req) => {
          parseQuery(req.query, []);
          return change(201, await ops.addNode(parseNewNode(await req.body())));
        },
      },
      {
        method: 'DELETE',
        pattern: ['api', 'nodes', ':id'],
        handle: async (req) => {
          parseQuery(req.query, []);
          const id = pathId(req.params[0], 'node id');
          await noFields(req);
          const c = await ops.removeNode(id);
          return {
            status: 200,
            body: {
              node: c.value,
              unpublished: c.unpublished ?? null,
              // Set only when another node (from before key paths were unique) keeps the key.
              ...(c.published ? { published: c.published } : {}),
            },
          };
        },
      },
      {
        method: 'GET',
        pattern: ['api', 'tails'],
        handle: async (req) => {
          const query = parseQuery(req.query, ['nodeId']);
          const nodeId = query.get('nodeId');
          const filter = nodeId === undefined ? {} : { nodeId: validateId(nodeId, 'nodeId') };
          return { status: 200, body: { tails: await ops.store.tails.list(filter) } };
        },
      },
      {
        method: 'POST',
        pattern: ['api', 'tails'],
        needsBody: true,
        handle: async (req) => {
          parseQuery(req.query, []);
          const c = await ops.addTail(parseNewTail(await req.body()));
          return { status: 201, body: { tail: c.value, published: c.published ?? null } };
        },
      },
      ...(['start', 'stop'] as const).map((action): Route => ({
        method: 'POST',
        pattern: ['api', 'tails', ':id', action],
        handle: async (req) => {
          parseQuery(req.query, []);
          const id = pathId(req.params[0], 'tail id');
          await noFields(req);
          const c = await ops.setTailStatus(id, action === 'start' ? '1' : '0');
          return { status: 200, body: { tail: c.value, published: c.published ?? null } };
        },
      })),
      {
        method: 'DELETE',
        pattern: ['api', 'tails', ':id'],
        handle: async (req) => {
          parseQuery(req.query, []);
          const id = pathId(req.params[0], 'tail id');
          await noFields(req);
          const c = await ops.removeTail(id);
          return { status: 200, body: { tail: c.value, published: c.published ?? null } };
        },
      },
      {
        method: 'POST',
        pattern: ['api', 'publish'],
        handle: async (req) => {
          const query = parseQuery(req.query, ['nodeId']);
          const nodeId = query.get('nodeId');
          const id = nodeId === undefined ? undefined : validateId(nodeId, 'nodeId');
          await noFields(req);
          return { status: 200, body: { published: await ops.publish(id) } };
        },
      },
    ];
  }

  /** Readiness, metrics and the dashboard (page and data), when `admin serve` provides them. */
  #operatorRoutes(): Route[] {
    const { monitor, probe, registry, assets } = this.#extras;
    const get = (pattern: string[], handle: () => Promise<Reply>): Route => ({
      method: 'GET',
      pattern,
      handle: async (req) => {
        parseQuery(req.query, []);
        return handle();
      },
    });
    const routes: Route[] = [
      get(['readyz'], async () => {
        const checks: Record<string, string> = {};
        if (probe) {
          for (const [name, s] of Object.entries(probe.services))
            checks[name] = s.up ? 'ok' : (s.error ?? 'down');
        }
        if (monitor) {
          const snap = monitor.snapshot;
          checks['zookeeper'] = snap.connected ? 'ok' : (snap.error ?? 'not read yet');
        }
        const ready = Object.values(checks).every((c) => c === 'ok');
        return {
          status: ready ? 200 : 503,
          body: { status: ready ? 'ready' : 'not ready', checks },
        };
      }),
      get(['api', 'services'], async () => ({
        status: 200,
        body: {
          mysql: probe?.services.mysql ?? null,
          etcd: probe?.services.etcd ?? null,
          zookeeper: monitor
            ? { up: monitor.snapshot.connected, error: monitor.snapshot.error }
            : null,
        },
      })),
      get(['api', 'cluster'], async () => {
        if (!monitor) throw noCluster();
        return { status: 200, body: monitor.snapshot };
      }),
      get(['api', 'history'], async () => {
        if (!monitor) throw noCluster();
        return { status: 200, body: { points: monitor.history } };
      }),
    ];
    if (registry) {
      routes.push(
        get(['metrics'], async () => ({
          status: 200,
          raw: { type: registry.contentType, data: await registry.metrics() },
        })),
      );
    }
    for (const [path, asset] of assets ?? []) {
      const pattern = path === '/' ? [] : path.split('/').slice(1);
      routes.push(get(pattern, async () => ({ status: 200, raw: asset })));
    }
    return routes;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const path = queryAt === -1 ? target : target.slice(0, queryAt);
    const query = queryAt === -1 ? '' : target.slice(queryAt + 1);
    // Raw segments, never normalised: `/api/nodes/1/../2` must not become `/api/nodes/2`.
    const segments = path.split('/').slice(1);
    if (segments.at(-1) === '') segments.pop();

    let bodyRead = false;
    try {
      const candidates = this.#routes.filter(
        (r) =>
          r.pattern.length === segments.length &&
          r.pattern.every((p, i) => p === ':id' || p === segments[i]),
      );
      if (candidates.length === 0) {
        throw new RelayError('ADMIN_NOT_FOUND', `no such resource: ${req.method ?? ''} ${path}`);
      }
      const route = candidates.find((r) => r.method === req.method);
      if (!route) {
        res.setHeader('allow', [...new Set(candidates.map((r) => r.method))].join(', '));
        throw new RelayError(
          'ADMIN_METHOD_NOT_ALLOWED',
          `method ${req.method ?? ''} is not allowed on ${path}`,
        );
      }
      if (route.method !== 'GET') this.#authorize(req);
      const params = route.pattern.flatMap((p, i) => (p === ':id' ? [segments[i] ?? ''] : []));
      const result = await route.handle({
        params,
        query,
        body: async () => {
          bodyRead = true;
          const raw = await readBody(req, this.#maxBodyBytes);
          return parseJsonObject(raw, req.headers['content-type'], route.needsBody !== true);
        },
      });
      if (route.method !== 'GET') {
        this.#log.info({ method: req.method, path, status: result.status }, 'admin change');
      }
      if (result.raw) sendRaw(res, result.status, result.raw.type, result.raw.data);
      else sendJson(res, result.status, result.body);
    } catch (e) {
      const error = RelayError.from(e);
      const status = statusByCode[error.code] ?? 500;
      if (status >= 500) this.#log.error({ err: e, method: req.method, path }, 'admin API error');
      // A 500 is our bug: its message may hold internals (SQL, stack), so it stays in the log.
      const message = status === 500 ? 'internal error; see the server log' : error.message;
      if (!bodyRead || error instanceof BodyTooLargeError) {
        // The body was not consumed: close the connection rather than parse what follows.
        res.setHeader('connection', 'close');
      }
      sendJson(res, status, { error: { code: error.code, message } });
      if (!bodyRead || error instanceof BodyTooLargeError) drain(req, this.#maxBodyBytes * 16);
    }
  }

  /** Throws ADMIN_UNAUTHORIZED unless the request carries the bearer token. */
  #authorize(req: IncomingMessage): void {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header);
    const given = digest(match?.[1] ?? '');
    if (!match || !timingSafeEqual(given, this.#tokenDigest)) {
      throw new RelayError(
        'ADMIN_UNAUTHORIZED',
        match ? 'the bearer token is wrong' : 'writes need an Authorization: Bearer <token> header',
      );
    }
  }
}

/** Reads the whole body, refusing more than `limit` bytes (by header or by count). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(new BodyTooLargeError(limit));
  // Events rather than for-await: leaving a for-await early destroys the socket, and the
  // client would then see a reset instead of the 413.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.off('end', onEnd);
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => resolve(Buffer.concat(chunks));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', reject);
  });
}

/**
 * Discards an unread body so that the client, still sending, gets the answer instead of a reset;
 * past `cap` bytes the connection is cut, so a huge upload cannot keep the server busy.
 */
function drain(req: IncomingMessage, cap: number): void {
  let seen = 0;
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > cap) req.socket.destroy();
  });
  req.on('error', () => undefined);
  req.resume();
}

function noCluster(): RelayError {
  return new RelayError(
    'ADMIN_NOT_FOUND',
    'no cluster to show: start `admin serve` with --zookeeper host:port',
  );
}

// The page runs only its own script and talks only to this server: a tail name or path holding
// markup cannot run code, and no other site can frame the buttons.
const pageHeaders = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function sendRaw(res: ServerResponse, status: number, type: string, data: string | Buffer): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(data),
    'cache-control': 'no-store',
    ...pageHeaders,
  });
  res.end(data);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}
