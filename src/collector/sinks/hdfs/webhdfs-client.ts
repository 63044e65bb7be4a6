import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { RelayError } from '../../../common/errors/relay-error.js';

/** One entry of GETFILESTATUS / LISTSTATUS (the fields logrelay uses). */
export interface HdfsFileStatus {
  /** Name within the listed folder; empty for GETFILESTATUS. */
  readonly pathSuffix: string;
  readonly type: 'FILE' | 'DIRECTORY' | 'SYMLINK';
  /** Bytes, as the NameNode knows them (a file being appended to may lag). */
  readonly length: number;
  /** ms since the epoch. */
  readonly modificationTime: number;
}

/**
 * The WebHDFS operations the HDFS sink needs: the narrow seam between the sink's logic and the
 * wire, replaced by an in-memory fake in unit tests.
 */
export interface WebHdfsApi {
  /** CREATE (overwrite=false) with the file's first bytes; rejects HDFS_FILE_EXISTS if it exists. */
  create(path: string, data: readonly Buffer[]): Promise<void>;
  /** APPEND the bytes at the end of an existing file. */
  append(path: string, data: readonly Buffer[]): Promise<void>;
  /** The file's status, or undefined when it does not exist. */
  getFileStatus(path: string): Promise<HdfsFileStatus | undefined>;
  /** A folder's entries, or undefined when it does not exist. */
  listStatus(path: string): Promise<HdfsFileStatus[] | undefined>;
  /** false when the source is missing or the destination exists. */
  rename(source: string, destination: string): Promise<boolean>;
  /** Shortens a file and waits until HDFS reports the new length (block recovery included). */
  truncateAndWait(path: string, newLength: number, timeoutMs: number): Promise<void>;
  /** false when there was nothing to delete. */
  delete(path: string, recursive?: boolean): Promise<boolean>;
  close(): void;
}

export interface WebHdfsClientOptions {
  /** NameNode HTTP address, e.g. http://127.0.0.1:9870. */
  namenodeUrl: string;
  /** `user.name` of every request (simple authentication). */
  user: string;
  /** Timeout of one HTTP request (each step of a two-step operation), in ms. */
  requestTimeoutMs: number;
  /** Sockets kept per host. Default: 32. */
  maxSockets?: number;
}

/** Exceptions after which the same request can succeed once HDFS has moved on. */
const RETRIABLE_EXCEPTIONS = new Set([
  'RetriableException',
  'StandbyException',
  'SafeModeException',
  'NotReplicatedYetException',
  'ObserverRetryOnActiveException',
  'ConnectException',
  'SocketTimeoutException',
]);

/** Another client holds the file's lease, or the NameNode is recovering it: wait, then retry. */
const LEASE_EXCEPTIONS = new Set([
  'AlreadyBeingCreatedException',
  'RecoveryInProgressException',
  'LeaseExpiredException',
]);

const PERMANENT_CODES: Record<string, string> = {
  AccessControlException: 'HDFS_ACCESS_DENIED',
  SecurityException: 'HDFS_ACCESS_DENIED',
  AuthorizationException: 'HDFS_ACCESS_DENIED',
  FileAlreadyExistsException: 'HDFS_FILE_EXISTS',
  FileNotFoundException: 'HDFS_NOT_FOUND',
  DSQuotaExceededException: 'HDFS_QUOTA',
  NSQuotaExceededException: 'HDFS_QUOTA',
  QuotaExceededException: 'HDFS_QUOTA',
};

/** Cap on a response body read into memory (LISTSTATUS of a big folder is the largest). */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

interface RawResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

interface SendOptions {
  body?: readonly Buffer[];
  /**
   * Repeat once, at once, when a reused keep-alive socket turns out closed by the server
   * before any answer. Only for requests without side effects: for the others an error must
   * reach the caller, which knows how to find out what happened.
   */
  idempotent: boolean;
}

/**
 * A small WebHDFS REST client over node:http. Not fetch: the DataNode answers uploads with an
 * unsolicited `100 Continue` that undici treats as a broken response.
 *
 * Every failure is a RelayError: `HDFS_UNAVAILABLE` (connection refused/reset, timeout),
 * `HDFS_SERVER` (other 5xx), `HDFS_RETRY` (Retriable/Standby/SafeMode...), `HDFS_LEASE`
 * (AlreadyBeingCreated/RecoveryInProgress/LeaseExpired) are retriable; `HDFS_ACCESS_DENIED`,
 * `HDFS_FILE_EXISTS`, `HDFS_NOT_FOUND`, `HDFS_QUOTA`, `HDFS_BAD_REQUEST` and `HDFS_PROTOCOL`
 * (an answer WebHDFS does not give) are not. The RemoteException's name is in the message.
 */
export class WebHdfsClient implements WebHdfsApi {
  readonly #base: URL;
  readonly #user: string;
  readonly #timeoutMs: number;
  readonly #httpAgent: HttpAgent;
  readonly #httpsAgent: HttpsAgent;

  constructor(options: WebHdfsClientOptions) {
    this.#base = new URL(options.namenodeUrl);
    this.#user = options.user;
    this.#timeoutMs = options.requestTimeoutMs;
    const agentOptions = {
      keepAlive: true,
      maxSockets: options.maxSockets ?? 32,
      // Idle sockets are dropped before the servers' own idle timeouts would reset them.
      timeout: 20_000,
    };
    this.#httpAgent = new HttpAgent(agentOptions);
    this.#httpsAgent = new HttpsAgent(agentOptions);
  }

  async create(path: string, data: readonly Buffer[]): Promise<void> {
    await this.#twoStep('PUT', 'CREATE', path, { overwrite: 'false' }, data, 201);
  }

  async append(path: string, data: readonly Buffer[]): Promise<void> {
    await this.#twoStep('POST', 'APPEND', path, {}, data, 200);
  }

  async getFileStatus(path: string): Promise<HdfsFileStatus | undefined> {
    const res = await this.#send('GET', this.#url(path, 'GETFILESTATUS'), { idempotent: true });
    if (res.status === 404) return undefined;
    this.#check(res, 200, 'GETFILESTATUS', path);
    const parsed = parseJson(res.body, 'GETFILESTATUS', path) as { FileStatus?: unknown };
    return toStatus(parsed.FileStatus, 'GETFILESTATUS', path);
  }

  async listStatus(path: string): Promise<HdfsFileStatus[] | undefined> {
    const res = await this.#send('GET', this.#url(path, 'LISTSTATUS'), { idempotent: true });
    if (res.status === 404) return undefined;
    this.#check(res, 200, 'LISTSTATUS', path);
    const parsed = parseJson(res.body, 'LISTSTATUS', path) as {
      FileStatuses?: { FileStatus?: unknown };
    };
    const list = parsed.FileStatuses?.FileStatus;
    if (!Array.isArray(list)) throw protocolError('LISTSTATUS', path, 'no FileStatuses');
    return list.map((entry: unknown) => toStatus(entry, 'LISTSTATUS', path));
  }

  async rename(source: string, destination: string): Promise<boolean> {
    const res = await this.#send('PUT', this.#url(source, 'RENAME', { destination }), {
      idempotent: false,
    });
    return this.#booleanResult(res, 'RENAME', source);
  }

  async mkdirs(path: string): Promise<boolean> {
    const res = await this.#send('PUT', this.#url(path, 'MKDIRS'), { idempotent: true });
    return this.#booleanResult(res, 'MKDIRS', path);
  }

  /**
   * TRUNCATE to `newLength`. true: done. false: the cut is inside the last block and HDFS
   * recovers that block in the background; until then the file cannot be appended to (see
   * truncateAndWait).
   */
  async truncate(path: string, newLength: number): Promise<boolean> {
    const res = await this.#send(
      'POST',
      this.#url(path, 'TRUNCATE', { newlength: String(newLength) }),
      { idempotent: false },
    );
    return this.#booleanResult(res, 'TRUNCATE', path);
  }

  async truncateAndWait(path: string, newLength: number, timeoutMs: number): Promise<void> {
    if (await this.truncate(path, newLength)) return;
    // Block recovery usually takes well under a second; poll until the NameNode shows the
    // new length, which is when the file takes appends again.
    const deadline = Date.now() + timeoutMs;
    let pollMs = 50;
    for (;;) {
      const status = await this.getFileStatus(path);
      if (status === undefined) throw new RelayError('HDFS_NOT_FOUND', `${path} vanished`);
      if (status.length === newLength) return;
      if (Date.now() >= deadline) {
        throw new RelayError(
          'HDFS_LEASE',
          `WebHDFS TRUNCATE ${path}: block recovery did not finish within ${timeoutMs} ms ` +
            `(length ${status.length}, want ${newLength})`,
          { retriable: true },
        );
      }
      await sleep(pollMs);
      pollMs = Math.min(pollMs * 2, 500);
    }
  }

  async delete(path: string, recursive = false): Promise<boolean> {
    const res = await this.#send(
      'DELETE',
      this.#url(path, 'DELETE', { recursive: String(recursive) }),
      { idempotent: true },
    );
    return this.#booleanResult(res, 'DELETE', path);
  }

  /** Reads a whole file (OPEN); meant for checks and tests, not for big files. */
  async read(path: string): Promise<Buffer | undefined> {
    const first = await this.#send('GET', this.#url(path, 'OPEN'), { idempotent: true });
    if (first.status === 404) return undefined;
    const res =
      first.status === 307 ? await this.#followRedirect('GET', 'OPEN', path, first, []) : first;
    if (res.status === 404) return undefined;
    this.#check(res, 200, 'OPEN', path);
    return res.body;
  }

  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  /**
   * CREATE and APPEND: the NameNode answers 307 with a DataNode address, which gets the bytes.
   * The Location is followed exactly as given (it carries the NameNode's own parameters).
   */
  async #twoStep(
    method: 'PUT' | 'POST',
    op: string,
    path: string,
    params: Record<string, string>,
    data: readonly Buffer[],
    expected: number,
  ): Promise<void> {
    const first = await this.#send(method, this.#url(path, op, params), { idempotent: true });
    this.#check(first, 307, op, path);
    const res = await this.#followRedirect(method, op, path, first, data);
    this.#check(res, expected, op, path);
  }

  async #followRedirect(
    method: string,
    op: string,
    path: string,
    redirect: RawResponse,
    data: readonly Buffer[],
  ): Promise<RawResponse> {
    const location = redirect.headers.location;
    if (!location) throw protocolError(op, path, '307 without Location');
    let target: URL;
    try {
      target = new URL(location, this.#base);
    } catch {
      throw protocolError(op, path, `bad Location ${location}`);
    }
    return this.#send(method, target, { body: data, idempotent: method === 'GET' });
  }

  #url(path: string, op: string, params: Record<string, string> = {}): URL {
    if (!path.startsWith('/')) {
      throw new RelayError('HDFS_BAD_REQUEST', `WebHDFS ${op}: path ${path} is not absolute`);
    }
    const encoded = path
      .split('/')
      .map((segment) => encodeURIComponent(segment))
      .join('/');
    const url = new URL(`/webhdfs/v1${encoded}`, this.#base);
    url.search = new URLSearchParams({ op, 'user.name': this.#user, ...params }).toString();
    return url;
  }

  #booleanResult(res: RawResponse, op: string, path: string): boolean {
    this.#check(res, 200, op, path);
    const parsed = parseJson(res.body, op, path) as { boolean?: unknown };
    if (typeof parsed.boolean !== 'boolean') throw protocolError(op, path, 'no boolean');
    return parsed.boolean;
  }

  #check(res: RawResponse, expected: number, op: string, path: string): void {
    if (res.status === expected) return;
    throw responseError(res, op, path);
  }

  async #send(method: string, url: URL, options: SendOptions): Promise<RawResponse> {
    try {
      return await this.#sendOnce(method, url, options.body);
    } catch (err) {
      if (options.idempotent && err instanceof StaleSocketError) {
        return this.#sendOnce(method, url, options.body);
      }
      throw err;
    }
  }

  #sendOnce(method: string, url: URL, body: readonly Buffer[] = []): Promise<RawResponse> {
    const https = url.protocol === 'https:';
    const request = https ? httpsRequest : httpRequest;
    let length = 0;
    for (const chunk of body) length += chunk.length;
    const what = `WebHDFS ${method} ${url.host}${url.pathname}?op=${url.searchParams.get('op') ?? ''}`;
    return new Promise<RawResponse>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      };
      const req = request(
        url,
        {
          method,
          agent: https ? this.#httpsAgent : this.#httpAgent,
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': length,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) {
              res.destroy();
              fail(protocolError(method, url.pathname, `response larger than ${MAX_BODY_BYTES} B`));
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks),
            });
          });
          res.on('error', (err) => fail(unavailable(what, err)));
        },
      );
      const timer = setTimeout(() => {
        fail(unavailable(what, new TimeoutError(`no answer within ${this.#timeoutMs} ms`)));
        req.destroy();
      }, this.#timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (req.reusedSocket && err.code === 'ECONNRESET' && !settled) {
          settled = true;
          clearTimeout(timer);
          reject(new StaleSocketError(what, err));
          return;
        }
        fail(unavailable(what, err));
      });
      if (body.length > 0) {
        req.cork();
        for (const chunk of body) req.write(chunk);
        req.uncork();
      }
      req.end();
    });
  }
}

class TimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

/** A keep-alive socket the server had closed; only this is retried inside the client. */
class StaleSocketError extends RelayError {
  constructor(what: string, cause: unknown) {
    super('HDFS_UNAVAILABLE', `${what}: connection reset`, { retriable: true, cause });
  }
}

function unavailable(what: string, err: unknown): RelayError {
  const code = (err as NodeJS.ErrnoException).code;
  const message = err instanceof Error ? err.message : String(err);
  return new RelayError('HDFS_UNAVAILABLE', `${what}: ${code ? `${code} ` : ''}${message}`, {
    retriable: true,
    cause: err,
  });
}

function protocolError(op: string, path: string, why: string): RelayError {
  return new RelayError('HDFS_PROTOCOL', `WebHDFS ${op} ${path}: unexpected answer: ${why}`);
}

interface RemoteException {
  exception: string;
  message: string;
}

function remoteException(body: Buffer): RemoteException | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as {
      RemoteException?: { exception?: unknown; message?: unknown };
    };
    const ex = parsed.RemoteException;
    if (!ex || typeof ex.exception !== 'string') return undefined;
    return { exception: ex.exception, message: typeof ex.message === 'string' ? ex.message : '' };
  } catch {
    return undefined;
  }
}

/** Maps a WebHDFS error answer to a RelayError (exported for unit tests). */
export function responseError(
  res: { status: number; body: Buffer },
  op: string,
  path: string,
): RelayError {
  const remote = remoteException(res.body);
  const name = remote?.exception;
  const text = remote
    ? `${remote.exception}: ${remote.message}`
    : `HTTP ${res.status} ${res.body.toString('utf8', 0, 200).trim()}`;
  const message = `WebHDFS ${op} ${path}: ${text}`;
  const details = { op, path, status: res.status, ...(name ? { exception: name } : {}) };
  let code: string;
  let retriable: boolean;
  if (name && LEASE_EXCEPTIONS.has(name)) {
    code = 'HDFS_LEASE';
    retriable = true;
  } else if (name && RETRIABLE_EXCEPTIONS.has(name)) {
    code = 'HDFS_RETRY';
    retriable = true;
  } else if (name && PERMANENT_CODES[name]) {
    code = PERMANENT_CODES[name];
    retriable = false;
  } else if (res.status === 401 || res.status === 403) {
    code = 'HDFS_ACCESS_DENIED';
    retriable = false;
  } else if (res.status === 404) {
    code = 'HDFS_NOT_FOUND';
    retriable = false;
  } else if (res.status >= 500 || res.status === 429 || res.status === 408) {
    // A DataNode pipeline failure, an overloaded or restarting server: worth another try.
    code = 'HDFS_SERVER';
    retriable = true;
  } else if (res.status >= 400) {
    code = 'HDFS_BAD_REQUEST';
    retriable = false;
  } else {
    code = 'HDFS_PROTOCOL';
    retriable = false;
  }
  return new RelayError(code, message, { retriable, details });
}

function parseJson(body: Buffer, op: string, path: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (parsed && typeof parsed === 'object') return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw protocolError(op, path, 'body is not a JSON object');
}

function toStatus(raw: unknown, op: string, path: string): HdfsFileStatus {
  const s = raw as Partial<Record<keyof HdfsFileStatus, unknown>> | undefined;
  if (!s || typeof s.length !== 'number' || typeof s.type !== 'string') {
    throw protocolError(op, path, 'malformed FileStatus');
  }
  return {
    pathSuffix: typeof s.pathSuffix === 'string' ? s.pathSuffix : '',
    type: s.type as HdfsFileStatus['type'],
    length: s.length,
    modificationTime: typeof s.modificationTime === 'number' ? s.modificationTime : 0,
  };
}
