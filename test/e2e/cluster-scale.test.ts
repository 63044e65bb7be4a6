/**
 * Issue 4, "Done when" 7: 100 simulated agents (each its own id and connection, run from two
 * processes) with 1,000 files in all, through 3 collectors: the leader's assignment keeps each
 * collector within ±20 % of the mean bytes/s; 0 missing, 0 duplicated.
 *
 * Agents ship unequal loads (weights 1-5), so balancing by count would not do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '../../src/collector/collector.js';
import { clusterPaths, readCluster } from '../../src/common/cluster/index.js';
import { ZkSession } from '../../src/common/zk/zk-session.js';
import { repoRoot } from '../helpers/processes.js';
import { countLines, readAllLines, startCollector } from '../helpers/relay.js';
import { endpoint, requireService } from '../helpers/services.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

const AGENTS = 100;
const FILES_PER_AGENT = 10;
const SWARMS = 2;
const WRITE_MS = 25_000;
const TICK_MS = 500;
const weightOf = (agent: number) => 1 + (agent % 5);

describe('100 agents, 1,000 files, 3 collectors', () => {
  let zk: ZkSession;
  const stops: Array<() => Promise<unknown>> = [];
  const swarms: ChildProcess[] = [];

  beforeAll(async () => {
    await requireService('zookeeper');
    zk = new ZkSession(endpoint('zookeeper'), { sessionTimeoutMs: 10_000 });
    await zk.connect();
  });
  afterAll(async () => {
    for (const s of swarms) if (s.exitCode === null) s.kill('SIGKILL');
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    zk.close();
  });

  it('keeps every collector within ±20 % of the mean bytes/s, and delivers every line once', async () => {
    const { dir, cleanup } = await tempDir('logrelay-e2e-scale-');
    const out = join(dir, 'out');
    const root = `/${uniqueName('lr_scale')}`;
    const paths = clusterPaths(root);
    const zookeeper = { connect: endpoint('zookeeper'), root, sessionTimeoutMs: 6000 };
    const collectors: Collector[] = [];
    for (const id of ['s1', 's2', 's3']) {
      const c = await startCollector({
        id,
        sinks: [{ type: 'file', name: 'files', directory: out, fsync: false }],
        cluster: { zookeeper, rebalanceIntervalMs: 2000 },
      });
      stops.push(() => c.stop());
      collectors.push(c);
    }

    const files: string[][] = [];
    const configs: Array<Record<string, unknown>> = [];
    for (let a = 0; a < AGENTS; a++) {
      const logs = join(dir, `agent-${a}`);
      await mkdir(logs);
      const mine: string[] = [];
      for (let f = 0; f < FILES_PER_AGENT; f++) {
        const file = join(logs, `f${f}.log`);
        await writeFile(file, '');
        mine.push(file);
      }
      files.push(mine);
      configs.push({
        id: `scale-${a}`,
        host: `host-${a}`,
        cluster: { zookeeper, reportIntervalMs: 1000 },
        tails: [{ paths: [join(logs, '*.log')], topic: 'app' }],
        scanIntervalMs: 500,
        pollIntervalMs: 100,
        checkpoint: { path: join(logs, 'registry.json'), flushIntervalMs: 500 },
        ship: { retryInitialMs: 100, retryMaxMs: 2000 },
      });
    }
    const perSwarm = AGENTS / SWARMS;
    for (let s = 0; s < SWARMS; s++) {
      const file = join(dir, `swarm-${s}.json`);
      await writeFile(file, JSON.stringify(configs.slice(s * perSwarm, (s + 1) * perSwarm)));
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(repoRoot, 'test/helpers/agent-swarm.ts'), file],
        { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      swarms.push(child);
      const lines = createInterface({ input: child.stdout! });
      const [ready] = (await Promise.race([
        once(lines, 'line'),
        once(child, 'exit').then(() => {
          throw new Error('an agent swarm exited before it was ready');
        }),
      ])) as [string];
      expect(ready).toBe(`ready ${perSwarm}`);
    }

    const written: string[] = [];
    let writing = true;
    const writer = (async () => {
      for (let tick = 0; writing; tick++) {
        const started = Date.now();
        await Promise.all(
          files.flatMap((mine, a) =>
            mine.map((file, f) => {
              const n = 2 * weightOf(a);
              const lines = Array.from({ length: n }, (_, i) => `a${a}f${f}#${tick * n + i}`);
              written.push(...lines);
              return appendFile(file, lines.map((l) => `${l} ${'p'.repeat(40)}\n`).join(''));
            }),
          ),
        );
        await sleep(Math.max(0, TICK_MS - (Date.now() - started)));
      }
    })();

    // Under steady load, the leader's assignment balances the agents' measured bytes/s.
    await sleep(WRITE_MS / 2);
    const balance = await waitFor(
      async () => {
        const view = await readCluster(zk, paths);
        if (!view.assignment || view.agents.length !== AGENTS) return undefined;
        const load: Record<string, number> = {};
        for (const agent of view.agents) {
          const member = view.assignment.agents[agent.id];
          if (!member) return undefined;
          load[member] = (load[member] ?? 0) + agent.bytesPerSec;
        }
        const values = Object.values(load);
        if (values.length !== 3) return undefined;
        const mean = values.reduce((x, y) => x + y, 0) / values.length;
        const worst = Math.max(...values.map((v) => Math.abs(v - mean) / mean));
        return worst <= 0.2
          ? { load, mean: Math.round(mean), worst: +worst.toFixed(3) }
          : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500, what: 'every collector within ±20 % of the mean' },
    );
    const measured = Object.fromEntries(
      (await readCluster(zk, paths)).members.map((m) => [m.id, m.load.bytesPerSec]),
    );
    await sleep(WRITE_MS / 2);
    writing = false;
    await writer;
    await waitFor(async () => (await readAllLines(out)).length >= written.length, {
      timeoutMs: 120_000,
      intervalMs: 1000,
      what: 'every line delivered',
    });
    await sleep(1000);
    const counts = countLines(
      written,
      (await readAllLines(out)).map((l) => l.split(' ')[0]!),
    );
    console.log(
      `[cluster-scale] ${JSON.stringify({ assignedBytesPerSec: balance, measuredBytesPerSec: measured, ...counts })}`,
    );
    for (const s of swarms) {
      s.kill('SIGTERM');
      await once(s, 'exit');
    }
    expect(counts).toMatchObject({ missing: 0, duplicated: 0, unexpected: 0 });
    await cleanup();
  }, 300_000);
});
