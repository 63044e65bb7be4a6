import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { agentConfigSchema, type AgentConfig } from '../../src/agent/config.js';
import { validateConfig } from '../../src/common/config/load-config.js';
import { captureLog } from '../helpers/log-capture.js';
import { countLines, readAllLines, startAgent, startCollector } from '../helpers/relay.js';
import { endpoint, requireService } from '../helpers/services.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

// Issue 12 item 8: one bad tail (a glob that does not compile) must never stop the others,
// whether it comes from etcd (refused and reported at `<key>.status`) or reaches the scan.
describe('a bad tail does not stop the others', () => {
  const etcd = new Etcd3({ hosts: `http://${endpoint('etcd')}` });
  const keys: string[] = [];
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    await requireService('etcd');
  });
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  });
  afterAll(async () => {
    for (const key of keys) {
      await etcd
        .delete()
        .key(key)
        .catch(() => undefined);
      await etcd
        .delete()
        .key(`${key}.status`)
        .catch(() => undefined);
    }
    etcd.close();
  });

  async function setup() {
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const logs = join(dir, 'logs');
    const out = join(dir, 'out');
    await mkdir(logs);
    const collector = await startCollector({
      id: 'c1',
      sinks: [{ type: 'file', name: 'out', directory: out, fsync: false }],
    });
    stops.push(() => collector.stop());
    const written: string[] = [];
    const write = async (file: string, n: number) => {
      const lines = Array.from({ length: n }, (_, i) => `${file}:${i}`);
      written.push(...lines);
      await appendFile(join(logs, file), lines.map((l) => `${l}\n`).join(''));
    };
    return { dir, logs, out, collector, written, write };
  }

  it('refuses a bad glob from etcd, reports it at <key>.status, and tails the ones after it', async () => {
    const { dir, logs, out, collector, written, write } = await setup();
    await write('a.log', 200);
    await write('c.log', 300);
    const key = `/${uniqueName('badglob')}/tails`;
    keys.push(key);
    await etcd.put(key).value(
      JSON.stringify([
        { id: 1, log_path: join(logs, 'a.log'), topic: 'a', status: '1' },
        { id: 2, log_path: join(logs, '[z-a].log'), topic: 'b', status: '1' },
        { id: 3, log_path: join(logs, 'c.log'), topic: 'c', status: '1' },
      ]),
    );
    const agent = await startAgent({
      id: 'bad-glob-node',
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

    const status = await waitFor(
      async () => {
        const value = await etcd.get(`${key}.status`).string();
        return value === null
          ? undefined
          : (JSON.parse(value) as { refused: { id: string; reason: string }[] });
      },
      { timeoutMs: 10_000, what: 'the status key' },
    );
    expect(status.refused.map((r) => r.id)).toEqual(['2']);
    expect(status.refused[0]?.reason).toContain('invalid glob');
    expect(status.refused[0]?.reason).toContain('Range out of order');

    await waitFor(async () => (await readAllLines(out)).length >= written.length, {
      timeoutMs: 15_000,
      what: 'a.log and c.log (after the bad tail) shipped',
    });
    await sleep(300);
    expect(countLines(written, await readAllLines(out))).toEqual({
      written: 500,
      delivered: 500,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
  });

  it('isolates a tail whose scan throws: the tails after it are read, and it is logged once', async () => {
    const { dir, logs, out, collector, written, write } = await setup();
    await write('good.log', 400);
    const config: AgentConfig = validateConfig(agentConfigSchema, {
      id: 'scan-isolation',
      collectors: [collector.address],
      scanIntervalMs: 20,
      pollIntervalMs: 20,
      tails: [{ paths: [join(logs, 'good.log')], topic: 'good' }],
      checkpoint: { path: join(dir, 'registry.json'), flushIntervalMs: 50 },
    });
    // What validation refuses, forced in: the scan itself must contain the failure.
    const bad = { ...config.tails[0], paths: [join(logs, '[z-a]*.log')], topic: 'bad' };
    const { log, records } = captureLog();
    const agent = new Agent(
      { ...config, tails: [bad, ...config.tails] } as AgentConfig,
      log,
      undefined,
      'test agent',
    );
    await agent.start();
    stops.push(() => agent.stop());

    await waitFor(async () => (await readAllLines(out)).length >= written.length, {
      timeoutMs: 15_000,
      what: 'good.log shipped despite the bad tail before it',
    });
    await sleep(500); // about 25 more scans
    expect(countLines(written, await readAllLines(out))).toMatchObject({
      missing: 0,
      duplicated: 0,
    });
    const failures = records.filter(
      (r) => r['msg'] === 'scan of a tail failed; the other tails go on',
    );
    expect(failures).toHaveLength(1);
    expect(failures[0]?.['tail']).toBe('local:0');
    const metrics = await agent.registry.metrics();
    const counted = /logrelay_agent_scan_problems_total\{kind="tail"[^}]*\} (\d+)/.exec(metrics);
    expect(Number(counted?.[1])).toBeGreaterThan(10);
  });
});
