/**
 * Issue 13, fault tests of the HDFS sink in its exactly-once mode (the default), as real
 * processes against the test bed's HDFS and ZooKeeper. A reader of the closed files (names not
 * starting with `.` or `_`, as Hive reads them) must see every line exactly once when:
 *   - an agent is killed (SIGKILL) and restarted onto another collector;
 *   - the NameNode is killed (SIGKILL) and started again under load;
 *   - the DataNode is killed (SIGKILL) and started again under load.
 * For the HDFS restarts, delivery must resume within 15 s of HDFS answering again.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebHdfsClient } from '../../src/collector/sinks/hdfs/webhdfs-client.js';
import {
  killAll,
  metricSum,
  repoRoot,
  scrape,
  spawnLogrelay,
  type LogrelayProcess,
} from '../helpers/processes.js';
import { countLines } from '../helpers/relay.js';
import { readClosedFiles } from '../helpers/hdfs-read.js';
import { endpoint, requireService, services } from '../helpers/services.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { sleep } from '../helpers/wait-for.js';

const exec = promisify(execFile);
const SESSION_MS = 4000;
const servicesDir = process.env['LOGRELAY_SERVICES_DIR'] ?? join(repoRoot, '.services');

const lineOf = (file: string, n: number): string =>
  `${file}#${String(n).padStart(6, '0')} ${'h'.repeat(20 + ((n * 7919) % 61))}`;

/** Appends `perFile` lines to each file, evenly over `durationMs`. */
async function writeLogs(
  dir: string,
  files: readonly string[],
  perFile: number,
  durationMs: number,
  written: string[],
): Promise<void> {
  const next = new Map(files.map((f) => [f, 0]));
  const t0 = Date.now();
  for (;;) {
    const target = Math.min(perFile, Math.ceil(((Date.now() - t0) / durationMs) * perFile));
    for (const f of files) {
      const from = next.get(f) ?? 0;
      if (from >= target) continue;
      const lines: string[] = [];
      for (let n = from; n < target; n++) lines.push(lineOf(f, n));
      await appendFile(join(dir, `${f}.log`), lines.join('\n') + '\n');
      written.push(...lines);
      next.set(f, target);
    }
    if (target >= perFile) return;
    await sleep(20);
  }
}

/** Kills the test bed's NameNode or DataNode (SIGKILL, by its pid file). */
async function killHdfs(proc: 'namenode' | 'datanode'): Promise<void> {
  const pid = Number((await readFile(join(servicesDir, 'hdfs', `${proc}.pid`), 'utf8')).trim());
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
  throw new Error(`${proc} (pid ${pid}) did not die`);
}

/** `services.sh up hdfs`: starts what is down and waits until HDFS answers (out of safe mode). */
async function startHdfs(): Promise<void> {
  await exec('bash', [join(repoRoot, 'scripts/services.sh'), 'up', 'hdfs'], {
    cwd: repoRoot,
    timeout: 180_000,
  });
}

describe('HDFS exactly-once under faults (processes, real HDFS and ZooKeeper)', () => {
  const hdfsRoot = `/${uniqueName('logrelay-hfault')}`;
  const hdfs = new WebHdfsClient({
    namenodeUrl: `http://${endpoint('hdfs')}`,
    user: 'logrelay',
    requestTimeoutMs: 30_000,
  });

  beforeAll(async () => {
    await requireService('zookeeper');
    await requireService('hdfs');
  });
  afterAll(async () => {
    await killAll();
    // An HDFS restart test that failed midway must not leave HDFS down for the next file.
    await startHdfs().catch(() => undefined);
    await hdfs.delete(hdfsRoot, true).catch(() => undefined);
    hdfs.close();
  });

  const collectorConfig = (id: string, test: string, zkRoot: string) => ({
    id,
    listen: { host: '127.0.0.1', port: 0 },
    retryAfterMs: 300,
    sinks: [
      {
        type: 'hdfs',
        name: 'hdfs',
        namenodeUrl: `http://${services.hdfs.host}:${services.hdfs.port}`,
        pathTemplate: `${hdfsRoot}/${test}/{topic}/{collector}-{n}.log`,
        maxFileAgeMs: 5000,
        recoveryIntervalMs: 1000,
        requestTimeoutMs: 10_000,
        zookeeper: { connect: endpoint('zookeeper'), root: zkRoot, sessionTimeoutMs: SESSION_MS },
      },
    ],
    log: { level: 'info' },
  });

  const agentConfig = (id: string, collector: string, logs: string, registry: string) => ({
    id,
    host: `${id}-host`,
    collectors: [collector],
    tails: [{ paths: [join(logs, '*.log')], topic: 'events' }],
    scanIntervalMs: 100,
    pollIntervalMs: 20,
    ship: { retryInitialMs: 100, retryMaxMs: 1000 },
    // Seldom flushed: a restart resends lines that were committed but not yet recorded as such.
    checkpoint: { path: registry, flushIntervalMs: 2000 },
    log: { level: 'info' },
  });

  async function startCollector(id: string, test: string, zkRoot: string, dir: string) {
    const proc = await spawnLogrelay('collector', id, collectorConfig(id, test, zkRoot), { dir });
    const started = await proc.waitForLog((e) => e['msg'] === 'collector started', {
      what: 'collector started',
    });
    return { proc, address: String(started['address']), ops: await proc.opsUrl() };
  }

  /** Lines of the closed files under `test`, and how many files are still hidden. */
  const readVisible = (test: string) => readClosedFiles(hdfs, `${hdfsRoot}/${test}/events`);

  /** Until every line is in a closed file and none is left hidden, or 120 s. */
  async function settle(test: string, written: readonly string[]) {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const seen = await readVisible(test);
      const counts = countLines(written, seen.lines);
      if ((counts.missing === 0 && seen.hidden === 0) || Date.now() > deadline)
        return { ...counts, hiddenLeft: seen.hidden };
      await sleep(2000);
    }
  }

  const exactlyOnce = (n: number) => ({
    written: n,
    delivered: n,
    missing: 0,
    duplicated: 0,
    unexpected: 0,
    hiddenLeft: 0,
  });

  it('an agent killed and restarted onto another collector: every line once', async () => {
    const { dir, cleanup } = await tempDir('logrelay-e2e-hfault-agent-');
    const zkRoot = `/${uniqueName('lr_hfault_agent')}`;
    const a = await startCollector('hf-a', 'agent', zkRoot, dir);
    const b = await startCollector('hf-b', 'agent', zkRoot, dir);
    const logs = join(dir, 'logs');
    await mkdir(logs);
    const registry = join(dir, 'agent.registry.json');
    let agent: LogrelayProcess = await spawnLogrelay(
      'agent',
      'agent-1',
      agentConfig('hf-agent', a.address, logs, registry),
      { dir },
    );
    const written: string[] = [];
    const writer = writeLogs(logs, ['a', 'b'], 40_000, 12_000, written);
    await sleep(5000);
    await agent.kill('SIGKILL');
    const aLines = metricSum(await scrape(a.ops), 'logrelay_hdfs_sink_lines_total');
    agent = await spawnLogrelay(
      'agent',
      'agent-2',
      agentConfig('hf-agent', b.address, logs, registry),
      {
        dir,
      },
    );
    await writer;
    const counts = await settle('agent', written);
    const bMetrics = await scrape(b.ops);
    const skipped = metricSum(bMetrics, 'logrelay_collector_skipped_delivered_lines_total');
    console.log(
      `[hdfs-faults agent] ${JSON.stringify({ ...counts, linesViaA: aLines, skippedOnB: skipped, dir })}`,
    );
    await agent.kill('SIGTERM');
    await a.proc.kill('SIGTERM');
    await b.proc.kill('SIGTERM');
    expect(aLines).toBeGreaterThan(0);
    expect(counts).toEqual(exactlyOnce(80_000));
    await cleanup();
  }, 240_000);

  for (const proc of ['namenode', 'datanode'] as const) {
    it(`the ${proc === 'namenode' ? 'NameNode' : 'DataNode'} killed and started again under load: every line once, delivery back within 15 s`, async () => {
      const test = proc;
      const { dir, cleanup } = await tempDir(`logrelay-e2e-hfault-${proc}-`);
      const zkRoot = `/${uniqueName(`lr_hfault_${proc}`)}`;
      const c = await startCollector(`hf-${proc}`, test, zkRoot, dir);
      const logs = join(dir, 'logs');
      await mkdir(logs);
      const agent = await spawnLogrelay(
        'agent',
        `agent-${proc}`,
        agentConfig(`hf-agent-${proc}`, c.address, logs, join(dir, 'agent.registry.json')),
        { dir },
      );
      const written: string[] = [];
      const writer = writeLogs(logs, ['a', 'b'], 50_000, 25_000, written);
      const committed = async () =>
        metricSum(await scrape(c.ops), 'logrelay_hdfs_sink_lines_total');
      await sleep(6000);
      const beforeKill = await committed();
      await killHdfs(proc);
      await sleep(5000);
      await startHdfs();
      const answeredAt = Date.now();
      const atAnswer = await committed();
      let resumedAfterMs = Number.POSITIVE_INFINITY;
      while (Date.now() - answeredAt < 60_000) {
        if ((await committed()) > atAnswer) {
          resumedAfterMs = Date.now() - answeredAt;
          break;
        }
        await sleep(200);
      }
      await writer;
      const counts = await settle(test, written);
      console.log(
        `[hdfs-faults ${proc}] ${JSON.stringify({ ...counts, beforeKill, atAnswer, resumedAfterMs, dir })}`,
      );
      await agent.kill('SIGTERM');
      await c.proc.kill('SIGTERM');
      expect(beforeKill).toBeGreaterThan(0);
      expect(resumedAfterMs).toBeLessThanOrEqual(15_000);
      expect(counts).toEqual(exactlyOnce(100_000));
      await cleanup();
    }, 300_000);
  }
});
