/**
 * Issue 7, "Done when" 4: every metric the issue names exists on the agent's and the collector's
 * `/metrics` and moves while lines are shipped — through a real Redis taken away and brought back
 * (sink errors, retries, deduplication), a topic with no route (rejections), a collector batch
 * limit below the agent's (limit hits), ZooKeeper (cluster, leader) and etcd (remote tails).
 * Lines are counted exactly at the end.
 */
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import type { Collector } from '../../src/collector/collector.js';
import { metricSum, scrape } from '../helpers/processes.js';
import { countLines, readAllLines, startAgent, startCollector } from '../helpers/relay.js';
import { endpoint, requireService, services } from '../helpers/services.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait-for.js';

/** Every `name{labels} value` sample of one metric, as label maps with values. */
function samples(text: string, name: string): Array<{ labels: string; value: number }> {
  const out: Array<{ labels: string; value: number }> = [];
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)$/);
    if (m && m[1] === name) out.push({ labels: m[2] ?? '', value: Number(m[3]) });
  }
  return out;
}

/** True when the text declares the metric (`# TYPE name ...`). */
const declared = (text: string, name: string) => new RegExp(`^# TYPE ${name} `, 'm').test(text);

describe('metrics: every one the issue names exists and moves while lines are shipped', () => {
  const root = `/${uniqueName('lr_metrics')}`;
  const key = `/${uniqueName('logagent')}/10.1.1.1/tails`;
  const redisKey = uniqueName('lr_metrics');
  const etcd = new Etcd3({ hosts: `http://${endpoint('etcd')}` });
  const stops: Array<() => Promise<unknown>> = [];
  let redis: Redis;

  beforeAll(async () => {
    await requireService('zookeeper');
    await requireService('etcd');
    await requireService('redis');
    redis = new Redis({ host: services.redis.host, port: services.redis.port, lazyConnect: true });
    await redis.connect();
  });

  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    await redis?.del(`${redisKey}:both`);
    redis?.disconnect();
    await etcd.delete().key(key);
    etcd.close();
  });

  it('moves lines, bytes, acks, retries, rejections, dedup, sink, lag, connection and limit metrics', async () => {
    const { dir, cleanup } = await tempDir('logrelay-it-metrics-');
    stops.push(cleanup);
    const out = join(dir, 'out');
    const proxy = new TcpProxy(services.redis);
    await proxy.up();
    stops.push(() => proxy.down());
    await etcd.put(key).value('[]');

    const zookeeper = { connect: endpoint('zookeeper'), root, sessionTimeoutMs: 6000 };
    const collector: Collector = await startCollector({
      id: 'm1',
      cluster: { zookeeper, rebalanceIntervalMs: 500 },
      // Lower than the agent's batch.maxLines: the agent's first batches hit this limit.
      limits: { maxBatchLines: 50 },
      retryAfterMs: 100,
      sinks: [
        { type: 'file', name: 'files', directory: out, fsync: false },
        {
          type: 'redis',
          name: 'cache',
          url: `redis://127.0.0.1:${proxy.port}`,
          keyTemplate: `${redisKey}:{topic}`,
          mode: 'list',
          format: 'raw',
          connectTimeoutMs: 300,
          commandTimeoutMs: 1000,
        },
      ],
      routes: [
        { topics: ['app'], sinks: ['files'] },
        { topics: ['both'], sinks: ['files', 'cache'] },
      ],
      defaultSinks: [],
    });
    stops.push(() => collector.stop());

    const files = {
      app: join(dir, 'app.log'),
      both: join(dir, 'both.log'),
      orphan: join(dir, 'orphan.log'),
    };
    for (const f of Object.values(files)) await writeFile(f, '');
    const agent: Agent = await startAgent({
      id: 'metrics-agent',
      cluster: { zookeeper, reportIntervalMs: 300 },
      remote: {
        etcd: { endpoints: [endpoint('etcd')], key },
        allow: [dir],
        statePath: join(dir, 'remote.json'),
        pollMs: 500,
      },
      tails: [
        { paths: [files.app], topic: 'app' },
        { paths: [files.both], topic: 'both' },
        // No route and no default sink: its batches are rejected for good.
        { paths: [files.orphan], topic: 'orphan' },
      ],
      batch: { maxLines: 200 },
      checkpoint: { path: join(dir, 'registry.json') },
      ship: { retryInitialMs: 50, retryMaxMs: 300 },
    });
    stops.push(() => agent.stop());

    const agentUrl = agent.ops.url;
    const collectorUrl = collector.ops.url;
    const before = { agent: await scrape(agentUrl), collector: await scrape(collectorUrl) };

    const written = { app: [] as string[], both: [] as string[] };
    const write = async (topic: 'app' | 'both', n: number) => {
      const lines = Array.from({ length: n }, (_, i) => `${topic}-${written[topic].length + i}`);
      written[topic].push(...lines);
      await appendFile(files[topic], lines.map((l) => `${l}\n`).join(''));
    };
    await write('app', 1000);
    await write('both', 300);
    await appendFile(files.orphan, 'nobody routes this\n'.repeat(10));
    const delivered = async () => (await readAllLines(out)).length;
    await waitFor(async () => (await delivered()) === 1300, {
      timeoutMs: 20_000,
      what: '1,000 app lines and 300 both lines delivered',
    });

    // Redis away: the 'both' route cannot commit; the agent retries and the stream lags.
    await proxy.down();
    await write('both', 300);
    const lagging = await waitFor(
      async () => {
        const text = await scrape(agentUrl);
        const bytes = metricSum(text, 'logrelay_agent_stream_lag_bytes', { topic: 'both' });
        const seconds = metricSum(text, 'logrelay_agent_stream_lag_seconds', { topic: 'both' });
        return bytes > 0 && seconds >= 1 ? { text, bytes, seconds } : undefined;
      },
      { timeoutMs: 15_000, what: 'the both stream lagging by at least a second' },
    );
    expect(lagging.bytes).toBeGreaterThan(0);
    expect(metricSum(lagging.text, 'logrelay_agent_stream_lag_bytes', { topic: 'app' })).toBe(0);
    expect(metricSum(lagging.text, 'logrelay_agent_stream_lag_seconds', { topic: 'app' })).toBe(0);
    const during = await scrape(collectorUrl);
    expect(
      metricSum(during, 'logrelay_collector_sink_errors_total', { sink: 'cache' }),
    ).toBeGreaterThan(0);

    // Redis back: everything arrives, the files sink skips what it had committed already.
    await proxy.up();
    await waitFor(async () => (await delivered()) === 1600, {
      timeoutMs: 30_000,
      what: 'the lines written while Redis was away delivered',
    });
    const caughtUp = await waitFor(
      async () => {
        const text = await scrape(agentUrl);
        return metricSum(text, 'logrelay_agent_stream_lag_bytes') === 0 ? text : undefined;
      },
      { timeoutMs: 10_000, what: 'no lag left' },
    );
    expect(metricSum(caughtUp, 'logrelay_agent_stream_lag_seconds')).toBe(0);

    // Exact counts: the file sink has each line once, Redis has each 'both' line once.
    const all = [...written.app, ...written.both];
    const fileLines = await readAllLines(out);
    const counts = countLines(all, fileLines);
    expect(counts.missing).toBe(0);
    expect(counts.unexpected).toBe(0);
    expect(fileLines.length).toBe(1600);
    expect(new Set(fileLines.filter((l) => l.startsWith('app-'))).size).toBe(1000);
    expect(new Set(fileLines.filter((l) => l.startsWith('both-'))).size).toBe(600);
    const cached = await redis.lrange(`${redisKey}:both`, 0, -1);
    expect(cached).toHaveLength(600);
    expect(countLines(written.both, cached)).toMatchObject({ missing: 0, duplicated: 0 });

    const after = { agent: await scrape(agentUrl), collector: await scrape(collectorUrl) };
    const moved = (
      side: 'agent' | 'collector',
      name: string,
      labels: Record<string, string> = {},
    ) => {
      const family = name.replace(/_(count|sum|bucket)$/, '');
      expect(declared(after[side], family), `${family} is declared`).toBe(true);
      const was = metricSum(before[side], name, labels);
      const now = metricSum(after[side], name, labels);
      expect(now, `${name}${JSON.stringify(labels)} moved from ${was}`).toBeGreaterThan(was);
      return now;
    };

    // Agent: lines and bytes read, shipped, acked, retried, rejected; round trips.
    expect(moved('agent', 'logrelay_agent_lines_read_total')).toBeGreaterThanOrEqual(1610);
    moved('agent', 'logrelay_agent_bytes_read_total');
    moved('agent', 'logrelay_agent_lines_shipped_total');
    moved('agent', 'logrelay_agent_bytes_shipped_total');
    expect(moved('agent', 'logrelay_agent_lines_acked_total')).toBe(1600);
    moved('agent', 'logrelay_agent_bytes_acked_total');
    expect(moved('agent', 'logrelay_agent_lines_rejected_total')).toBe(10);
    moved('agent', 'logrelay_agent_retries_total');
    moved('agent', 'logrelay_agent_batches_total', { result: 'committed' });
    moved('agent', 'logrelay_agent_batches_total', { result: 'rejected' });
    moved('agent', 'logrelay_agent_batch_round_trip_seconds_count');
    moved('agent', 'logrelay_agent_batch_round_trip_seconds_sum');
    // Lag per stream: a series per file, seen above above 0 and back at 0.
    expect(samples(after.agent, 'logrelay_agent_stream_lag_bytes')).toHaveLength(3);
    expect(samples(after.agent, 'logrelay_agent_stream_lag_seconds')).toHaveLength(3);
    // Connections: etcd (remote tails) and ZooKeeper (discovery).
    expect(metricSum(before.agent, 'logrelay_agent_etcd_connected')).toBe(1);
    expect(metricSum(after.agent, 'logrelay_agent_etcd_connected')).toBe(1);
    expect(metricSum(after.agent, 'logrelay_agent_zookeeper_connected')).toBe(1);

    // Collector: lines and bytes by result, dedup, per sink committed / errors / latency.
    moved('collector', 'logrelay_collector_lines_total', { result: 'committed' });
    expect(
      moved('collector', 'logrelay_collector_lines_total', { result: 'rejected' }),
    ).toBeGreaterThanOrEqual(10);
    moved('collector', 'logrelay_collector_bytes_total', { result: 'committed' });
    moved('collector', 'logrelay_collector_batches_total', { result: 'retry' });
    moved('collector', 'logrelay_collector_deduplicated_lines_total', { sink: 'files' });
    expect(
      moved('collector', 'logrelay_collector_sink_committed_lines_total', { sink: 'files' }),
    ).toBe(1600);
    expect(
      moved('collector', 'logrelay_collector_sink_committed_lines_total', { sink: 'cache' }),
    ).toBe(600);
    moved('collector', 'logrelay_collector_sink_committed_bytes_total', { sink: 'cache' });
    moved('collector', 'logrelay_collector_sink_errors_total', { sink: 'cache' });
    moved('collector', 'logrelay_collector_sink_write_seconds_count', { sink: 'files' });
    moved('collector', 'logrelay_collector_sink_write_seconds_count', { sink: 'cache' });
    moved('collector', 'logrelay_collector_limit_hits_total', { limit: 'maxBatchLines' });
    // Cluster: ZooKeeper connected, the only member leads.
    expect(metricSum(after.collector, 'logrelay_cluster_zookeeper_connected')).toBe(1);
    expect(metricSum(after.collector, 'logrelay_cluster_leader')).toBe(1);

    // Every name follows the conventions: counters end in _total; units in the name.
    for (const text of [after.agent, after.collector]) {
      for (const m of text.matchAll(/^# TYPE (logrelay_\S+) (\S+)$/gm)) {
        const [, name, type] = m as unknown as [string, string, string];
        if (type === 'counter') expect(name, name).toMatch(/_total$/);
        else expect(name, name).not.toMatch(/_total$/);
        if (type === 'histogram') expect(name, name).toMatch(/_seconds$|_bytes$/);
      }
    }
  });
});
