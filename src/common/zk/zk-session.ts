import zookeeper from 'node-zookeeper-client';
import { RelayError } from '../errors/relay-error.js';
import { createLogger } from '../logging/logger.js';
import { connectionManagerPrototype, guardSocketData } from './socket-guard.js';

// Once per process, before any client connects: an unparseable reply must not kill it.
guardSocketData(connectionManagerPrototype(), (err) =>
  createLogger({ name: 'zookeeper-client' }).warn(
    { err },
    'ZooKeeper sent a reply the client cannot parse; reconnecting',
  ),
);

export const CreateMode = zookeeper.CreateMode;
export type ZkEvent = zookeeper.Event;
export type ZkStat = zookeeper.Stat;

/** ZooKeeper error codes (node-zookeeper-client `Exception` codes) that a retry may fix. */
const retriableCodes = new Set([
  zookeeper.Exception.CONNECTION_LOSS,
  zookeeper.Exception.OPERATION_TIMEOUT,
]);

/** A ZooKeeper failure as a RelayError: `ZK_NO_NODE`, `ZK_NODE_EXISTS`, `ZK_BAD_VERSION`, ... */
export class ZkError extends RelayError {
  /** The numeric ZooKeeper error code, when the server or client gave one. */
  readonly zkCode: number | undefined;

  constructor(operation: string, path: string, cause: unknown) {
    const zkCode =
      typeof (cause as { getCode?: unknown })?.getCode === 'function'
        ? (cause as { getCode(): number }).getCode()
        : undefined;
    const name =
      typeof (cause as { getName?: unknown })?.getName === 'function'
        ? (cause as { getName(): string }).getName()
        : 'ERROR';
    super(`ZK_${name}`, `zookeeper ${operation} ${path}: ${String(cause)}`, {
      retriable: zkCode !== undefined && retriableCodes.has(zkCode),
      cause,
    });
    this.zkCode = zkCode;
  }
}

export interface ZkSessionOptions {
  /** Session timeout requested from the server, in ms. Default: 10000. */
  sessionTimeoutMs?: number;
  /** How long `connect()` waits for the first SYNC_CONNECTED, in ms. Default: 10000. */
  connectTimeoutMs?: number;
  /**
   * Digest authentication. With it, the session authenticates as `username` and every node it
   * creates gets a creator-only ACL (other users and anonymous sessions get NO_AUTH).
   * Default: none (anonymous, world-open nodes).
   */
  auth?: { username: string; password: string };
  /**
   * Longest an operation may wait for its answer, in ms. The client queues requests while
   * disconnected and may never answer them; past this they fail (retriable). Default: the
   * session timeout.
   */
  operationTimeoutMs?: number;
}

/** One operation of a `multi`; `version` -1 (the default) means any version. */
export type ZkOp =
  | { op: 'create'; path: string; data: Buffer; mode?: number }
  | { op: 'set'; path: string; data: Buffer; version?: number }
  | { op: 'check'; path: string; version?: number }
  | { op: 'remove'; path: string; version?: number };

/** Everything, for the (authenticated) creator only: ZooKeeper's CREATOR_ALL_ACL. */
const CREATOR_ALL = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('auth', ''))];
/** Everything, for anyone: ZooKeeper's OPEN_ACL_UNSAFE. */
const OPEN = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('world', 'anyone'))];

/**
 * One ZooKeeper session with a promise API over node-zookeeper-client.
 *
 * A session that expired cannot be revived (the library's client is single-use after expiry),
 * so callers create a new ZkSession instead of reconnecting this one.
 */
export class ZkSession {
  readonly connectString: string;
  readonly client: zookeeper.Client;
  readonly #connectTimeoutMs: number;
  readonly #acls: zookeeper.ACL[];
  readonly #operationTimeoutMs: number;

  constructor(connectString: string, options: ZkSessionOptions = {}) {
    this.connectString = connectString;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.client = zookeeper.createClient(connectString, {
      sessionTimeout: options.sessionTimeoutMs ?? 10_000,
      spinDelay: 200,
      retries: 1,
    });
    // The client keeps the credentials and sends them again on every reconnect.
    if (options.auth)
      this.client.addAuthInfo(
        'digest',
        Buffer.from(`${options.auth.username}:${options.auth.password}`),
      );
    this.#acls = options.auth ? CREATOR_ALL : OPEN;
    this.#operationTimeoutMs = options.operationTimeoutMs ?? options.sessionTimeoutMs ?? 10_000;
  }

  /** Connects and waits for the session; fails with a retriable `ZK_CONNECT_TIMEOUT`. */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.removeListener('connected', onConnected);
        this.client.close();
        reject(
          new RelayError(
            'ZK_CONNECT_TIMEOUT',
            `zookeeper at ${this.connectString} did not answer within ${this.#connectTimeoutMs} ms`,
            { retriable: true },
          ),
        );
      }, this.#connectTimeoutMs);
      const onConnected = () => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once('connected', onConnected);
      this.client.connect();
    });
  }

  /** The session id as hex (stable for the life of the session). */
  get sessionId(): string {
    return this.client.getSessionId().toString('hex');
  }

  create(
    path: string,
    data: Buffer = Buffer.alloc(0),
    mode = CreateMode.PERSISTENT,
  ): Promise<string> {
    return this.#call('create', path, (cb) => this.client.create(path, data, this.#acls, mode, cb));
  }

  /** Creates `path` and missing parents as persistent nodes; fine when it exists. */
  mkdirp(path: string): Promise<string> {
    return this.#call('mkdirp', path, (cb) => this.client.mkdirp(path, this.#acls, cb));
  }

  getChildren(path: string, watcher?: (event: ZkEvent) => void): Promise<string[]> {
    return this.#call('getChildren', path, (cb) =>
      watcher ? this.client.getChildren(path, watcher, cb) : this.client.getChildren(path, cb),
    );
  }

  getData(
    path: string,
    watcher?: (event: ZkEvent) => void,
  ): Promise<{ data: Buffer; stat: ZkStat }> {
    return this.#call<{ data: Buffer; stat: ZkStat }>('getData', path, (done) => {
      const cb = (err: unknown, data: Buffer, stat: ZkStat) => done(err, { data, stat });
      if (watcher) this.client.getData(path, watcher, cb);
      else this.client.getData(path, cb);
    });
  }

  /** Conditional write: fails with `ZK_BAD_VERSION` unless the node is at `version` (-1: any). */
  setData(path: string, data: Buffer, version = -1): Promise<ZkStat> {
    return this.#call('setData', path, (cb) => this.client.setData(path, data, version, cb));
  }

  /** Resolves to the node's stat, or undefined when it does not exist. */
  exists(path: string, watcher?: (event: ZkEvent) => void): Promise<ZkStat | undefined> {
    return this.#call<ZkStat | null>('exists', path, (cb) =>
      watcher ? this.client.exists(path, watcher, cb) : this.client.exists(path, cb),
    ).then((stat) => stat ?? undefined);
  }

  /**
   * Writes `data` at `path` only while `guard` exists — the fencing write of a leader whose
   * guard is its own ephemeral election node: once its session is gone, so is the node, and the
   * write fails (ZK_NO_NODE) however late it arrives. `version` makes it conditional on the
   * node's version too (-1: any); `create` writes a new node instead of updating one.
   */
  guardedWrite(
    guard: string,
    path: string,
    data: Buffer,
    opts: { version?: number; create?: boolean } = {},
  ): Promise<void> {
    return this.#call<void>('guardedWrite', path, (done) => {
      const tx = this.client.transaction().check(guard);
      if (opts.create) tx.create(path, data, this.#acls, CreateMode.PERSISTENT);
      else tx.setData(path, data, opts.version ?? -1);
      tx.commit((err) => done(err, undefined));
    });
  }

  /**
   * Runs `ops` as one ZooKeeper multi: all of them apply or none does. Fails with the error of
   * the first op that could not apply (`ZK_BAD_VERSION`, `ZK_NO_NODE`, ...); a retriable error
   * (connection loss, timeout) leaves the outcome unknown to the caller.
   */
  multi(ops: readonly ZkOp[]): Promise<void> {
    const first = ops[0]?.path ?? '(empty)';
    return this.#call<void>('multi', first, (done) => {
      const tx = this.client.transaction();
      for (const op of ops) {
        switch (op.op) {
          case 'create':
            tx.create(op.path, op.data, this.#acls, op.mode ?? CreateMode.PERSISTENT);
            break;
          case 'set':
            tx.setData(op.path, op.data, op.version ?? -1);
            break;
          case 'check':
            tx.check(op.path, op.version ?? -1);
            break;
          case 'remove':
            tx.remove(op.path, op.version ?? -1);
            break;
        }
      }
      tx.commit((err) => done(err, undefined));
    });
  }

  /** The session's id and password: what a test needs to expire it from another client. */
  get credentials(): { id: Buffer; password: Buffer } {
    return { id: this.client.getSessionId(), password: this.client.getSessionPassword() };
  }

  remove(path: string, version = -1): Promise<void> {
    return this.#call('remove', path, (cb) =>
      this.client.remove(path, version, (err) => cb(err, undefined)),
    );
  }

  /** Closes the session; its ephemeral nodes disappear at once. Safe to call twice. */
  close(): void {
    this.client.close();
  }

  #call<T>(
    operation: string,
    path: string,
    run: (cb: (err: unknown, value: T) => void) => void,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new RelayError(
              'ZK_OPERATION_TIMEOUT',
              `zookeeper ${operation} ${path}: no answer within ${this.#operationTimeoutMs} ms`,
              { retriable: true },
            ),
          ),
        this.#operationTimeoutMs,
      );
      timer.unref();
      run((err, value) => {
        clearTimeout(timer);
        if (err) reject(new ZkError(operation, path, err));
        else resolve(value);
      });
    });
  }
}
