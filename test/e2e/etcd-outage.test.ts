import { execFile } from 'node:child_process';
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { countLines, readAllLines, startAgent, startCollector } from '../helpers/relay.js';
import { endpoint, requireService } from '../helpers/services.js';
import { runCli } from '../helpers/cli.js';
import { scratchDatabase, type ScratchDatabase } from '../helpers/scratch-db.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

// Issue 5, "Done when" 2: etcd restarted under load, an agent restarted while etcd is down,
// and the node's key deleted: the agent keeps shipping on its last known config, and a
// reconcile (publish from MySQL) puts the key back. Exact counts.
const root = new URL('../../', import.meta.url).pathname;
const etcdService = (command: 'up' | 'down') =>
  promisify(execFile)('bash', ['scripts/services.sh', command, 'etcd'], { cwd: root });

describe('agents ride out etcd restarts and a deleted key', () => {
  const key = `/${uniqueName('logagent')}/10.1.2.3/tails`;
  const stops: (() => Promise<void>)[] = [];
  let db: ScratchDatabase;

  const admin = async (...args: string[]) =>
    (await runCli('admin', '--mysql', db.url, '--etcd', endpoint('etcd'), ...args)).code;

  beforeAll(async () => {
    await requireService('mysql');
    await requireService('etcd');
    db = await scratchDatabase('logrelay_etcd_outage');
  });

  afterAll(async () => {
    await etcdService('up').catch(() => undefined); // never leave etcd down for other tests
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    const etcd = new Etcd3({ hosts: `http://${endpoint('etcd')}` });
    await etcd
      .delete()
      .prefix(key)
      .catch(() => undefined);
    etcd.close();
    await db?.drop();
  });

  it('keeps shipping through an etcd restart, an agent restart during the outage, and a deleted key', async () => {
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const logs = join(dir, 'logs');
    await mkdir(logs);
    const out = join(dir, 'out');
    const collector = await startCollector({
      id: 'c1',
      sinks: [{ type: 'file', name: 'out', directory: out, fsync: false }],
    });
    stops.push(() => collector.stop());

    expect(await admin('migrate')).toBe(0);
    expect(await admin('node', 'add', '--ip', '10.1.2.3', '--key-path', key)).toBe(0);
    expect(
      await admin('tail', 'add', '--node', '1', '--path', join(logs, 'app.log'), '--topic', 'app'),
    ).toBe(0);
    expect(
      await admin('tail', 'add', '--node', '1', '--path', join(logs, 'web.log'), '--topic', 'web'),
    ).toBe(0);

    const agentConfig = {
      id: 'etcd-agent',
      collectors: [collector.address],
      checkpoint: { path: join(dir, 'registry.json'), flushIntervalMs: 50 },
      remote: {
        etcd: { endpoints: [endpoint('etcd')], key },
        allow: [logs],
        statePath: join(dir, 'remote.json'),
        pollMs: 300,
      },
    };
    let agent: Agent = await startAgent(agentConfig);
    stops.push(() => agent.stop());

    // A steady load: both files grow every 20 ms for the whole test.
    const written: string[] = [];
    let writing = true;
    const writer = (async () => {
      for (let n = 0; writing; n++) {
        for (const f of ['app', 'web']) {
          const lines = Array.from({ length: 20 }, (_, i) => `${f}:${n}:${i}`);
          written.push(...lines);
          await appendFile(join(logs, `${f}.log`), lines.map((l) => `${l}\n`).join(''));
        }
        await sleep(20);
      }
    })();
    const deliveredCount = async () => (await readAllLines(out)).length;
    await waitFor(async () => (await deliveredCount()) > 500, {
      timeoutMs: 15_000,
      what: 'shipping started',
    });

    // etcd down: the agent keeps shipping on its config; restarted meanwhile, it reads the
    // config it kept on disk.
    await etcdService('down');
    const before = await deliveredCount();
    await waitFor(async () => (await deliveredCount()) > before + 500, {
      timeoutMs: 15_000,
      what: 'shipping while etcd is down',
    });
    await agent.stop();
    agent = await startAgent(agentConfig);
    const afterRestart = await deliveredCount();
    await waitFor(async () => (await deliveredCount()) > afterRestart + 500, {
      timeoutMs: 20_000,
      what: 'shipping after an agent restart during the outage',
    });
    await etcdService('up');

    // The key deleted: the agent keeps its last config; the reconcile restores the key.
    const etcd = new Etcd3({ hosts: `http://${endpoint('etcd')}` });
    stops.push(async () => etcd.close());
    await etcd.delete().key(key);
    const afterDelete = await deliveredCount();
    await waitFor(async () => (await deliveredCount()) > afterDelete + 500, {
      timeoutMs: 15_000,
      what: 'shipping after the key was deleted',
    });
    expect(await admin('publish')).toBe(0);
    expect(JSON.parse((await etcd.get(key).string()) ?? 'null')).toHaveLength(2);

    // The config still changes live after all that: stopping a tail takes effect.
    expect(await admin('tail', 'stop', '2')).toBe(0);
    await waitFor(() => !agent.streams.some((s) => s.path.endsWith('web.log')), {
      timeoutMs: 5000,
      what: 'web.log stopped',
    });
    expect(await admin('tail', 'start', '2')).toBe(0);

    writing = false;
    await writer;
    await waitFor(async () => (await deliveredCount()) >= written.length, {
      timeoutMs: 30_000,
      what: 'every line',
    });
    await sleep(300);
    const counts = countLines(written, await readAllLines(out));
    console.log('etcd outage:', JSON.stringify(counts));
    expect(counts).toEqual({
      written: written.length,
      delivered: written.length,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
  });
});
