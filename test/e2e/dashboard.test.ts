/**
 * Issue 7, "Done when" 1 and 3: the dashboard of `logrelay admin serve`, in a real browser
 * (Debian chromium driven by playwright-core), over a real cluster of 3 collectors (ZooKeeper),
 * a real control plane (MariaDB → etcd) and an agent that follows both.
 *
 * - `logrelay status --json`, the collectors' `/metrics` and what the dashboard shows agree with
 *   what ZooKeeper holds (members, leader, epoch, the agent's assignment and connection).
 * - Clicking "Stop" on a tail stops it in the agent (its file is closed, new lines stay unsent);
 *   "Start" resumes it; every line arrives exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import type { Collector } from '../../src/collector/collector.js';
import { clusterPaths, readCluster, type ClusterView } from '../../src/common/cluster/index.js';
import { ZkSession } from '../../src/common/zk/zk-session.js';
import type { StatusReport } from '../../src/admin/status/status-report.js';
import { startClusterCollectors } from '../helpers/cluster.js';
import { metricSum, repoRoot, scrape } from '../helpers/processes.js';
import { countLines, readAllLines, startAgent } from '../helpers/relay.js';
import { endpoint, requireService } from '../helpers/services.js';
import { runCli } from '../helpers/cli.js';
import { scratchDatabase, type ScratchDatabase } from '../helpers/scratch-db.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

const token = 'dashboard-test-token-42';

/** `logrelay admin serve` as a child process; resolves with its URL once it listens. */
async function startAdmin(
  args: string[],
  logFile: string,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'logrelay.js'), ...args], {
    env: { ...process.env, LOGRELAY_ADMIN_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logged: string[] = [];
  child.stdout?.on('data', (c: Buffer) => logged.push(c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    // Logs are JSON lines on stderr.
    const lines = createInterface({ input: child.stderr! });
    lines.on('line', (line) => {
      logged.push(line);
      void appendFile(logFile, `${line}\n`);
      if (!line.startsWith('{')) return;
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg === 'admin API listening' && entry.url) resolve(entry.url);
    });
    child.once('exit', (code) =>
      reject(new Error(`admin serve exited (${code}) before listening:\n${logged.join('\n')}`)),
    );
    setTimeout(
      () => reject(new Error(`admin serve did not listen:\n${logged.join('\n')}`)),
      20_000,
    );
  });
  return { child, url };
}

interface PageView {
  leader: string;
  summary: string;
  members: string[][];
  agents: string[][];
  tails: Array<{ id: string; status: string }>;
  throughputLines: number;
  /** Samples on the throughput chart's total line. */
  throughputPoints: number;
  lagLines: number;
  services: Record<'zookeeper' | 'mysql' | 'etcd', string>;
}

// Runs in the page (a string: this project compiles without the DOM's types).
const readPage = `(() => {
  const rows = (selector) =>
    [...document.querySelectorAll(selector + ' tbody tr')].map((tr) =>
      [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''));
  const summary = document.querySelector('#cluster-summary');
  return {
    leader: summary?.dataset.leader ?? '',
    summary: summary?.textContent ?? '',
    members: rows('#members'),
    agents: rows('#agents'),
    tails: [...document.querySelectorAll('#tails tbody tr')].map((tr) => ({
      id: tr.dataset.tailId,
      status: tr.dataset.status,
    })),
    throughputLines: document.querySelectorAll('#chart-throughput polyline').length,
    throughputPoints: (document
      .querySelector('#chart-throughput polyline[data-series="all collectors"]')
      ?.getAttribute('points') ?? '').split(' ').filter(Boolean).length,
    lagLines: document.querySelectorAll('#chart-lag polyline').length,
    services: Object.fromEntries(['zookeeper', 'mysql', 'etcd'].map((s) =>
      [s, document.querySelector('#svc-' + s)?.className ?? ''])),
  };
})()`;

/** What the page shows now, read from the DOM. */
function pageView(page: Page): Promise<PageView> {
  return page.evaluate(readPage) as Promise<PageView>;
}

describe('the dashboard in a real browser, over 3 collectors, MariaDB and etcd', () => {
  const root = `/${uniqueName('lr_dash')}`;
  const ip = '10.77.0.1';
  const key = `/${uniqueName('logagent')}/${ip}/tails`;
  const zookeeper = { connect: endpoint('zookeeper'), root, sessionTimeoutMs: 6000 };
  const stops: Array<() => Promise<unknown>> = [];
  let db: ScratchDatabase;
  let zk: ZkSession;
  let browser: Browser | undefined;
  let admin: ChildProcess | undefined;

  beforeAll(async () => {
    await requireService('zookeeper');
    await requireService('mysql');
    await requireService('etcd');
    db = await scratchDatabase('logrelay_dash');
    zk = new ZkSession(endpoint('zookeeper'), { sessionTimeoutMs: 10_000 });
    await zk.connect();
  });

  afterAll(async () => {
    await browser?.close();
    if (admin && admin.exitCode === null) admin.kill('SIGKILL');
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    zk?.close();
    await db?.drop();
  });

  it('shows what ZooKeeper holds, as status and /metrics do, and stops a tail from a click', async () => {
    const { dir, cleanup } = await tempDir('logrelay-e2e-dashboard-');
    stops.push(cleanup);
    const logs = join(dir, 'logs');
    const out = join(dir, 'out');
    await mkdir(logs);
    const file = join(logs, 'app.log');
    await writeFile(file, '');

    // Control plane: the node and its running tail, published to etcd.
    const adminArgs = ['admin', '--mysql', db.url, '--etcd', endpoint('etcd')];
    expect((await runCli(...adminArgs, 'migrate')).code).toBe(0);
    expect((await runCli(...adminArgs, 'node', 'add', '--ip', ip, '--key-path', key)).code).toBe(0);
    expect(
      (await runCli(...adminArgs, 'tail', 'add', '--node', '1', '--path', file, '--topic', 'app'))
        .code,
    ).toBe(0);

    // Data plane: 3 collectors in one cluster, one agent following etcd and ZooKeeper.
    const collectors: Collector[] = await startClusterCollectors(['d1', 'd2', 'd3'], {
      zookeeper,
      out,
      stops,
    });
    const agent: Agent = await startAgent({
      id: 'dash-agent',
      host: 'web-7',
      cluster: { zookeeper, reportIntervalMs: 500 },
      checkpoint: { path: join(dir, 'registry.json') },
      ship: { retryInitialMs: 50, retryMaxMs: 500 },
      remote: {
        etcd: { endpoints: [endpoint('etcd')], key },
        allow: [logs],
        statePath: join(dir, 'remote.json'),
        pollMs: 500,
      },
    });
    stops.push(() => agent.stop());

    const written: string[] = [];
    const write = async (prefix: string, n: number) => {
      const lines = Array.from({ length: n }, (_, i) => `${prefix}-${written.length + i}`);
      written.push(...lines);
      await appendFile(file, lines.map((l) => `${l}\n`).join(''));
    };
    for (let i = 0; i < 10; i++) {
      await write('before', 200);
      await sleep(100);
    }
    await waitFor(async () => (await readAllLines(out)).length >= written.length, {
      timeoutMs: 20_000,
      what: 'the first 2,000 lines delivered',
    });

    const adminProc = await startAdmin(
      [
        ...adminArgs,
        'serve',
        '--port',
        '0',
        '--zookeeper',
        endpoint('zookeeper'),
        '--cluster-root',
        root,
      ],
      join(dir, 'admin.log'),
    );
    admin = adminProc.child;
    stops.push(async () => {
      if (adminProc.child.exitCode === null) {
        adminProc.child.kill('SIGTERM');
        await new Promise((r) => adminProc.child.once('exit', r));
      }
    });
    const base = adminProc.url;

    // The cluster settles: the leader has assigned the agent and the agent is on that collector.
    const settled = async (): Promise<ClusterView | undefined> => {
      const view = await readCluster(zk, clusterPaths(root));
      const assigned = view.assignment?.agents['dash-agent'];
      const member = view.members.find((m) => m.id === assigned);
      const agentInfo = view.agents.find((a) => a.id === 'dash-agent');
      return view.members.length === 3 && member && agentInfo?.collector === member.address
        ? view
        : undefined;
    };
    await waitFor(settled, { timeoutMs: 30_000, what: 'the cluster settled' });

    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(base);
    await page.waitForSelector('#members tbody tr:nth-child(3)', { timeout: 15_000 });
    await page.waitForSelector('#svc-etcd.up', { timeout: 15_000 });

    // Agreement: ZooKeeper, then status, /metrics and the page, retried until one consistent
    // round (the cluster may move between reads, but it is settled here and holds still).
    await waitFor(
      async () => {
        const view = await settled();
        if (!view) return false;
        const status = JSON.parse(
          (await runCli('status', '--zookeeper', endpoint('zookeeper'), '--root', root, '--json'))
            .stdout,
        ) as StatusReport;
        const metrics = await Promise.all(collectors.map((c) => scrape(c.ops.url)));
        const shown = await pageView(page);
        const ids = view.members.map((m) => m.id);
        const leader = view.leader?.id;
        const assigned = view.assignment?.agents['dash-agent'];

        expect(status.members.map((m) => m.id)).toEqual(ids);
        expect(status.leader).toEqual({ id: leader, epoch: view.leader?.epoch });
        expect(status.agents.map((a) => [a.id, a.assigned, a.collector])).toEqual([
          ['dash-agent', assigned, view.agents[0]?.collector],
        ]);

        // Each collector's metrics: exactly the ZooKeeper leader says it leads, with its epoch;
        // the assigned one holds the agent's connection.
        collectors.forEach((c, i) => {
          const id = c.config.id;
          expect(metricSum(metrics[i]!, 'logrelay_cluster_leader')).toBe(id === leader ? 1 : 0);
          expect(metricSum(metrics[i]!, 'logrelay_cluster_zookeeper_connected')).toBe(1);
          expect(metricSum(metrics[i]!, 'logrelay_collector_agents')).toBe(id === assigned ? 1 : 0);
        });
        const leaderIndex = collectors.findIndex((c) => c.config.id === leader);
        expect(metricSum(metrics[leaderIndex]!, 'logrelay_cluster_epoch')).toBe(view.leader?.epoch);

        // The page: the same members in the same order, the leader marked, the assignment.
        expect(shown.members.map((r) => r[0])).toEqual(ids);
        expect(shown.members.map((r) => r[2] === 'leader')).toEqual(ids.map((id) => id === leader));
        expect(shown.members.map((r) => r[1])).toEqual(view.members.map((m) => m.address));
        // Each collector's sinks with the guarantee they run with, as `status` shows them.
        expect(shown.members.map((r) => r[7])).toEqual(
          ids.map(() => 'files (file, at-least-once)'),
        );
        expect(status.members.map((m) => m.sinks)).toEqual(
          ids.map(() => [
            { name: 'files', type: 'file', guarantee: 'at-least-once', skippedLines: 0 },
          ]),
        );
        expect(shown.leader).toBe(leader);
        expect(shown.summary).toContain(`epoch ${view.leader?.epoch}`);
        expect(shown.agents.map((r) => [r[0], r[1], r[2], r[3]])).toEqual([
          ['dash-agent', 'web-7', assigned, assigned],
        ]);
        return true;
      },
      {
        timeoutMs: 30_000,
        intervalMs: 500,
        what: 'status, /metrics and the page agreeing with ZooKeeper',
      },
    );

    // The admin's own /readyz and /metrics.
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    const adminMetrics = await scrape(base);
    for (const name of [
      'logrelay_admin_zookeeper_connected',
      'logrelay_admin_etcd_connected',
      'logrelay_admin_mysql_up',
    ])
      expect(metricSum(adminMetrics, name), name).toBe(1);

    // Charts drawn from the history (a line per member plus the total, and the lag).
    await waitFor(
      async () => {
        const view = await pageView(page);
        return view.throughputLines === 4 && view.throughputPoints >= 4;
      },
      { timeoutMs: 20_000, what: 'throughput chart: 4 lines of at least 4 samples' },
    );
    expect((await pageView(page)).lagLines).toBe(1);
    await page.screenshot({
      path: process.env['LOGRELAY_DASHBOARD_SCREENSHOT'] ?? join(dir, 'dashboard.png'),
      fullPage: true,
    });

    // Stop the tail from the page: the agent closes the file.
    expect((await pageView(page)).tails).toEqual([{ id: '1', status: 'running' }]);
    expect(agent.streams.map((s) => s.path)).toEqual([file]);
    await page.fill('#token', token);
    await page.click('#tails button[data-action="stop"][data-tail-id="1"]');
    await page.waitForSelector('#tails tr[data-tail-id="1"][data-status="stopped"]');
    expect(await page.textContent('#message')).toContain('tail 1 stopped');
    await waitFor(() => agent.streams.length === 0, {
      timeoutMs: 10_000,
      what: 'the agent to close the stopped tail',
    });
    const deliveredAtStop = (await readAllLines(out)).length;
    expect(deliveredAtStop).toBe(written.length);
    await write('while-stopped', 500);
    await sleep(2000);
    expect((await readAllLines(out)).length).toBe(deliveredAtStop);

    // Start it again: the agent resumes from its acked offset.
    await page.click('#tails button[data-action="start"][data-tail-id="1"]');
    await page.waitForSelector('#tails tr[data-tail-id="1"][data-status="running"]');
    await waitFor(async () => (await readAllLines(out)).length >= written.length, {
      timeoutMs: 20_000,
      what: 'the lines written while stopped delivered after start',
    });
    await sleep(500);
    const counts = countLines(written, await readAllLines(out));
    expect(counts).toEqual({
      written: 2500,
      delivered: 2500,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
    expect(pageErrors).toEqual([]);
  });
});
