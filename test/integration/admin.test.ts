import { Etcd3 } from 'etcd3';
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Publisher } from '../../src/admin/publish/publisher.js';
import { Store } from '../../src/admin/store/store.js';
import type { MysqlTarget } from '../../src/admin/store/mysql-url.js';
import { exitCodes } from '../../src/cli.js';
import type { RelayError } from '../../src/common/errors/relay-error.js';
import { runCli } from '../helpers/cli.js';
import { endpoint, requireService, services } from '../helpers/services.js';
import { uniqueName } from '../helpers/unique.js';

// DESIGN.md "Control plane": the tables as the original design has them.
const designedColumns = {
  t_logagent_node: [
    ['id', 'int'],
    ['key_path', 'varchar(255)'],
    ['server_name', 'varchar(255)'],
    ['ip', 'varchar(16)'],
    ['create_time', 'varchar(32)'],
  ],
  t_logagent_tail: [
    ['id', 'int'],
    ['log_path', 'varchar(255)'],
    ['topic', 'varchar(255)'],
    ['node_id', 'varchar(16)'],
    ['status', 'varchar(32)'],
    ['create_time', 'varchar(32)'],
  ],
};

const createTimePattern = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;

/** The RelayError `promise` rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<RelayError> {
  try {
    await promise;
  } catch (err) {
    return err as RelayError;
  }
  throw new Error('expected a rejection');
}

describe('logrelay admin against real MariaDB and etcd', () => {
  // Keys live under a prefix unique to this run so that runs never see each other's values.
  const prefix = `/${uniqueName('logrelay_admin_it')}`;
  const databases: string[] = [];
  let root: mysql.Connection;
  let etcd: Etcd3;
  let target: MysqlTarget;
  let store: Store;
  let publisher: Publisher;

  async function freshDatabase(): Promise<MysqlTarget> {
    const database = uniqueName('logrelay_admin_it');
    await root.query(`CREATE DATABASE \`${database}\``);
    databases.push(database);
    const { host, port, user, password } = services.mysql;
    return { host, port, user, password, database };
  }

  /** Rows of both tables, read directly (not through the store under test). */
  async function snapshot(database = target.database) {
    const [nodes] = await root.query<mysql.RowDataPacket[]>(
      `SELECT * FROM \`${database}\`.t_logagent_node ORDER BY id`,
    );
    const [tails] = await root.query<mysql.RowDataPacket[]>(
      `SELECT * FROM \`${database}\`.t_logagent_tail ORDER BY id`,
    );
    return { nodes, tails };
  }

  beforeAll(async () => {
    await requireService('mysql');
    await requireService('etcd');
    const { host, port, user, password } = services.mysql;
    root = await mysql.createConnection({ host, port, user, password });
    etcd = new Etcd3({ hosts: `http://${endpoint('etcd')}`, dialTimeout: 3000 });
    target = await freshDatabase();
    store = Store.open(target);
    publisher = Publisher.connect([`http://${endpoint('etcd')}`], store);
  });

  afterEach(() => vi.restoreAllMocks());

  afterAll(async () => {
    publisher?.close();
    await store?.close();
    await etcd?.delete().prefix(`${prefix}/`);
    etcd?.close();
    for (const database of databases) await root.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await root?.end();
  });

  it('migrates a fresh database idempotently to exactly the designed columns', async () => {
    await store.migrate();
    await store.migrate();
    for (const [table, columns] of Object.entries(designedColumns)) {
      const [rows] = await root.execute<mysql.RowDataPacket[]>(
        `SELECT column_name AS name, column_type AS type FROM information_schema.columns
         WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position`,
        [target.database, table],
      );
      expect(
        rows.map((r) => [r['name'], String(r['type']).replace(/^int\(\d+\)$/, 'int')]),
      ).toEqual(columns);
    }
    const [tables] = await root.execute<mysql.RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = ?',
      [target.database],
    );
    expect(Number(tables[0]?.['n'])).toBe(2);
  });

  it('adds, lists and removes nodes', async () => {
    const a = await store.nodes.add({ ip: '10.1.0.1', serverName: 'web' });
    expect(a).toMatchObject({
      ip: '10.1.0.1',
      serverName: 'web',
      keyPath: '/logagent/10.1.0.1/tails',
    });
    expect(a.createTime).toMatch(createTimePattern);
    const b = await store.nodes.add({ ip: 'FE80::2', keyPath: `${prefix}/b` });
    expect(b).toMatchObject({ ip: 'fe80::2', serverName: '', keyPath: `${prefix}/b` });

    expect(await store.nodes.list()).toEqual([a, b]);
    const { nodes } = await snapshot();
    expect(nodes.map((n) => [n['id'], n['ip'], n['key_path'], n['create_time']])).toEqual([
      [a.id, '10.1.0.1', '/logagent/10.1.0.1/tails', a.createTime],
      [b.id, 'fe80::2', `${prefix}/b`, b.createTime],
    ]);

    const duplicate = await rejection(store.nodes.add({ ip: 'fe80::2' }));
    expect(duplicate.code).toBe('ADMIN_DUPLICATE_NODE');
    expect(duplicate.message).toBe('a node with ip fe80::2 already exists');

    await etcd.put(b.keyPath).value('[]');
    await publisher.unpublishNode(await store.nodes.remove(b.id));
    expect(await etcd.get(b.keyPath).string()).toBeNull();
    expect(await store.nodes.remove(a.id)).toEqual(a);
    expect(await store.nodes.list()).toEqual([]);

    expect((await rejection(store.nodes.remove(a.id))).code).toBe('ADMIN_UNKNOWN_NODE');
    expect((await rejection(store.nodes.add({ ip: '10.1.0.999' }))).code).toBe(
      'ADMIN_INVALID_INPUT',
    );
  });

  it('adds, stops, starts and removes tails, publishing the exact value after each change', async () => {
    const node = await store.nodes.add({ ip: '10.2.0.1', keyPath: `${prefix}/10.2.0.1/tails` });
    const value = async () => etcd.get(node.keyPath).string();

    expect(await publisher.publishNode(node)).toEqual({
      nodeId: node.id,
      key: node.keyPath,
      tails: 0,
    });
    expect(await value()).toBe('[]');

    const app = await store.tails.add({
      nodeId: node.id,
      logPath: '/var/log/app/*.log',
      topic: 'app',
    });
    expect(app).toMatchObject({ nodeId: node.id, status: '1' });
    expect(app.createTime).toMatch(createTimePattern);
    await publisher.publishNode(node);
    expect(await value()).toBe(
      `[{"id":${app.id},"log_path":"/var/log/app/*.log","topic":"app","status":"1"}]`,
    );

    const audit = await store.tails.add({
      nodeId: node.id,
      logPath: '/var/log/audit.log',
      topic: 'audit',
      status: '0',
    });
    await publisher.publishNode(node);
    expect(await value()).toBe(
      `[{"id":${app.id},"log_path":"/var/log/app/*.log","topic":"app","status":"1"},` +
        `{"id":${audit.id},"log_path":"/var/log/audit.log","topic":"audit","status":"0"}]`,
    );

    expect(await store.tails.setStatus(app.id, '0')).toMatchObject({ id: app.id, status: '0' });
    await publisher.publishNode(node);
    expect(await value()).toBe(
      `[{"id":${app.id},"log_path":"/var/log/app/*.log","topic":"app","status":"0"},` +
        `{"id":${audit.id},"log_path":"/var/log/audit.log","topic":"audit","status":"0"}]`,
    );

    await store.tails.setStatus(audit.id, '1');
    await publisher.publishNode(node);
    expect(await value()).toBe(
      `[{"id":${app.id},"log_path":"/var/log/app/*.log","topic":"app","status":"0"},` +
        `{"id":${audit.id},"log_path":"/var/log/audit.log","topic":"audit","status":"1"}]`,
    );

    expect(await store.tails.list({ nodeId: node.id })).toHaveLength(2);
    expect((await rejection(store.nodes.remove(node.id))).code).toBe('ADMIN_NODE_HAS_TAILS');

    expect(await store.tails.remove(app.id)).toMatchObject({ id: app.id });
    await publisher.publishNode(node);
    expect(await value()).toBe(
      `[{"id":${audit.id},"log_path":"/var/log/audit.log","topic":"audit","status":"1"}]`,
    );

    await store.tails.remove(audit.id);
    await publisher.publishNode(node);
    expect(await value()).toBe('[]');
    expect((await rejection(store.tails.remove(audit.id))).code).toBe('ADMIN_UNKNOWN_TAIL');
    expect((await rejection(store.tails.setStatus(audit.id, '1'))).code).toBe('ADMIN_UNKNOWN_TAIL');

    await publisher.unpublishNode(await store.nodes.remove(node.id));
    expect(await value()).toBeNull();
  });

  it('publishes every node at once', async () => {
    const x = await store.nodes.add({ ip: '10.3.0.1', keyPath: `${prefix}/x` });
    const y = await store.nodes.add({ ip: '10.3.0.2', keyPath: `${prefix}/y` });
    const t = await store.tails.add({ nodeId: y.id, logPath: '/y.log', topic: 'y' });
    const results = await publisher.publishAll();
    expect(results).toEqual(
      expect.arrayContaining([
        { nodeId: x.id, key: x.keyPath, tails: 0 },
        { nodeId: y.id, key: y.keyPath, tails: 1 },
      ]),
    );
    expect(await etcd.get(x.keyPath).string()).toBe('[]');
    expect(await etcd.get(y.keyPath).string()).toBe(
      `[{"id":${t.id},"log_path":"/y.log","topic":"y","status":"1"}]`,
    );
    await store.tails.remove(t.id);
    await store.nodes.remove(x.id);
    await store.nodes.remove(y.id);
  });

  it('refuses bad tails with clear errors and leaves the tables unchanged', async () => {
    const node = await store.nodes.add({ ip: '10.4.0.1', keyPath: `${prefix}/10.4.0.1` });
    const first = await store.tails.add({ nodeId: node.id, logPath: '/var/log/a.log', topic: 'a' });
    const before = await snapshot();

    // Thunks: each call starts only when awaited, so none rejects unobserved.
    const cases: [() => Promise<unknown>, string, RegExp][] = [
      [
        () => store.tails.add({ nodeId: 999_999, logPath: '/var/log/a.log', topic: 'a' }),
        'ADMIN_UNKNOWN_NODE',
        /there is no node with id 999999/,
      ],
      [
        () => store.tails.add({ nodeId: node.id, logPath: '/var/log/a.log', topic: 'other' }),
        'ADMIN_DUPLICATE_TAIL',
        new RegExp(`node ${node.id} already has a tail for /var/log/a.log \\(tail ${first.id}\\)`),
      ],
      [
        () => store.tails.add({ nodeId: node.id, logPath: 'var/log/a.log', topic: 'a' }),
        'ADMIN_INVALID_INPUT',
        /relative/,
      ],
      [
        () => store.tails.add({ nodeId: node.id, logPath: '/var/log/[a.log', topic: 'a' }),
        'ADMIN_INVALID_INPUT',
        /not a valid glob: unclosed \[/,
      ],
      [
        () =>
          store.tails.add({ nodeId: node.id, logPath: '/var/log/../../etc/shadow', topic: 'a' }),
        'ADMIN_INVALID_INPUT',
        /\.\. segments/,
      ],
      [
        () =>
          store.tails.add({ nodeId: node.id, logPath: '/b.log', topic: "a'; DROP TABLE x; --" }),
        'ADMIN_INVALID_INPUT',
        /topic/,
      ],
      [() => store.tails.list({ nodeId: 999_999 }), 'ADMIN_UNKNOWN_NODE', /999999/],
    ];
    for (const [call, code, message] of cases) {
      const err = await rejection(call());
      expect(err.code).toBe(code);
      expect(err.message).toMatch(message);
    }
    expect(await snapshot()).toEqual(before);

    // Paths are case-sensitive even though the column's collation is not.
    const upper = await store.tails.add({ nodeId: node.id, logPath: '/var/log/A.log', topic: 'a' });
    await store.tails.remove(upper.id);
    await store.tails.remove(first.id);
    await store.nodes.remove(node.id);
  });

  it('stores SQL-injection strings as plain data', async () => {
    const hostile = "x'); DROP TABLE t_logagent_tail; --";
    const node = await store.nodes.add({
      ip: '10.5.0.1',
      serverName: hostile,
      keyPath: `${prefix}/${hostile}`,
    });
    const path = `/var/log/${hostile}" OR 1=1 #`;
    const tail = await store.tails.add({ nodeId: node.id, logPath: path, topic: 'inj' });

    const { nodes, tails } = await snapshot();
    expect(nodes).toEqual([
      expect.objectContaining({
        id: node.id,
        server_name: hostile,
        key_path: `${prefix}/${hostile}`,
      }),
    ]);
    expect(tails).toEqual([
      expect.objectContaining({
        id: tail.id,
        log_path: path,
        node_id: String(node.id),
        status: '1',
      }),
    ]);
    const [tables] = await root.execute<mysql.RowDataPacket[]>(
      'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? ORDER BY 1',
      [target.database],
    );
    expect(tables.map((t) => t['name'])).toEqual(['t_logagent_node', 't_logagent_tail']);

    await publisher.publishNode(node);
    expect(JSON.parse((await etcd.get(node.keyPath).string()) ?? 'null')).toEqual([
      { id: tail.id, log_path: path, topic: 'inj', status: '1' },
    ]);
    await store.tails.remove(tail.id);
    await publisher.unpublishNode(await store.nodes.remove(node.id));
  });

  it('names an unreachable database and an unreachable etcd', async () => {
    const dead = Store.open({ ...target, port: 1 });
    try {
      const err = await rejection(dead.nodes.list());
      expect(err.code).toBe('ADMIN_DB_UNREACHABLE');
      expect(err.retriable).toBe(true);
      expect(err.message).toContain('cannot reach MySQL at 127.0.0.1:1');
    } finally {
      await dead.close();
    }

    const node = await store.nodes.add({ ip: '10.6.0.1', keyPath: `${prefix}/10.6.0.1` });
    const deadEtcd = Publisher.connect(['http://127.0.0.1:1'], store, { callTimeoutMs: 2000 });
    try {
      const err = await rejection(deadEtcd.publishNode(node));
      expect(err.code).toBe('ADMIN_ETCD_UNREACHABLE');
      expect(err.retriable).toBe(true);
      expect(err.message).toContain('cannot reach etcd at http://127.0.0.1:1');
    } finally {
      deadEtcd.close();
      await store.nodes.remove(node.id);
    }
  });

  it('runs the real CLI: migrate, node add, tail add, tail list --json', async () => {
    const cli = await freshDatabase();
    const globals = [
      '--mysql',
      `mysql://${cli.user}@${cli.host}:${cli.port}/${cli.database}`,
      '--etcd',
      endpoint('etcd'),
    ];
    const key = `${prefix}/cli/10.7.0.1/tails`;

    const migrate = await runCli('admin', ...globals, 'migrate');
    expect(migrate).toMatchObject({ code: exitCodes.ok, stderr: '' });

    const nodeAdd = await runCli(
      'admin',
      ...globals,
      'node',
      'add',
      '--ip',
      '10.7.0.1',
      '--name',
      'web',
      '--key-path',
      key,
    );
    expect(nodeAdd).toMatchObject({ code: exitCodes.ok, stderr: '' });
    expect(nodeAdd.stdout).toContain(`node 1 added (ip 10.7.0.1, key ${key})`);
    expect(await etcd.get(key).string()).toBe('[]');

    // Global options are accepted after the subcommand too.
    const tailAdd = await runCli(
      'admin',
      'tail',
      'add',
      '--node',
      '1',
      '--path',
      '/var/log/web/*.log',
      '--topic',
      'web',
      ...globals,
    );
    expect(tailAdd).toMatchObject({ code: exitCodes.ok, stderr: '' });
    expect(await etcd.get(key).string()).toBe(
      '[{"id":1,"log_path":"/var/log/web/*.log","topic":"web","status":"1"}]',
    );

    const list = await runCli('admin', ...globals, 'tail', 'list', '--json');
    expect(list.code).toBe(exitCodes.ok);
    expect(JSON.parse(list.stdout)).toEqual([
      {
        id: 1,
        nodeId: 1,
        logPath: '/var/log/web/*.log',
        topic: 'web',
        status: '1',
        createTime: expect.stringMatching(createTimePattern),
      },
    ]);

    const bad = await runCli(
      'admin',
      ...globals,
      'tail',
      'add',
      '--node',
      '1',
      '--path',
      'x.log',
      '--topic',
      'web',
    );
    expect(bad.code).toBe(exitCodes.usage);
    expect(bad.stderr).toBe(
      'logrelay admin: log path x.log is relative; it must be absolute (start with /)\n',
    );
    const unknown = await runCli('admin', ...globals, 'tail', 'stop', '42');
    expect(unknown).toMatchObject({
      code: exitCodes.usage,
      stderr: 'logrelay admin: there is no tail with id 42\n',
    });
    const unreachable = await runCli(
      'admin',
      '--mysql',
      `mysql://root@127.0.0.1:1/${cli.database}`,
      'node',
      'list',
    );
    expect(unreachable.code).toBe(exitCodes.failure);
    expect(unreachable.stderr).toMatch(/^logrelay admin: cannot reach MySQL at 127\.0\.0\.1:1: /);
    expect(await snapshot(cli.database)).toMatchObject({ nodes: [{ id: 1 }], tails: [{ id: 1 }] });
  });
});
