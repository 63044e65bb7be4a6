import { execFile } from 'node:child_process';
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import type { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/processes.js';
import { countLines, exactlyOnce, startAgent, startCollector } from '../helpers/relay.js';
import { requireService, services } from '../helpers/services.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);
const { host, port } = services.mongodb;
const url = `mongodb://${host}:${port}`;

/** How long MongoDB is away. */
const OUTAGE_MS = 20_000;

/**
 * Stops or starts the test bed's MongoDB server process (scripts/services.sh, the same as an
 * operator would). Its H2 backend keeps the data across the restart.
 */
async function testBed(cmd: 'up' | 'down'): Promise<void> {
  await run('bash', ['scripts/services.sh', cmd, 'mongodb'], {
    cwd: repoRoot,
    timeout: 60_000,
  });
}

async function metricSum(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.reduce((n, v) => n + v.value, 0);
}

describe('MongoDB outage: agent → collector → MongoDB sink, server process stopped for 20 s', () => {
  const database = uniqueName('logrelay_outage');
  const stops: (() => Promise<void>)[] = [];
  let admin: MongoClient;
  /** Whether this test stopped MongoDB and has not started it again. */
  let stopped = false;

  beforeAll(async () => {
    await requireService('mongodb');
    admin = new MongoClient(url, { serverSelectionTimeoutMS: 10_000 });
  });

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
    // Whatever happened, the test bed's MongoDB is left running.
    if (stopped) await testBed('up');
    stopped = false;
  });

  afterAll(async () => {
    if (!admin) return;
    await admin
      .db(database)
      .dropDatabase()
      .catch(() => undefined);
    await admin.close();
  });

  it('retries while MongoDB is down, then stores every line exactly once', async () => {
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const logs = join(dir, 'logs');
    await mkdir(logs);
    const topic = 'outage';

    const collector = await startCollector({
      id: 'c1',
      retryAfterMs: 500,
      sinks: [
        {
          type: 'mongodb',
          name: 'mongo',
          url,
          database,
          connectTimeoutMs: 2000,
          operationTimeoutMs: 5000,
        },
      ],
      routes: [{ topics: [topic], sinks: ['mongo'] }],
    });
    stops.push(() => collector.stop());
    const agent = await startAgent({
      id: 'a1',
      collectors: [collector.address],
      tails: [{ paths: [join(logs, '*.log')], topic }],
      checkpoint: { path: join(dir, 'registry.json'), flushIntervalMs: 50 },
    });
    stops.push(() => agent.stop());

    // A writer appending unique lines all along: 20 lines every 50 ms (about 400 lines/s).
    const written: string[] = [];
    let writing = true;
    const writer = (async () => {
      let n = 0;
      while (writing) {
        const lines = Array.from({ length: 20 }, () => `outage line ${n++} ${'x'.repeat(n % 40)}`);
        written.push(...lines);
        await appendFile(join(logs, 'app.log'), lines.map((l) => `${l}\n`).join(''));
        await sleep(50);
      }
    })();
    stops.push(async () => {
      writing = false;
      await writer;
    });

    const collection = admin.db(database).collection<{ line: string }>(`logs_${topic}`);
    await waitFor(async () => (await collection.countDocuments()) >= 500, {
      timeoutMs: 15_000,
      what: 'first 500 lines in MongoDB',
    });

    // MongoDB goes away: its server process is stopped (TERM), for OUTAGE_MS.
    const retriesBefore = await metricSum(agent.registry, 'logrelay_agent_retries_total');
    const errorsBefore = await metricSum(collector.registry, 'logrelay_mongodb_sink_errors_total');
    stopped = true;
    await testBed('down');
    const downAt = Date.now();
    // The agent is told to retry; the sink counts its failures.
    await waitFor(
      async () =>
        (await metricSum(agent.registry, 'logrelay_agent_retries_total')) > retriesBefore &&
        (await metricSum(collector.registry, 'logrelay_mongodb_sink_errors_total')) > errorsBefore,
      { timeoutMs: OUTAGE_MS - 2000, what: 'retries during the outage' },
    );
    const ackedDuringOutage = agent.streams.find((s) => s.path.endsWith('app.log'))?.acked ?? 0;
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - downAt)));
    // Nothing was acknowledged while MongoDB was away (what was in flight at the stop aside).
    expect(agent.streams.find((s) => s.path.endsWith('app.log'))?.acked).toBe(ackedDuringOutage);
    await testBed('up');
    stopped = false;

    // Back: the writer stops; every line arrives.
    await sleep(2000);
    writing = false;
    await writer;
    await waitFor(async () => (await collection.countDocuments()) >= written.length, {
      timeoutMs: 30_000,
      what: `all ${written.length} lines in MongoDB`,
    });
    await sleep(500);
    const stored = (await collection.find({}, { projection: { line: 1 } }).toArray()).map(
      (d) => d.line,
    );
    const counts = countLines(written, stored);
    const retries = await metricSum(agent.registry, 'logrelay_agent_retries_total');
    const sinkErrors = await metricSum(collector.registry, 'logrelay_mongodb_sink_errors_total');
    const duplicates = await metricSum(
      collector.registry,
      'logrelay_mongodb_sink_duplicate_documents_total',
    );
    console.log(
      `[mongodb-outage] ${JSON.stringify({ ...counts, retries, sinkErrors, duplicates })}`,
    );
    expect(counts).toEqual(exactlyOnce(written.length));
    // Lines were written all through the outage.
    expect(written.length).toBeGreaterThan(OUTAGE_MS / 50);
  }, 90_000);
});
