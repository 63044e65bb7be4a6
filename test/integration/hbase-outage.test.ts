/**
 * The HBase REST gateway killed for 20 s while an agent ships a file a writer keeps appending
 * unique lines to, through a real collector with an hbase sink: the agent is told to retry
 * meanwhile, delivery resumes by itself once the gateway is back, and every written line is in
 * HBase exactly once (written, delivered, missing, duplicated counted exactly).
 */
import { execFile } from 'node:child_process';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import type { Collector } from '../../src/collector/collector.js';
import { dropTable, hbaseRestUrl, scanTable } from '../helpers/hbase.js';
import { metricSum, repoRoot } from '../helpers/processes.js';
import { countLines, exactlyOnce, startAgent, startCollector } from '../helpers/relay.js';
import { requireService } from '../helpers/services.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

const exec = promisify(execFile);

const OUTAGE_AT_MS = 4_000;
const OUTAGE_MS = 20_000;
const WRITE_MS = 28_000;
const LINES_PER_SECOND = 400;

const servicesDir = process.env['LOGRELAY_SERVICES_DIR'] ?? join(repoRoot, '.services');

/** Kills the REST gateway's process (SIGKILL: no goodbye to open connections). */
async function killGateway(): Promise<void> {
  const pid = Number((await readFile(join(servicesDir, 'hbase', 'rest.pid'), 'utf8')).trim());
  if (!pid) throw new Error('no pid file of the HBase REST gateway');
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(50);
  }
  throw new Error(`the REST gateway (pid ${pid}) did not exit`);
}

/** `scripts/services.sh up hbase`: starts what is not running (here: the gateway) and waits. */
async function hbaseUp(): Promise<void> {
  await exec('bash', ['scripts/services.sh', 'up', 'hbase'], { cwd: repoRoot, timeout: 150_000 });
}

describe('HBase REST gateway killed for 20 s while lines flow', () => {
  const table = `${uniqueName('it_hbase_outage').replace(/[^a-zA-Z0-9_]/g, '_')}_app`;
  const stops: (() => Promise<unknown>)[] = [];
  /** Set while this test has the gateway down: afterAll starts it again, whatever happened. */
  let gatewayDown = false;

  beforeAll(async () => {
    await requireService('hbase');
  });

  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    if (gatewayDown) {
      await hbaseUp();
      gatewayDown = false;
    }
    await dropTable(table).catch(() => undefined);
  }, 180_000);

  it('tells the agent to retry, resumes by itself, and stores every line exactly once', async () => {
    const { dir, cleanup } = await tempDir('logrelay-hbase-outage-');
    stops.push(cleanup);
    const file = join(dir, 'app.log');
    const collector: Collector = await startCollector({
      id: 'hbase-outage',
      sinks: [
        {
          type: 'hbase',
          name: 'hbase',
          url: hbaseRestUrl,
          tableTemplate: table.replace(/_app$/, '_{topic}'),
          format: 'raw',
          timeoutMs: 5000,
        },
      ],
      routes: [{ topics: ['app'], sinks: ['hbase'] }],
      defaultSinks: [],
    });
    stops.push(() => collector.stop());
    const agent: Agent = await startAgent({
      id: 'hbase-outage-agent',
      collectors: [collector.address],
      tails: [{ paths: [file], topic: 'app' }],
      checkpoint: { path: join(dir, 'registry.json'), flushIntervalMs: 50 },
      lines: { partialFlushMs: 200 },
    });
    stops.push(() => agent.stop());

    // The writer: unique lines at a steady rate for WRITE_MS, before, during and after the outage.
    const written: string[] = [];
    const started = Date.now();
    const writer = (async () => {
      let n = 0;
      while (Date.now() - started < WRITE_MS) {
        const target = Math.floor(((Date.now() - started) / 1000) * LINES_PER_SECOND);
        const lines: string[] = [];
        for (; n < target; n++)
          lines.push(`line-${String(n).padStart(6, '0')} ${'x'.repeat(n % 97)}`);
        if (lines.length > 0) {
          await appendFile(file, lines.map((l) => `${l}\n`).join(''));
          written.push(...lines);
        }
        await sleep(25);
      }
    })();

    await sleep(OUTAGE_AT_MS);
    const beforeOutage = (await scanTable(table))?.size ?? 0;
    expect(beforeOutage, 'lines stored before the outage').toBeGreaterThan(0);
    gatewayDown = true;
    await killGateway();
    await sleep(OUTAGE_MS);
    const retries = metricSum(await agent.registry.metrics(), 'logrelay_agent_retries_total');
    const sinkErrors = metricSum(
      await collector.registry.metrics(),
      'logrelay_hbase_sink_errors_total',
      {
        code: 'SINK_UNAVAILABLE',
      },
    );
    const restartStarted = Date.now();
    await hbaseUp();
    gatewayDown = false;
    const restartMs = Date.now() - restartStarted;
    await writer;

    let delivered: string[] = [];
    await waitFor(
      async () => {
        const rows = (await scanTable(table)) ?? new Map<string, Map<string, Buffer>>();
        delivered = [...rows.values()].map((r) => r.get('d:line')?.toString() ?? '');
        return delivered.length >= written.length;
      },
      { timeoutMs: 25_000, intervalMs: 500, what: 'every written line in HBase' },
    );
    const counts = countLines(written, delivered);
    console.log(
      JSON.stringify({
        ...counts,
        beforeOutage,
        agentRetries: retries,
        sinkUnavailable: sinkErrors,
        restartMs,
        totalMs: Date.now() - started,
      }),
    );
    expect(retries, 'agent told to retry during the outage').toBeGreaterThan(0);
    expect(sinkErrors, 'sink errors during the outage').toBeGreaterThan(0);
    expect(counts).toEqual(exactlyOnce(written.length));
  }, 120_000);
});
