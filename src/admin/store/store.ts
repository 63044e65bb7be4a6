import mysql from 'mysql2/promise';
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { RelayError } from '../../common/errors/relay-error.js';
import { addKeyPathIndex, keyPathIndexName, schemaStatements } from '../schema/tables.js';
import type { MysqlTarget } from './mysql-url.js';
import {
  defaultKeyPath,
  validateId,
  validateIp,
  validateKeyPath,
  validateLogPath,
  validateServerName,
  validateStatus,
  validateTopic,
} from './validate.js';
import type { TailStatus } from './validate.js';

/** A row of `t_logagent_node`. */
export interface AdminNode {
  id: number;
  /** The etcd key this node's agent watches. */
  keyPath: string;
  serverName: string;
  ip: string;
  /** `YYYY-MM-DD HH:mm:ss`, UTC. */
  createTime: string;
}

/** A row of `t_logagent_tail`. */
export interface AdminTail {
  id: number;
  nodeId: number;
  /** An absolute file path or glob. */
  logPath: string;
  topic: string;
  /** `1` running, `0` stopped. */
  status: TailStatus;
  /** `YYYY-MM-DD HH:mm:ss`, UTC. */
  createTime: string;
}

/** What `nodes.add` needs; `keyPath` defaults to `/logagent/<ip>/tails`. */
export interface NewNode {
  ip: string;
  serverName?: string;
  keyPath?: string;
}

/** What `tails.add` needs; `status` defaults to `1` (running). */
export interface NewTail {
  nodeId: number;
  logPath: string;
  topic: string;
  status?: TailStatus;
}

/** Options of {@link Store.open}. */
export interface StoreOptions {
  /** How long to wait for a TCP connection before reporting the database unreachable (ms). */
  connectTimeoutMs?: number;
  /** Pool size; the CLI needs one connection, a server more. */
  connectionLimit?: number;
}

/** The time format of the `create_time` columns, in UTC so that every admin host agrees. */
export function formatCreateTime(date: Date = new Date()): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

// Errors of the socket rather than of the server: the database may come back, so retriable.
const unreachableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
]);
const rejectedCodes = new Set([
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_BAD_DB_ERROR',
]);

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

const nodeColumns = 'id, key_path, server_name, ip, create_time';
const tailColumns = 'id, log_path, topic, node_id, status, create_time';

function toNode(row: RowDataPacket): AdminNode {
  return {
    id: Number(row['id']),
    keyPath: String(row['key_path']),
    serverName: String(row['server_name']),
    ip: String(row['ip']),
    createTime: String(row['create_time']),
  };
}

function toTail(row: RowDataPacket): AdminTail {
  const status = String(row['status']);
  return {
    id: Number(row['id']),
    nodeId: Number(row['node_id']),
    logPath: String(row['log_path']),
    topic: String(row['topic']),
    // Rows written by other tools may hold anything; only `1` means running.
    status: status === '1' ? '1' : '0',
    createTime: String(row['create_time']),
  };
}

/**
 * The control plane's MySQL store: nodes and tails in the tables of DESIGN.md. Every statement
 * uses placeholders; no value is ever interpolated into SQL. Inputs are validated before they
 * reach the database, so a bad value is a clear {@link RelayError} and never a truncated column.
 *
 * Removing a node that still has tails is refused (ADMIN_NODE_HAS_TAILS): deleting what a host
 * collects should be an explicit step per tail, not a side effect.
 */
export class Store {
  readonly nodes: NodeStore;
  readonly tails: TailStore;

  /** `where` (host:port/db) names the database in error messages. */
  constructor(
    private readonly pool: Pool,
    readonly where: string,
  ) {
    this.nodes = new NodeStore(this);
    this.tails = new TailStore(this);
  }

  /** A pool for `target`; connects lazily, so an unreachable server shows on the first call. */
  static open(target: MysqlTarget, options: StoreOptions = {}): Store {
    const pool = mysql.createPool({
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password,
      database: target.database,
      connectionLimit: options.connectionLimit ?? 4,
      connectTimeout: options.connectTimeoutMs ?? 5000,
      // Matches the tables' collation so comparisons between columns and parameters never mix.
      charset: 'UTF8MB4_UNICODE_CI',
      timezone: 'Z',
      multipleStatements: false,
    });
    return new Store(pool, `${target.host}:${target.port}/${target.database}`);
  }

  /**
   * Creates the tables when missing and adds what older tables lack (the unique key path);
   * running it again changes nothing. Refused with ADMIN_DUPLICATE_KEY_PATH, naming the nodes,
   * while two nodes share a key path: which one keeps it is the operator's call.
   */
  async migrate(): Promise<void> {
    await this.run(async () => {
      for (const statement of schemaStatements) await this.pool.query(statement);
      const [indexes] = await this.pool.query<RowDataPacket[]>(
        `SELECT 1 FROM information_schema.statistics
         WHERE table_schema = DATABASE() AND table_name = 't_logagent_node' AND index_name = ?`,
        [keyPathIndexName],
      );
      if (indexes.length > 0) return;
      const [shared] = await this.pool.query<RowDataPacket[]>(
        `SELECT key_path, GROUP_CONCAT(id ORDER BY id SEPARATOR ', ') AS ids
         FROM t_logagent_node GROUP BY key_path COLLATE utf8mb4_bin HAVING COUNT(*) > 1
         ORDER BY MIN(id)`,
      );
      if (shared.length > 0) {
        const list = shared.map((r) => `nodes ${String(r['ids'])} share ${String(r['key_path'])}`);
        throw new RelayError(
          'ADMIN_DUPLICATE_KEY_PATH',
          `cannot make key paths unique in ${this.where}: ${list.join('; ')}. Each agent watches ` +
            'one key, so these nodes publish over each other; remove the extra nodes (their key ' +
            'stays published for the node that keeps it) or change their key_path, then run ' +
            '`logrelay admin migrate` again',
          { details: { shared: shared.map((r) => String(r['key_path'])) } },
        );
      }
      await this.pool.query(addKeyPathIndex);
    });
  }

  /** One round trip (`SELECT 1`): throws ADMIN_DB_UNREACHABLE and the like when it fails. */
  async ping(): Promise<void> {
    await this.run(() => this.pool.query('SELECT 1'));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Runs `fn`, turning driver errors into RelayErrors that name the database. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.translate(err);
    }
  }

  /** Runs `fn` in a transaction on one connection; rolls back on any error. */
  async transaction<T>(fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
    return this.run(async () => {
      const conn = await this.pool.getConnection();
      try {
        await conn.beginTransaction();
        const result = await fn(conn);
        await conn.commit();
        return result;
      } catch (err) {
        await conn.rollback().catch(() => undefined);
        throw err;
      } finally {
        conn.release();
      }
    });
  }

  /** Runs one statement on the pool. */
  async execute<T extends RowDataPacket[] | ResultSetHeader>(
    sql: string,
    params: (string | number)[],
  ): Promise<T> {
    return this.run(async () => {
      const [result] = await this.pool.execute<T>(sql, params);
      return result;
    });
  }

  private translate(err: unknown): RelayError {
    if (err instanceof RelayError) return err;
    const code = errorCode(err);
    const message = err instanceof Error ? err.message : String(err);
    const host = this.where.slice(0, this.where.lastIndexOf('/'));
    if (code && unreachableCodes.has(code)) {
      return new RelayError(
        'ADMIN_DB_UNREACHABLE',
        `cannot reach MySQL at ${host}: ${message || code}`,
        { retriable: true, cause: err, details: { code } },
      );
    }
    if (code && rejectedCodes.has(code)) {
      return new RelayError('ADMIN_DB_REJECTED', `MySQL at ${host} refused: ${message}`, {
        cause: err,
        details: { code },
      });
    }
    if (code === 'ER_NO_SUCH_TABLE') {
      return new RelayError(
        'ADMIN_DB_NOT_MIGRATED',
        `the control-plane tables are missing in ${this.where}; run \`logrelay admin migrate\` first`,
        { cause: err },
      );
    }
    return new RelayError('ADMIN_DB_ERROR', `MySQL ${this.where}: ${message}`, {
      cause: err,
      ...(code ? { details: { code } } : {}),
    });
  }
}

function unknownNode(id: number): RelayError {
  return new RelayError('ADMIN_UNKNOWN_NODE', `there is no node with id ${id}`, {
    details: { nodeId: id },
  });
}

function duplicateKeyPath(keyPath: string, holder: AdminNode, cause?: unknown): RelayError {
  return new RelayError(
    'ADMIN_DUPLICATE_KEY_PATH',
    `node ${holder.id} (ip ${holder.ip}) already uses key path ${keyPath}; each node needs its own ` +
      '(its agent watches it, and a second node would publish over the first)',
    { ...(cause === undefined ? {} : { cause }), details: { keyPath, nodeId: holder.id } },
  );
}

/** Nodes: the hosts to collect from. */
export class NodeStore {
  constructor(private readonly store: Store) {}

  async add(input: NewNode): Promise<AdminNode> {
    const ip = validateIp(input.ip);
    const serverName = validateServerName(input.serverName ?? '');
    const keyPath = validateKeyPath(input.keyPath ?? defaultKeyPath(ip));
    const createTime = formatCreateTime();
    // Checked first to name the node that has the key; the unique index decides races (and
    // databases not yet migrated get the same answer from this check).
    const holder = await this.withKeyPath(keyPath);
    if (holder) throw duplicateKeyPath(keyPath, holder);
    try {
      const result = await this.store.execute<ResultSetHeader>(
        'INSERT INTO t_logagent_node (key_path, server_name, ip, create_time) VALUES (?, ?, ?, ?)',
        [keyPath, serverName, ip, createTime],
      );
      return { id: result.insertId, keyPath, serverName, ip, createTime };
    } catch (err) {
      // The unique keys decide, so two admins adding the same host or key at once cannot both win.
      if (err instanceof RelayError && err.details?.['code'] === 'ER_DUP_ENTRY') {
        if (err.message.includes(keyPathIndexName)) {
          const winner = await this.withKeyPath(keyPath);
          if (winner) throw duplicateKeyPath(keyPath, winner, err);
        }
        throw new RelayError('ADMIN_DUPLICATE_NODE', `a node with ip ${ip} already exists`, {
          cause: err,
          details: { ip },
        });
      }
      throw err;
    }
  }

  /** The first node whose key path is exactly `keyPath` (byte for byte), if any. */
  async withKeyPath(keyPath: string): Promise<AdminNode | undefined> {
    const rows = await this.store.execute<RowDataPacket[]>(
      `SELECT ${nodeColumns} FROM t_logagent_node WHERE key_path COLLATE utf8mb4_bin = ? ORDER BY id LIMIT 1`,
      [keyPath],
    );
    const row = rows[0];
    return row ? toNode(row) : undefined;
  }

  async list(): Promise<AdminNode[]> {
    const rows = await this.store.execute<RowDataPacket[]>(
      `SELECT ${nodeColumns} FROM t_logagent_node ORDER BY id`,
      [],
    );
    return rows.map(toNode);
  }

  /** The node with `id`; ADMIN_UNKNOWN_NODE when there is none. */
  async get(id: number): Promise<AdminNode> {
    const nodeId = validateId(id, 'node id');
    const rows = await this.store.execute<RowDataPacket[]>(
      `SELECT ${nodeColumns} FROM t_logagent_node WHERE id = ?`,
      [nodeId],
    );
    const row = rows[0];
    if (!row) throw unknownNode(nodeId);
    return toNode(row);
  }

  /**
   * Deletes the node and returns it (so that its etcd key can be deleted too). Refused with
   * ADMIN_NODE_HAS_TAILS while the node has tails.
   */
  async remove(id: number): Promise<AdminNode> {
    const nodeId = validateId(id, 'node id');
    return this.store.transaction(async (conn) => {
      // Locking the node row serialises this with `tails.add`, which locks it too.
      const [rows] = await conn.execute<RowDataPacket[]>(
        `SELECT ${nodeColumns} FROM t_logagent_node WHERE id = ? FOR UPDATE`,
        [nodeId],
      );
      const row = rows[0];
      if (!row) throw unknownNode(nodeId);
      const [counts] = await conn.execute<RowDataPacket[]>(
        'SELECT COUNT(*) AS n FROM t_logagent_tail WHERE node_id = ?',
        [String(nodeId)],
      );
      const tails = Number(counts[0]?.['n'] ?? 0);
      if (tails > 0) {
        throw new RelayError(
          'ADMIN_NODE_HAS_TAILS',
          `node ${nodeId} still has ${tails} tail(s); remove them first`,
          { details: { nodeId, tails } },
        );
      }
      await conn.execute('DELETE FROM t_logagent_node WHERE id = ?', [nodeId]);
      return toNode(row);
    });
  }
}

/** Tails: what each node collects. */
export class TailStore {
  constructor(private readonly store: Store) {}

  async add(input: NewTail): Promise<AdminTail> {
    const nodeId = validateId(input.nodeId, 'node id');
    const logPath = validateLogPath(input.logPath);
    const topic = validateTopic(input.topic);
    const status = validateStatus(input.status ?? '1');
    const createTime = formatCreateTime();
    return this.store.transaction(async (conn) => {
      // The lock makes "no such path yet, insert it" atomic per node without a unique index
      // (the designed table has none, and its case-insensitive collation would be wrong for paths).
      const [nodes] = await conn.execute<RowDataPacket[]>(
        'SELECT id FROM t_logagent_node WHERE id = ? FOR UPDATE',
        [nodeId],
      );
      if (nodes.length === 0) throw unknownNode(nodeId);
      const [existing] = await conn.execute<RowDataPacket[]>(
        'SELECT id FROM t_logagent_tail WHERE node_id = ? AND log_path COLLATE utf8mb4_bin = ?',
        [String(nodeId), logPath],
      );
      if (existing[0]) {
        throw new RelayError(
          'ADMIN_DUPLICATE_TAIL',
          `node ${nodeId} already has a tail for ${logPath} (tail ${Number(existing[0]['id'])})`,
          { details: { nodeId, logPath } },
        );
      }
      const [result] = await conn.execute<ResultSetHeader>(
        'INSERT INTO t_logagent_tail (log_path, topic, node_id, status, create_time) VALUES (?, ?, ?, ?, ?)',
        [logPath, topic, String(nodeId), status, createTime],
      );
      return { id: result.insertId, nodeId, logPath, topic, status, createTime };
    });
  }

  /** Every tail, or a node's tails (ADMIN_UNKNOWN_NODE for a node that does not exist). */
  async list(filter: { nodeId?: number } = {}): Promise<AdminTail[]> {
    if (filter.nodeId === undefined) {
      const rows = await this.store.execute<RowDataPacket[]>(
        `SELECT ${tailColumns} FROM t_logagent_tail ORDER BY id`,
        [],
      );
      return rows.map(toTail);
    }
    const node = await this.store.nodes.get(filter.nodeId);
    const rows = await this.store.execute<RowDataPacket[]>(
      `SELECT ${tailColumns} FROM t_logagent_tail WHERE node_id = ? ORDER BY id`,
      [String(node.id)],
    );
    return rows.map(toTail);
  }

  /** The tail with `id`; ADMIN_UNKNOWN_TAIL when there is none. */
  async get(id: number): Promise<AdminTail> {
    const tailId = validateId(id, 'tail id');
    const rows = await this.store.execute<RowDataPacket[]>(
      `SELECT ${tailColumns} FROM t_logagent_tail WHERE id = ?`,
      [tailId],
    );
    const row = rows[0];
    if (!row) {
      throw new RelayError('ADMIN_UNKNOWN_TAIL', `there is no tail with id ${tailId}`, {
        details: { tailId },
      });
    }
    return toTail(row);
  }

  /** Sets `1` (running) or `0` (stopped); returns the updated tail. */
  async setStatus(id: number, status: TailStatus): Promise<AdminTail> {
    const value = validateStatus(status);
    const tail = await this.get(id);
    await this.store.execute<ResultSetHeader>(
      'UPDATE t_logagent_tail SET status = ? WHERE id = ?',
      [value, tail.id],
    );
    return { ...tail, status: value };
  }

  /** Deletes the tail and returns it (its node must be published again). */
  async remove(id: number): Promise<AdminTail> {
    const tail = await this.get(id);
    await this.store.execute<ResultSetHeader>('DELETE FROM t_logagent_tail WHERE id = ?', [
      tail.id,
    ]);
    return tail;
  }
}
