import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LoadedServiceTls } from '../../../common/security/index.js';

/** Options of the REST client (see HbaseSinkConfig for the meanings). */
export interface HbaseRestClientOptions {
  /** http(s)://host:port of the gateway. */
  url: string;
  /** Timeout of one request, connect to last byte (ms). */
  timeoutMs: number;
  /** https only. */
  tls?: LoadedServiceTls;
  /** `Authorization` header value (Basic ...). */
  authorization?: string;
  /** Sockets kept open to the gateway. Default: 32. */
  maxSockets?: number;
}

/** An HTTP answer other than the expected one; mapped by toRelayError. */
export class HbaseHttpError extends Error {
  readonly status: number;
  /** The first line or two of the body (the gateway puts the Java exception there). */
  readonly reason: string;
  readonly what: string;

  constructor(what: string, status: number, body: Buffer) {
    const reason = bodyReason(body);
    super(`${what}: HTTP ${status}${reason ? ` ${reason}` : ''}`);
    this.name = 'HbaseHttpError';
    this.status = status;
    this.reason = reason;
    this.what = what;
  }
}

/** A request that got no answer in time. */
export class HbaseTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

/** The gateway's error body without the Java stack: "Not found" + the exception line. */
function bodyReason(body: Buffer): string {
  return body
    .toString('utf8', 0, 2000)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('at '))
    .slice(0, 2)
    .join(': ')
    .slice(0, 500);
}

/** Cap on a response body read into memory (an error page; the sink reads no data). */
const MAX_BODY_BYTES = 1024 * 1024;

interface RawResponse {
  status: number;
  body: Buffer;
}

/**
 * The few REST gateway (Stargate) calls the HBase sink makes, over node:http with keep-alive
 * sockets (the approach of the WebHDFS client). Network failures reject with the socket's error
 * (code ECONNREFUSED, ECONNRESET, ETIMEDOUT...), unexpected statuses with HbaseHttpError; the
 * sink maps both with toRelayError.
 */
export class HbaseRestClient {
  readonly #base: URL;
  readonly #timeoutMs: number;
  readonly #authorization: string | undefined;
  readonly #agent: HttpAgent | HttpsAgent;
  readonly #https: boolean;

  constructor(options: HbaseRestClientOptions) {
    this.#base = new URL(options.url);
    this.#timeoutMs = options.timeoutMs;
    this.#authorization = options.authorization;
    this.#https = this.#base.protocol === 'https:';
    const agentOptions = {
      keepAlive: true,
      maxSockets: options.maxSockets ?? 32,
      // Idle sockets are dropped before Jetty's idle timeout (30 s) would reset them.
      timeout: 20_000,
    };
    this.#agent = this.#https
      ? new HttpsAgent({ ...agentOptions, ...(options.tls ?? {}) })
      : new HttpAgent(agentOptions);
  }

  /** true when the table exists (GET /<table>/schema: 200), false on 404. */
  async tableExists(table: string): Promise<boolean> {
    const what = `GET /${table}/schema`;
    const res = await this.#send('GET', `/${encodeURIComponent(table)}/schema`, what);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw new HbaseHttpError(what, res.status, res.body);
  }

  /**
   * Creates a table with the schema `body` (PUT /<table>/schema: 201). The gateway answers the
   * same for a table that exists (it then adds missing families): call it after tableExists
   * said no.
   */
  async createTable(table: string, body: Buffer): Promise<void> {
    const what = `PUT /${table}/schema`;
    const res = await this.#send('PUT', `/${encodeURIComponent(table)}/schema`, what, body);
    if (res.status === 200 || res.status === 201) return;
    throw new HbaseHttpError(what, res.status, res.body);
  }

  /** Writes rows (PUT /<table>/fakerow with a CellSetModel: 200). Idempotent for our rows. */
  async putRows(table: string, body: Buffer): Promise<void> {
    const what = `PUT /${table}/fakerow`;
    const res = await this.#send('PUT', `/${encodeURIComponent(table)}/fakerow`, what, body);
    if (res.status === 200) return;
    throw new HbaseHttpError(what, res.status, res.body);
  }

  close(): void {
    this.#agent.destroy();
  }

  /**
   * Every call here is idempotent (a re-sent PUT writes the same cells), so a keep-alive socket
   * that the gateway had closed before answering is retried once on a fresh one.
   */
  async #send(method: string, path: string, what: string, body?: Buffer): Promise<RawResponse> {
    try {
      return await this.#sendOnce(method, path, what, body);
    } catch (err) {
      if (err instanceof StaleSocket) return this.#sendOnce(method, path, what, body);
      throw err;
    }
  }

  #sendOnce(method: string, path: string, what: string, body?: Buffer): Promise<RawResponse> {
    const url = new URL(path, this.#base);
    const request = this.#https ? httpsRequest : httpRequest;
    return new Promise<RawResponse>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      };
      const headers: Record<string, string | number> = { accept: 'application/json' };
      if (body) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = body.length;
      }
      if (this.#authorization) headers['authorization'] = this.#authorization;
      const req = request(url, { method, agent: this.#agent, headers }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_BODY_BYTES) chunks.push(chunk);
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) });
        });
        res.on('error', (err) => fail(withWhat(err, what)));
      });
      const timer = setTimeout(() => {
        fail(new HbaseTimeoutError(`${what}: no answer within ${this.#timeoutMs} ms`));
        req.destroy();
      }, this.#timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (req.reusedSocket && err.code === 'ECONNRESET' && !settled) {
          settled = true;
          clearTimeout(timer);
          reject(new StaleSocket());
          return;
        }
        fail(withWhat(err, what));
      });
      req.end(body);
    });
  }
}

class StaleSocket extends Error {}

/** The socket error with the request in its message (its code kept). */
function withWhat(err: NodeJS.ErrnoException, what: string): NodeJS.ErrnoException {
  const wrapped: NodeJS.ErrnoException = new Error(`${what}: ${err.message}`, { cause: err });
  if (err.code !== undefined) wrapped.code = err.code;
  return wrapped;
}
