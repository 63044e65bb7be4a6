import { request } from 'node:http';
import { Etcd3 } from 'etcd3';
import mysql from 'mysql2/promise';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminApiServer } from '../../src/admin/http/api-server.js';
import { AdminOperations } from '../../src/admin/operations.js';
import { Publisher } from '../../src/admin/publish/publisher.js';
import { Store } from '../../src/admin/store/store.js';
import { endpoint, requireService, services } from '../helpers/services.js';
import { uniqueName } from '../helpers/unique.js';

const token = 'test-token-0123456789';

interface Reply {
  status: number;
  body: string;
  json: unknown;
}

/** A raw node:http request, so that paths are sent exactly as written (never normalised). */
function send(
  base: string,
  method: string,
  path: string,
  options: { body?: string; type?: string | null; auth?: string | null } = {},
): Promise<Reply> {
  const headers: Record<string, string | number> = {};
  const auth = options.auth === undefined ? `Bearer ${token}` : options.auth;
  if (auth !== null) headers['authorization'] = auth;
  if (options.body !== undefined) {
    headers['content-length'] = Buffer.byteLength(options.body);
    const type = options.type === undefined ? 'application/json' : options.type;
    if (type !== null) headers['content-type'] = type;
  }
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const req = request({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body, json });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const injections = [
  "'; DROP TABLE t_logagent_tail; --",
  '1 OR 1=1',
  "' OR '1'='1",
  '1; DELETE FROM t_logagent_node; --',
  'Robert"); DROP TABLE t_logagent_node;--',
  "1' UNION SELECT id, key_path FROM t_logagent_node --",
];
const nonStrings: unknown[] = [{}, { a: 1 }, [], ['x'], 0, -1, 1.5, 1e308, true, false, null];
const longString = 'a'.repeat(100_000);

describe('logrelay admin HTTP API against real MariaDB and etcd', () => {
  const prefix = `/${uniqueName('logrelay_api_it')}`;
  const database = uniqueName('logrelay_api_it');
  let root: mysql.Connection;
  let etcd: Etcd3;
  let store: Store;
  let publisher: Publisher;
  let server: AdminApiServer;
  let base: string;

  async function snapshot() {
    const [nodes] = await root.query(`SELECT * FROM \`${database}\`.t_logagent_node ORDER BY id`);
    const [tails] = await root.query(`SELECT * FROM \`${database}\`.t_logagent_tail ORDER BY id`);
    return { nodes, tails };
  }

  const api = (method: string, path: string, options?: Parameters<typeof send>[3]) =>
    send(base, method, path, options);
  const post = (path: string, body: unknown) => api('POST', path, { body: JSON.stringify(body) });

  beforeAll(async () => {
    await requireService('mysql');
    await requireService('etcd');
    const { host, port, user, password } = services.mysql;
    root = await mysql.createConnection({ host, port, user, password });
    await root.query(`CREATE DATABASE \`${database}\``);
    etcd = new Etcd3({ hosts: `http://${endpoint('etcd')}`, dialTimeout: 3000 });
    store = Store.open({ host, port, user, password, database });
    await store.migrate();
    publisher = Publisher.connect([`http://${endpoint('etcd')}`], store);
    server = new AdminApiServer(
      { port: 0, token },
      new AdminOperations(store, publisher),
      pino({ level: 'silent' }),
    );
    await server.start();
    base = server.url;
  });

  afterAll(async () => {
    await server?.stop();
    publisher?.close();
    await store?.close();
    await etcd?.delete().prefix(`${prefix}/`);
    etcd?.close();
    await root?.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await root?.end();
  });

  it('binds 127.0.0.1 and answers /healthz', async () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await api('GET', '/healthz', { auth: null });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: 'ok' });
  });

  it('adds a node and a tail, stops, starts and removes it: the exact etcd value after each', async () => {
    const key = `${prefix}/happy`;
    const value = async () => etcd.get(key).string();
    const added = await post('/api/nodes', { ip: '10.20.0.1', serverName: 'web', keyPath: key });
    expect(added.status).toBe(201);
    const node = (added.json as { node: { id: number } }).node;
    expect(added.json).toMatchObject({
      node: { ip: '10.20.0.1', serverName: 'web', keyPath: key },
      published: { nodeId: node.id, key, tails: 0 },
    });
    expect(await value()).toBe('[]');

    const t = await post('/api/tails', {
      nodeId: node.id,
      logPath: '/var/log/a.log',
      topic: 'app',
    });
    expect(t.status).toBe(201);
    const tail = (t.json as { tail: { id: number } }).tail;
    const running = `[{"id":${tail.id},"log_path":"/var/log/a.log","topic":"app","status":"1"}]`;
    expect(await value()).toBe(running);

    expect((await api('POST', `/api/tails/${tail.id}/stop`)).status).toBe(200);
    expect(await value()).toBe(running.replace('"status":"1"', '"status":"0"'));
    expect((await api('POST', `/api/tails/${tail.id}/start`)).status).toBe(200);
    expect(await value()).toBe(running);

    const listed = await api('GET', `/api/tails?nodeId=${node.id}`, { auth: null });
    expect(listed.status).toBe(200);
    expect(listed.json).toMatchObject({ tails: [{ id: tail.id, status: '1', topic: 'app' }] });

    // Drift repaired by an explicit publish.
    await etcd.put(key).value('garbage');
    const republished = await api('POST', `/api/publish?nodeId=${node.id}`);
    expect(republished.status).toBe(200);
    expect(await value()).toBe(running);

    expect((await api('DELETE', `/api/nodes/${node.id}`)).status).toBe(409);
    expect((await api('DELETE', `/api/tails/${tail.id}`)).status).toBe(200);
    expect(await value()).toBe('[]');
    const removed = await api('DELETE', `/api/nodes/${node.id}`);
    expect(removed.status).toBe(200);
    expect(removed.json).toMatchObject({ unpublished: key });
    expect(await value()).toBeNull();
  });

  it('refuses writes without the right token and leaves the tables unchanged; reads need none', async () => {
    const node = await store.nodes.add({ ip: '10.20.0.2', keyPath: `${prefix}/auth` });
    const tail = await store.tails.add({ nodeId: node.id, logPath: '/var/log/b.log', topic: 't' });
    const before = await snapshot();
    const writes: [string, string, string | undefined][] = [
      ['POST', '/api/nodes', JSON.stringify({ ip: '10.20.0.3' })],
      ['POST', '/api/tails', JSON.stringify({ nodeId: node.id, logPath: '/x', topic: 't' })],
      ['POST', `/api/tails/${tail.id}/stop`, undefined],
      ['POST', `/api/tails/${tail.id}/start`, undefined],
      ['DELETE', `/api/tails/${tail.id}`, undefined],
      ['DELETE', `/api/nodes/${node.id}`, undefined],
      ['POST', '/api/publish', undefined],
    ];
    for (const [method, path, body] of writes) {
      for (const auth of [
        null,
        'Bearer wrong',
        `Bearer ${token}x`,
        token,
        'Basic abc',
        'Bearer ',
      ]) {
        const r = await api(method, path, { body, auth });
        expect(r.status, `${method} ${path} with ${String(auth)}`).toBe(401);
        expect(r.json).toMatchObject({ error: { code: 'ADMIN_UNAUTHORIZED' } });
        expect((r.json as { error: { message: string } }).error.message.length).toBeGreaterThan(0);
      }
    }
    expect(await snapshot()).toEqual(before);
    expect(await etcd.get(`${prefix}/auth`).string()).toBeNull();
    expect((await api('GET', '/api/nodes', { auth: null })).status).toBe(200);
    expect((await api('GET', '/api/tails', { auth: null })).status).toBe(200);
    await store.tails.remove(tail.id);
    await store.nodes.remove(node.id);
  });

  it('fuzz: every field of every write gets 4xx with a message and the tables stay exactly as they were', async () => {
    const key = `${prefix}/fuzz`;
    const node = await store.nodes.add({ ip: '10.20.0.9', serverName: 'fuzz', keyPath: key });
    const tail = await store.tails.add({ nodeId: node.id, logPath: '/var/log/f.log', topic: 'f' });
    await publisher.publishNode(node);
    const published = await etcd.get(key).string();
    const before = await snapshot();

    const validNode = { ip: '10.20.1.1', serverName: 'x', keyPath: `${prefix}/fuzz-new` };
    const validTail = { nodeId: node.id, logPath: '/var/log/other.log', topic: 'f', status: '1' };
    const pathTraversal = ['../../etc/passwd', '/var/log/../../etc/shadow', '/var/log/./a', '..'];
    const cases: { what: string; method: string; path: string; body?: string; type?: string }[] =
      [];
    const field = (
      path: string,
      valid: Record<string, unknown>,
      name: string,
      values: unknown[],
    ) => {
      for (const v of values) {
        cases.push({
          what: `${path} ${name}=${JSON.stringify(v)?.slice(0, 40)}`,
          method: 'POST',
          path,
          body: JSON.stringify({ ...valid, [name]: v }),
        });
      }
    };
    // Each value is invalid for its field (valid injection strings are the next test's subject).
    field('/api/nodes', validNode, 'ip', [
      ...nonStrings,
      ...injections,
      ...pathTraversal,
      longString,
      '',
      '10.0.0.256',
      '1234:5678:9abc:def0:1234:5678:9abc:def0',
      '10.20.0.9', // duplicate → 409
    ]);
    field('/api/nodes', validNode, 'serverName', [
      ...nonStrings,
      longString,
      'a'.repeat(256),
      'a\nb',
    ]);
    field('/api/nodes', validNode, 'keyPath', [
      ...nonStrings,
      ...injections,
      ...pathTraversal,
      '/logagent/../etc',
      longString,
      `/${'k'.repeat(255)}`,
      '/a\u0000b',
    ]);
    field('/api/tails', validTail, 'nodeId', [
      ...nonStrings,
      ...injections,
      String(node.id),
      longString,
      2 ** 31,
      999_999, // unknown node → 404
    ]);
    field('/api/tails', validTail, 'logPath', [
      ...nonStrings,
      ...injections,
      ...pathTraversal,
      longString,
      `/${'p'.repeat(255)}`,
      '',
      '/var/log/[a.log',
      '/var/log//a.log',
      '/var/log/f.log', // duplicate on the node → 409
    ]);
    field('/api/tails', validTail, 'topic', [
      ...nonStrings,
      ...injections,
      ...pathTraversal,
      longString,
      't'.repeat(250),
      '',
      'a b',
    ]);
    field('/api/tails', validTail, 'status', [
      ...nonStrings,
      ...injections,
      1,
      '2',
      'running',
      longString,
    ]);
    for (const [path, valid] of [
      ['/api/nodes', validNode],
      ['/api/tails', validTail],
    ] as const) {
      for (const body of [
        '{',
        '{"ip":',
        "'; DROP TABLE t_logagent_tail; --",
        '[]',
        '[{}]',
        '1',
        '"x"',
        'null',
        'true',
        '',
        '{}',
      ]) {
        cases.push({ what: `${path} body ${body}`, method: 'POST', path, body });
      }
      cases.push({
        what: `${path} unknown field`,
        method: 'POST',
        path,
        body: JSON.stringify({ ...valid, extra: 1 }),
      });
      cases.push({
        what: `${path} __proto__`,
        method: 'POST',
        path,
        body: `{"__proto__":{"x":1},${JSON.stringify(valid).slice(1)}`,
      });
      cases.push({
        what: `${path} text/plain`,
        method: 'POST',
        path,
        body: JSON.stringify(valid),
        type: 'text/plain',
      });
      cases.push({
        what: `${path} too large`,
        method: 'POST',
        path,
        body: JSON.stringify({ ...valid, pad: longString }),
      });
      cases.push({ what: `${path} bad utf-8`, method: 'POST', path, body: '{"ip":"\udc00"}' });
      cases.push({
        what: `${path} query`,
        method: 'POST',
        path: `${path}?x=1`,
        body: JSON.stringify(valid),
      });
    }
    const badIds = [
      'abc',
      '0',
      '-1',
      '1.5',
      '99999999999',
      '1%20OR%201%3D1',
      "1'%3B%20DROP%20TABLE%20t_logagent_tail",
      '..',
      '%2e%2e',
      '1e3',
      '0x1',
      '%201',
      '999999',
    ];
    for (const id of badIds) {
      cases.push({ what: `stop ${id}`, method: 'POST', path: `/api/tails/${id}/stop` });
      cases.push({ what: `start ${id}`, method: 'POST', path: `/api/tails/${id}/start` });
      cases.push({ what: `delete tail ${id}`, method: 'DELETE', path: `/api/tails/${id}` });
      cases.push({ what: `delete node ${id}`, method: 'DELETE', path: `/api/nodes/${id}` });
      cases.push({ what: `publish ${id}`, method: 'POST', path: `/api/publish?nodeId=${id}` });
    }
    for (const path of [
      `/api/tails/${tail.id}/stop`,
      `/api/tails/${tail.id}`,
      `/api/nodes/${node.id}`,
      '/api/publish',
    ]) {
      const method = path.endsWith('stop') || path === '/api/publish' ? 'POST' : 'DELETE';
      for (const body of [
        '{"status":"0"}',
        '[]',
        '1',
        'null',
        '{',
        JSON.stringify({ x: longString }),
      ]) {
        cases.push({ what: `${method} ${path} body ${body.slice(0, 20)}`, method, path, body });
      }
    }
    for (const path of [
      `/api/nodes/${node.id}/../../tails/${tail.id}`,
      '/api/../etc/passwd',
      `/api/tails/${tail.id}/stop/..`,
      '/api/nodes/',
      '/api/tails/1/restart',
      '/admin',
    ]) {
      cases.push({ what: `path ${path}`, method: 'DELETE', path });
    }
    cases.push({
      what: 'PUT nodes',
      method: 'PUT',
      path: '/api/nodes',
      body: JSON.stringify(validNode),
    });
    cases.push({
      what: 'PATCH tail',
      method: 'PATCH',
      path: `/api/tails/${tail.id}`,
      body: '{"status":"0"}',
    });
    cases.push({
      what: 'GET tails bad filter',
      method: 'GET',
      path: '/api/tails?nodeId=1%20OR%201%3D1',
    });
    cases.push({ what: 'GET tails unknown param', method: 'GET', path: '/api/tails?node_id=1' });
    cases.push({
      what: 'GET tails repeated',
      method: 'GET',
      path: `/api/tails?nodeId=${node.id}&nodeId=1`,
    });

    const failures: string[] = [];
    for (const c of cases) {
      const r = await api(c.method, c.path, {
        ...(c.body === undefined ? {} : { body: c.body }),
        ...(c.type === undefined ? {} : { type: c.type }),
      });
      const message = (r.json as { error?: { code?: unknown; message?: unknown } } | undefined)
        ?.error;
      if (
        r.status < 400 ||
        r.status >= 500 ||
        typeof message?.code !== 'string' ||
        typeof message.message !== 'string' ||
        message.message.length === 0
      ) {
        failures.push(`${c.what}: ${r.status} ${r.body.slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(cases.length).toBeGreaterThan(250);
    expect(await snapshot()).toEqual(before);
    expect(await etcd.get(key).string()).toBe(published);
  });

  it('stores SQL-injection strings that are valid values verbatim, as data', async () => {
    const created: { id: number; serverName: string; keyPath: string }[] = [];
    for (const [i, text] of injections.entries()) {
      const keyPath = `${prefix}/inj/${text.replace(/\.\.?(?=\/|$)/g, '_')}`;
      const r = await post('/api/nodes', { ip: `10.30.0.${i + 1}`, serverName: text, keyPath });
      expect(r.status, text).toBe(201);
      created.push({ ...(r.json as { node: { id: number } }).node, serverName: text, keyPath });
    }
    for (const c of created) {
      const [rows] = await root.execute<mysql.RowDataPacket[]>(
        `SELECT server_name, key_path FROM \`${database}\`.t_logagent_node WHERE id = ?`,
        [c.id],
      );
      expect(rows).toEqual([{ server_name: c.serverName, key_path: c.keyPath }]);
      expect(await etcd.get(c.keyPath).string()).toBe('[]');
    }
    const [tables] = await root.execute<mysql.RowDataPacket[]>(
      'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name',
      [database],
    );
    expect(tables.map((t) => t['name'])).toEqual(['t_logagent_node', 't_logagent_tail']);
    for (const c of created) expect((await api('DELETE', `/api/nodes/${c.id}`)).status).toBe(200);
  });
});
