import { appendFile, mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '../../src/collector/collector.js';
import {
  consumeAll,
  createTestTopic,
  deleteTestTopics,
  testKafka,
  duplicateRanges,
  orderViolations,
  parseLineId,
} from '../helpers/kafka.js';
import {
  killAll,
  logProblems,
  metricSum,
  randomBetween,
  spawnLogrelay,
  type LogrelayProcess,
} from '../helpers/processes.js';
import { countLines, startCollector } from '../helpers/relay.js';
import { endpoint, requireService } from '../helpers/services.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sleep } from '../helpers/wait-for.js';

// kill -9 the agent 10 times during a 200k-line run with rename rotation every 25k lines,
// restarting it each time, into Kafka exactly-once: 0 missing, 0 duplicated, and every line of a
// file (all its generations) under one key — the file's live name — in one partition, in the
// order written.
const FILES = ['a', 'b'];
const LINES_PER_FILE = 100_000;
/** Rename rotation `<f>.log` → `<f>.log.<k>` after every ROTATE_EVERY lines of a file. */
const ROTATE_EVERY = 25_000;
const WRITE_MS = 30_000;
const KILLS = 10;
const AGENT_ID = 'kill-agent';

/** `<file>#<n> <padding>`: unique per line; the padding varies the line length. */
const lineOf = (file: string, n: number): string =>
  `${file}#${String(n).padStart(6, '0')} ${'k'.repeat(8 + ((n * 7919) % 61))}`;

/**
 * Appends LINES_PER_FILE lines to each `<dir>/<file>.log` at an even rate over `durationMs`,
 * renaming the file away every ROTATE_EVERY lines. Every line written is pushed to `written`.
 */
async function writeLogs(dir: string, durationMs: number, written: string[]): Promise<void> {
  const next = new Map(FILES.map((f) => [f, 0]));
  const started = Date.now();
  for (;;) {
    const target = Math.min(
      LINES_PER_FILE,
      Math.ceil(((Date.now() - started) / durationMs) * LINES_PER_FILE),
    );
    for (const file of FILES) {
      let n = next.get(file) ?? 0;
      while (n < target) {
        if (n > 0 && n % ROTATE_EVERY === 0 && next.get(file) === n) {
          await rename(join(dir, `${file}.log`), join(dir, `${file}.log.${n / ROTATE_EVERY}`));
        }
        const end = Math.min(target, (Math.floor(n / ROTATE_EVERY) + 1) * ROTATE_EVERY);
        const lines: string[] = [];
        for (let i = n; i < end; i++) lines.push(lineOf(file, i));
        await appendFile(join(dir, `${file}.log`), lines.join('\n') + '\n');
        written.push(...lines);
        n = end;
        next.set(file, n);
      }
    }
    if (target >= LINES_PER_FILE) return;
    await sleep(20);
  }
}

describe('agent killed with SIGKILL 10 times during a 200k-line run (Kafka exactly-once)', () => {
  const kafka = testKafka('logrelay-e2e-agent-kill');
  const topics: string[] = [];
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    await requireService('kafka');
  });

  afterAll(async () => {
    await killAll();
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    await deleteTestTopics(kafka, topics);
  });

  it('delivers every line exactly once, under one key per file, in the order written', async () => {
    const started = Date.now();
    const { dir, cleanup } = await tempDir('logrelay-e2e-kill-');
    const logs = join(dir, 'logs');
    await mkdir(logs);
    const topic = await createTestTopic(kafka, 'e2e_kill', 2);
    topics.push(topic);

    const collector: Collector = await startCollector({
      id: 'kill-collector',
      sinks: [{ type: 'kafka', name: 'kafka', brokers: [endpoint('kafka')], exactlyOnce: true }],
    });
    stops.push(() => collector.stop());

    const agentConfig = {
      id: AGENT_ID,
      host: 'e2e-host',
      collectors: [collector.address],
      tails: [{ paths: [join(logs, '*.log*')], topic }],
      scanIntervalMs: 100,
      pollIntervalMs: 20,
      lines: { partialFlushMs: 500 },
      ship: { retryInitialMs: 100, retryMaxMs: 1000 },
      checkpoint: { path: join(dir, 'agent.registry.json'), flushIntervalMs: 50 },
      log: { level: 'info' },
    };
    const startAgent = () => spawnLogrelay('agent', 'agent', agentConfig, { dir });

    const written: string[] = [];
    let agent: LogrelayProcess = await startAgent();
    const kills: { atMs: number; lifeMs: number; downMs: number }[] = [];
    const killLoop = async () => {
      for (let i = 0; i < KILLS; i++) {
        // A random moment of the agent's life: during start-up, in the middle of shipping, ...
        await sleep(randomBetween(300, 4000));
        const lifeMs = Date.now() - agent.startedAt;
        const exit = await agent.kill('SIGKILL');
        expect(exit.signal, `kill ${i + 1}: the agent must have been running`).toBe('SIGKILL');
        const downMs = randomBetween(200, 1000);
        kills.push({ atMs: Date.now() - started, lifeMs, downMs });
        await sleep(downMs);
        agent = await startAgent();
      }
    };
    await Promise.all([writeLogs(logs, WRITE_MS, written), killLoop()]);
    const writtenAt = Date.now() - started;
    expect(written.length).toBe(FILES.length * LINES_PER_FILE);

    const consumed = await consumeAll(kafka, topic, {
      expectedDistinct: written.length,
      timeoutMs: 120_000,
      settleMs: 3000,
      onProgress: (distinct, records) =>
        console.log(`[agent-kill] consumed ${distinct} distinct / ${records} records so far`),
    });
    // One order across a file's generations: they share a key, hence a partition.
    const violations = orderViolations(consumed.records, () => 0);
    const values = consumed.records.map((r) => r.value);
    const counts = countLines(written, values);
    const badKeys = consumed.records.filter((r) => {
      const { file } = parseLineId(r.value);
      return r.key !== `${AGENT_ID}:${join(logs, `${file}.log`)}`;
    }).length;
    const partitionsPerFile = Math.max(
      ...FILES.map(
        (f) =>
          new Set(
            consumed.records.filter((r) => parseLineId(r.value).file === f).map((r) => r.partition),
          ).size,
      ),
    );
    const collectorMetrics = await collector.registry.metrics();
    const summary = {
      written: counts.written,
      delivered: counts.delivered,
      missing: counts.missing,
      duplicated: counts.duplicated,
      unexpected: counts.unexpected,
      orderViolations: violations,
      duplicateRanges: duplicateRanges(values),
      badKeys,
      partitionsPerFile,
      kills: kills.length,
      killMoments: kills.map((k) => `${(k.atMs / 1000).toFixed(1)}s(life ${k.lifeMs}ms)`),
      collectorDedupedLines: metricSum(
        collectorMetrics,
        'logrelay_collector_deduplicated_lines_total',
      ),
      collectorLinesCommitted: metricSum(collectorMetrics, 'logrelay_collector_lines_total', {
        result: 'committed',
      }),
      writingDoneSec: +(writtenAt / 1000).toFixed(1),
      allDeliveredSec: +((writtenAt + consumed.ms) / 1000).toFixed(1),
      consumerTimedOut: consumed.timedOut,
      agentLogProblems: await logProblems(agent.logFile),
      dir,
      totalSec: +((Date.now() - started) / 1000).toFixed(1),
    };
    console.log(`[agent-kill] ${JSON.stringify(summary, null, 1)}`);

    await agent.kill('SIGTERM');
    expect(kills).toHaveLength(KILLS);
    expect({
      written: counts.written,
      delivered: counts.delivered,
      missing: counts.missing,
      duplicated: counts.duplicated,
      unexpected: counts.unexpected,
      orderViolations: violations,
      badKeys,
      partitionsPerFile,
    }).toEqual({
      written: 200_000,
      delivered: 200_000,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
      orderViolations: 0,
      badKeys: 0,
      partitionsPerFile: 1,
    });
    // Only cleaned up on success: on failure the agent's log and registry stay for inspection.
    await cleanup();
  });
});
