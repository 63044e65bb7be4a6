/**
 * Issue 12 #22: a file shipped again under the same identity to a sink that keeps marks is
 * skipped as already delivered, and that must not be silent: one log line per sink and stream
 * (stream, path, range, sink), the count in `logrelay status` and in a metric.
 *
 * A collector writes 300 lines of one stream to Redis (exactly-once by its stored marks) and is
 * stopped; a fresh collector (no marks in memory) gets the same batches again, as after a
 * re-ship with the same agent id and a fresh registry. Nothing is written twice.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../src/admin/status/status-report.js';
import type { Collector } from '../../src/collector/collector.js';
import type { Batch } from '../../src/common/wire/index.js';
import { makeBatch } from '../helpers/batches.js';
import { runCli } from '../helpers/cli.js';
import { captureLog } from '../helpers/log-capture.js';
import { RawShip } from '../helpers/raw-client.js';
import { startCollector } from '../helpers/relay.js';
import { endpoint, requireService, services } from '../helpers/services.js';
import { uniqueName } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait-for.js';

const REDIS_URL = `redis://${services.redis.host}:${services.redis.port}`;

async function statusJson(root: string): Promise<StatusReport> {
  const run = await runCli(
    'status',
    '--zookeeper',
    endpoint('zookeeper'),
    '--root',
    root,
    '--json',
  );
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as StatusReport;
}

describe('re-shipping a file to a sink with marks (issue 12 #22)', () => {
  const root = `/${uniqueName('lr_reship')}`;
  const key = uniqueName('lr_reship');
  const agent = uniqueName('reship-agent');
  const stops: Array<() => Promise<unknown>> = [];
  let redis: Redis;

  beforeAll(async () => {
    await requireService('redis');
    await requireService('zookeeper');
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    await redis.del(key, `${key}:marks`);
    redis.disconnect();
  });

  const batches: Batch[] = [0, 1, 2].map((b) =>
    makeBatch(
      Array.from({ length: 100 }, (_, i) => `S-${String(b * 100 + i).padStart(4, '0')}`),
      b * 700,
      { agentId: agent, seq: b + 1, topic: 'reship' },
    ),
  );

  async function collector(id: string, log?: ReturnType<typeof captureLog>['log']) {
    const c: Collector = await startCollector(
      {
        id,
        sinks: [{ type: 'redis', name: 'redis', url: REDIS_URL, keyTemplate: key }],
        cluster: {
          zookeeper: { connect: endpoint('zookeeper'), root, sessionTimeoutMs: 4000 },
          rebalanceIntervalMs: 500,
        },
      },
      log,
    );
    return c;
  }

  async function ship(c: Collector): Promise<void> {
    const raw = new RawShip(c.address);
    try {
      raw.hello(agent);
      for (const batch of batches)
        expect((await raw.ship({ ...batch })).result?.$case).toBe('committed');
    } finally {
      raw.close();
    }
  }

  it('logs the skip once per stream, counts it in status and metrics, and writes nothing twice', async () => {
    const first = await collector('reship-c1');
    await ship(first);
    await first.stop();
    expect(await redis.xlen(key)).toBe(300);

    const { log, records } = captureLog();
    const second = await collector('reship-c2', log);
    stops.push(() => second.stop());
    await ship(second);
    expect(await redis.xlen(key)).toBe(300);

    const skips = records.filter((r) =>
      String(r['msg']).startsWith('lines skipped as already delivered'),
    );
    expect(skips).toHaveLength(1);
    expect(skips[0]).toMatchObject({
      level: 'info',
      sink: 'redis',
      agent,
      stream: `${agent}:1:42:0`,
      path: '/var/log/app.log',
      fromOffset: 0,
      toOffset: 700,
      lines: 100,
      marks: 'sink',
    });

    const metric = await second.registry
      .getSingleMetric('logrelay_collector_skipped_delivered_lines_total')!
      .get();
    expect(metric.values.find((v) => v.labels['sink'] === 'redis')?.value).toBe(300);

    const member = await waitFor(
      async () => {
        const report = await statusJson(root);
        const m = report.members.find((x) => x.id === 'reship-c2');
        return m?.sinks[0]?.skippedLines === 300 ? m : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 300, what: 'the skipped count in logrelay status' },
    );
    expect(member.sinks).toEqual([
      { name: 'redis', type: 'redis', guarantee: 'exactly-once', skippedLines: 300 },
    ]);
    const text = await runCli('status', '--zookeeper', endpoint('zookeeper'), '--root', root);
    expect(text.stdout).toContain('redis (redis, exactly-once, 300 skipped as delivered)');
  });
});
