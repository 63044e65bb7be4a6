import { Etcd3 } from 'etcd3';
import mysql from 'mysql2/promise';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminApiServer } from '../../src/admin/http/api-server.js';
import { AdminOperations } from '../../src/admin/operations.js';
import { Publisher } from '../../src/admin/publish/publisher.js';
import { parseMysqlUrl } from '../../src/admin/store/mysql-url.js';
import { Store } from '../../src/admin/store/store.js';
import { exitCodes } from '../../src/cli.js';
import type { RelayError } from '../../src/common/errors/relay-error.js';
import { runCli } from '../helpers/cli.js';
import { scratchDatabase, type ScratchDatabase } from '../helpers/scratch-db.js';
import { endpoint, requireService, services } from '../helpers/services.js';
import { uniqueName } from '../helpers/unique.js';

const token = 'test-token-0123456789';

// t_logagent_node as releases before unique key paths created it, for the migration test.
const legacyNodeTable = `
CREATE TABLE t_logagent_node (
  id int NOT NULL AUTO_INCREMENT,
  key_path varchar(255) NOT NULL,
  server_name varchar(255) NOT NULL DEFAULT '',
  ip varchar(16) NOT NULL,
  create_time varchar(32) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  UNIQUE KEY uk_logagent_node_ip (ip)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`;

async function rejection(promise: Promise<unknown>): Promise<RelayError> {
  try {
    await promise;
  } catch (err) {
    return err as RelayError;
  }
  throw new Error('expected a rejection');
}

describe('two nodes can never share one key path (issue 12, item 3)', () => {
  const prefix = `/${uniqueName('logrelay_keypath_it')}`;
  const scratch: ScratchDatabase[] = [];
  let root: mysql.Connection;
  let etcd: Etcd3;

  /** A migrated database with its store, publisher and operations. */
  async function controlPlane(migrate = true) {
    const db = await scratchDatabase('logrelay_keypath_it');
    scratch.push(db);
    const store = Store.open(parseMysqlUrl(db.url));
    if (migrate) await store.migrate();
    const publisher = Publisher.connect([`http://${endpoint('etcd')}`], store);
    const ops = new AdminOperations(store, publisher);
    const close = async () => {
      publisher.close();
      await store.close();
    };
    return { db, store, publisher, ops, close };
  }

  const nodeRows = async (db: ScratchDatabase) =>
    (
      await root.query<mysql.RowDataPacket[]>(
        `SELECT id, ip, key_path FROM \`${db.name}\`.t_logagent_node ORDER BY id`,
      )
    )[0].map((r) => [r['id'], r['ip'], r['key_path']]);

  beforeAll(async () => {
    await requireService('mysql');
    await requireService('etcd');
    const { host, port, user, password } = services.mysql;
    root = await mysql.createConnection({ host, port, user, password });
    etcd = new Etcd3({ hosts: `http://${endpoint('etcd')}`, dialTimeout: 3000 });
  });

  afterAll(async () => {
    await etcd?.delete().prefix(`${prefix}/`);
    etcd?.close();
    for (const db of scratch) await db.drop();
    await root?.end();
  });

  it('refuses a second node on a key path, naming the node that has it; case counts', async () => {
    const { db, ops, close } = await controlPlane();
    try {
      const key = `${prefix}/store/tails`;
      const first = await ops.addNode({ ip: '10.30.0.1', keyPath: key });
      await ops.addTail({ nodeId: first.value.id, logPath: '/var/log/a.log', topic: 'a' });
      const published = await etcd.get(key).string();

      const refused = await rejection(ops.addNode({ ip: '10.30.0.2', keyPath: key }));
      expect(refused.code).toBe('ADMIN_DUPLICATE_KEY_PATH');
      expect(refused.message).toBe(
        `node ${first.value.id} (ip 10.30.0.1) already uses key path ${key}; each node needs its ` +
          'own (its agent watches it, and a second node would publish over the first)',
      );
      expect(await nodeRows(db)).toEqual([[first.value.id, '10.30.0.1', key]]);
      // Node 1's agent still sees its tail: nothing was published over it.
      expect(await etcd.get(key).string()).toBe(published);

      // etcd keys are bytes: another case is another key.
      const upper = `${prefix}/STORE/tails`;
      const other = await ops.addNode({ ip: '10.30.0.3', keyPath: upper });
      expect(other.value.keyPath).toBe(upper);
    } finally {
      await close();
    }
  });

  it('lets exactly one of 10 concurrent adds of one key path win', async () => {
    const { db, store, close } = await controlPlane();
    try {
      const key = `${prefix}/race/tails`;
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          store.nodes.add({ ip: `10.31.0.${i + 1}`, keyPath: key }),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const codes = results
        .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
        .map((r) => (r.reason as RelayError).code);
      expect(won).toHaveLength(1);
      expect(codes).toEqual(Array(9).fill('ADMIN_DUPLICATE_KEY_PATH'));
      expect((await nodeRows(db)).map((r) => r[2])).toEqual([key]);
    } finally {
      await close();
    }
  });

  it('answers POST /api/nodes with 409 and leaves the key as it was', async () => {
    const { db, ops, close } = await controlPlane();
    const server = new AdminApiServer({ port: 0, token }, ops, pino({ level: 'silent' }));
    await server.start();
    try {
      const key = `${prefix}/api/tails`;
      const post = (body: unknown) =>
        fetch(`${server.url}/api/nodes`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const first = await post({ ip: '10.32.0.1', keyPath: key });
      expect(first.status).toBe(201);
      const node = ((await first.json()) as { node: { id: number } }).node;
      await ops.addTail({ nodeId: node.id, logPath: '/var/log/api.log', topic: 'api' });
      const published = await etcd.get(key).string();
      expect(JSON.parse(published ?? '[]')).toHaveLength(1);

      const second = await post({ ip: '10.32.0.2', keyPath: key });
      expect(second.status).toBe(409);
      expect(await second.json()).toEqual({
        error: {
          code: 'ADMIN_DUPLICATE_KEY_PATH',
          message:
            `node ${node.id} (ip 10.32.0.1) already uses key path ${key}; each node needs its ` +
            'own (its agent watches it, and a second node would publish over the first)',
        },
      });
      expect(await etcd.get(key).string()).toBe(published);
      expect(await nodeRows(db)).toEqual([[node.id, '10.32.0.1', key]]);
    } finally {
      await server.stop();
      await close();
    }
  });

  it('refuses it in the CLI with the usage code, naming the node', async () => {
    const { db, close } = await controlPlane();
    await close();
    const globals = ['--mysql', db.url, '--etcd', endpoint('etcd')];
    const key = `${prefix}/cli/tails`;
    const add = (ip: string) =>
      runCli('admin', ...globals, 'node', 'add', '--ip', ip, '--key-path', key);
    expect((await add('10.33.0.1')).code).toBe(exitCodes.ok);
    expect(await add('10.33.0.2')).toEqual({
      code: exitCodes.usage,
      stdout: '',
      stderr:
        `logrelay admin: node 1 (ip 10.33.0.1) already uses key path ${key}; each node needs its ` +
        'own (its agent watches it, and a second node would publish over the first)\n',
    });
    expect(await nodeRows(db)).toEqual([[1, '10.33.0.1', key]]);
  });

  it('migrates an older database: refuses while nodes share a key, then adds the index', async () => {
    const { db, store, ops, close } = await controlPlane(false);
    try {
      await root.query(`USE \`${db.name}\``);
      await root.query(legacyNodeTable);
      const shared = `${prefix}/legacy/tails`;
      await root.query(
        'INSERT INTO t_logagent_node (key_path, ip) VALUES (?, ?), (?, ?), (?, ?), (?, ?)',
        [
          shared,
          '10.34.0.1',
          `${prefix}/legacy/own`,
          '10.34.0.2',
          shared,
          '10.34.0.3',
          shared,
          '10.34.0.4',
        ],
      );

      const refused = await rejection(store.migrate());
      expect(refused.code).toBe('ADMIN_DUPLICATE_KEY_PATH');
      expect(refused.message).toContain(`nodes 1, 3, 4 share ${shared}`);
      // The index is still missing, and the CLI says why with the usage code.
      const cli = await runCli('admin', '--mysql', db.url, 'migrate');
      expect(cli.code).toBe(exitCodes.usage);
      expect(cli.stderr).toContain(`nodes 1, 3, 4 share ${shared}`);

      // Node 1 keeps the key: removing 3 and 4 republishes node 1's tails there, never deletes it.
      await ops.addTail({ nodeId: 1, logPath: '/var/log/legacy.log', topic: 'legacy' });
      for (const id of [3, 4]) {
        const removed = await ops.removeNode(id);
        expect(removed.unpublished).toBeUndefined();
        expect(removed.published).toEqual({ nodeId: 1, key: shared, tails: 1 });
        expect(JSON.parse((await etcd.get(shared).string()) ?? 'null')).toEqual([
          { id: 1, log_path: '/var/log/legacy.log', topic: 'legacy', status: '1' },
        ]);
      }

      await store.migrate();
      await store.migrate();
      const [columns] = await root.query<mysql.RowDataPacket[]>(
        `SELECT column_type AS type, collation_name AS collation FROM information_schema.columns
         WHERE table_schema = ? AND table_name = 't_logagent_node' AND column_name = 'key_path'`,
        [db.name],
      );
      expect(columns.map((c) => [c['type'], c['collation']])).toEqual([
        ['varchar(255)', 'utf8mb4_bin'],
      ]);
      const [indexes] = await root.query<mysql.RowDataPacket[]>(
        `SELECT non_unique FROM information_schema.statistics
         WHERE table_schema = ? AND table_name = 't_logagent_node' AND index_name = 'uk_logagent_node_key_path'`,
        [db.name],
      );
      expect(indexes.map((i) => Number(i['non_unique']))).toEqual([0]);
      expect((await rejection(ops.addNode({ ip: '10.34.0.9', keyPath: shared }))).code).toBe(
        'ADMIN_DUPLICATE_KEY_PATH',
      );
    } finally {
      await close();
    }
  });
});
