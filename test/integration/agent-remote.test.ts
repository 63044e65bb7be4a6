import { appendFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { AdminApiServer } from '../../src/admin/http/api-server.js';
import { AdminOperations } from '../../src/admin/operations.js';
import { Reconciler } from '../../src/admin/reconciler.js';
import { Publisher } from '../../src/admin/publish/publisher.js';
import { parseMysqlUrl } from '../../src/admin/store/mysql-url.js';
import { Store } from '../../src/admin/store/store.js';
import {
  countLines,
  quietLog,
  readAllLines,
  startAgent,
  startCollector,
} from '../helpers/relay.js';
import { endpoint, requireService } from '../helpers/services.js';
import { runCli } from '../helpers/cli.js';
import { scratchDatabase, type ScratchDatabase } from '../helpers/scratch-db.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

// Issue 5: tails managed with `logrelay admin` reach the agent through etcd and are applied
// live — started, stopped and started again without loss or duplicates — and a tail outside
// the agent's local allowlist is refused.
describe('agent configured live from the control plane (MariaDB → etcd → agent)', () => {
  const ip = '10.9.8.7';
  const key = `/${uniqueName('logagent')}/${ip}/tails`;
  const etcd = new Etcd3({ hosts: `http://${endpoint('etcd')}` });
  const stops: (() => Promise<void>)[] = [];
  let db: ScratchDatabase;

  let printed = '';
  /** `logrelay admin ...` in-process; what it prints is kept in `printed`. */
  const admin = async (...args: string[]) => {
    const run = await runCli('admin', '--mysql', db.url, '--etcd', endpoint('etcd'), ...args);
    printed = run.stdout;
    return run.code;
  };

  beforeAll(async () => {
    await requireService('mysql');
    await requireService('etcd');
    db = await scratchDatabase('logrelay_remote');
  });

  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    await etcd
      .delete()
      .key(key)
      .catch(() => undefined);
    etcd.close();
    await db?.drop();
  });

  it('ships the tails added through admin, stops one within a second, resumes it from its checkpoint', async () => {
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const logs = join(dir, 'logs');
    const outside = join(dir, 'secret');
    await mkdir(logs);
    await mkdir(outside);
    const out = join(dir, 'out');
    const collector = await startCollector({
      id: 'c1',
      sinks: [{ type: 'file', name: 'out', directory: out, fsync: false }],
    });
    stops.push(() => collector.stop());

    expect(await admin('migrate')).toBe(0);
    expect(await admin('node', 'add', '--ip', ip, '--name', 'web', '--key-path', key)).toBe(0);
    const written: string[] = [];
    const write = async (file: string, from: number, n: number) => {
      const lines = Array.from({ length: n }, (_, i) => `${file}:${from + i}`);
      written.push(...lines);
      await appendFile(join(logs, `${file}.log`), lines.map((l) => `${l}\n`).join(''));
    };
    for (const f of ['a', 'b', 'c']) {
      await write(f, 0, 500);
      expect(
        await admin(
          'tail',
          'add',
          '--node',
          '1',
          '--path',
          join(logs, `${f}.log`),
          '--topic',
          `t-${f}`,
        ),
      ).toBe(0);
    }
    // A tail the control plane may not widen the agent to: outside the allowlist, and a
    // symlink inside it that leads outside.
    await writeFile(join(outside, 'shadow'), 'root:secret\n');
    await symlink(join(outside, 'shadow'), join(logs, 'escape.log'));
    expect(
      await admin(
        'tail',
        'add',
        '--node',
        '1',
        '--path',
        join(outside, 'shadow'),
        '--topic',
        'stolen',
      ),
    ).toBe(0);
    expect(
      await admin(
        'tail',
        'add',
        '--node',
        '1',
        '--path',
        join(logs, 'escape.log'),
        '--topic',
        'stolen',
      ),
    ).toBe(0);

    const agent: Agent = await startAgent({
      id: 'web',
      collectors: [collector.address],
      checkpoint: { path: join(dir, 'registry.json'), flushIntervalMs: 50 },
      remote: {
        etcd: { endpoints: [endpoint('etcd')], key },
        allow: [logs],
        statePath: join(dir, 'remote.json'),
        pollMs: 500,
      },
    });
    stops.push(() => agent.stop());
    await waitFor(async () => (await readAllLines(out)).length >= 1500, {
      timeoutMs: 15_000,
      what: '3 files shipped',
    });

    // The refused tails are reported back and shown by `admin tail list`.
    await waitFor(
      async () => {
        expect(await admin('tail', 'list', '--json')).toBe(0);
        const tails = JSON.parse(printed) as { id: number; refused?: string }[];
        return (
          tails
            .filter((t) => t.refused)
            .map((t) => t.id)
            .join(',') === '4,5'
        );
      },
      { timeoutMs: 5000, what: 'tails 4 and 5 shown as refused' },
    );
    const listed = JSON.parse(printed) as { id: number; refused?: string }[];
    expect(listed.find((t) => t.id === 4)?.refused).toContain('outside the allowed roots');
    expect(listed.find((t) => t.id === 5)?.refused).toContain('symlink');

    // The HTTP API, as an operator's tooling would use it.
    const store = Store.open(parseMysqlUrl(db.url));
    const publisher = Publisher.connect([`http://${endpoint('etcd')}`], store);
    const api = new AdminApiServer(
      { host: '127.0.0.1', port: 0, token: 'secret' },
      new AdminOperations(store, publisher),
      quietLog,
    );
    await api.start();
    stops.push(async () => {
      await api.stop();
      publisher.close();
      await store.close();
    });
    const post = (path: string) =>
      fetch(`${api.url}${path}`, {
        method: 'POST',
        headers: { authorization: 'Bearer secret' },
      }).then((r) => r.status);

    // Stop tail 2 (b.log) through the HTTP API: the agent closes the file within a second.
    const stoppedAt = Date.now();
    expect(await post('/api/tails/2/stop')).toBe(200);
    await waitFor(() => !agent.streams.some((s) => s.path.endsWith('b.log')), {
      timeoutMs: 1000,
      intervalMs: 10,
      what: 'b.log closed',
    });
    const stopMs = Date.now() - stoppedAt;
    await write('b', 500, 300); // written while stopped: must not arrive yet
    await write('a', 500, 100);
    await waitFor(async () => (await readAllLines(out)).length >= 1600, {
      timeoutMs: 10_000,
      what: 'a.log still flowing',
    });
    await sleep(500);
    expect((await readAllLines(out)).filter((l) => l.startsWith('b:')).length).toBe(500);

    // Start it again: it resumes from its checkpoint.
    expect(await post('/api/tails/2/start')).toBe(200);
    await waitFor(async () => (await readAllLines(out)).length >= written.length, {
      timeoutMs: 10_000,
      what: 'all lines',
    });

    // The key deleted in etcd: the agent keeps its last config and keeps shipping; the periodic
    // reconcile of `admin serve` puts the key back.
    await etcd.delete().key(key);
    await write('c', 500, 200);
    await waitFor(async () => (await readAllLines(out)).length >= written.length, {
      timeoutMs: 10_000,
      what: 'lines after key deletion',
    });
    const reconciler = new Reconciler(new AdminOperations(store, publisher), 200, quietLog);
    await reconciler.start();
    stops.push(() => reconciler.stop());
    const restored = await waitFor(async () => etcd.get(key).string(), {
      timeoutMs: 5000,
      what: 'key restored by the reconcile',
    });
    expect(JSON.parse(restored)).toHaveLength(5);

    await sleep(300);
    const delivered = await readAllLines(out);
    console.log(
      `tail stopped by the agent ${stopMs} ms after admin; ${delivered.length} lines delivered`,
    );
    expect(delivered.some((l) => l.includes('secret'))).toBe(false);
    expect(countLines(written, delivered)).toEqual({
      written: 2100,
      delivered: 2100,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
  });
});
