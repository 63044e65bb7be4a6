/**
 * Issue 6, "Done when" item 4: 5 agents bursting at 10× a sink's configured rate → the sink
 * receives at most the rate (±10 %, over 10 s windows) and nothing is lost.
 *
 * The Kafka sink is limited to RATE lines/s (`flow.rate.recordsPerSecond`). Five real agents
 * each get a file that grows at 2×RATE lines/s for BURST_S seconds: 10× the rate in all. Each
 * Kafka record's timestamp is the moment the sink sent it, so counting records per 10 s window
 * measures what the sink received. The excess must wait in the agents' files (retry-after),
 * so the test also checks that agents were turned away and that every line arrived exactly once.
 */
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '../../src/collector/collector.js';
import { consumeAll, createTestTopic, deleteTestTopics, testKafka } from '../helpers/kafka.js';
import { countLines, startAgent, startCollector } from '../helpers/relay.js';
import { endpoint, requireService } from '../helpers/services.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sleep } from '../helpers/wait-for.js';

const RATE = 1000; // lines/s the sink is configured for
const AGENTS = 5;
const BURST_S = 4;
const PER_AGENT_PER_S = 2 * RATE; // 5 agents × 2×RATE = 10× the rate
const WINDOW_MS = 10_000;

describe('smoothing: many agents bursting above a sink’s rate', () => {
  const kafka = testKafka('smoothing-e2e');
  let topic = '';
  const stops: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    await requireService('kafka');
    topic = await createTestTopic(kafka, 'smooth');
  });
  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    await deleteTestTopics(kafka, [topic]);
  });

  it('delivers at the configured rate (±10 % per 10 s window), every line exactly once', async () => {
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const collector: Collector = await startCollector({
      id: 'smoother',
      sinks: [
        {
          type: 'kafka',
          name: 'kafka',
          brokers: [endpoint('kafka')],
          flow: { rate: { recordsPerSecond: RATE } },
        },
      ],
      routes: [{ topics: ['*'], sinks: ['kafka'] }],
    });
    stops.push(() => collector.stop());
    // The collector's topic is the Kafka topic (no prefix): agents ship to `topic`.
    const files = Array.from({ length: AGENTS }, (_, a) => join(dir, `burst-${a}.log`));
    await Promise.all(files.map((f) => writeFile(f, '')));
    for (let a = 0; a < AGENTS; a++) {
      const agent = await startAgent({
        id: `burst-agent-${a}`,
        collectors: [collector.address],
        tails: [{ paths: [files[a]!], topic }],
        checkpoint: { path: join(dir, `registry-${a}.json`) },
        batch: { maxLines: 100, maxWaitMs: 100 },
      });
      stops.push(() => agent.stop());
    }

    // The collector's in-flight bytes, sampled: what it holds in memory while agents wait.
    let maxInFlight = 0;
    const sampler = setInterval(() => {
      void collector.registry
        .getSingleMetric('logrelay_collector_inflight_bytes')!
        .get()
        .then((m) => (maxInFlight = Math.max(maxInFlight, m.values[0]?.value ?? 0)));
    }, 50);
    stops.push(async () => clearInterval(sampler));
    const written: string[] = [];
    const ticks = BURST_S * 10;
    const perTick = PER_AGENT_PER_S / 10;
    for (let t = 0; t < ticks; t++) {
      const started = Date.now();
      await Promise.all(
        files.map((file, a) => {
          const chunk: string[] = [];
          for (let i = 0; i < perTick; i++) chunk.push(`a${a}#${t * perTick + i} burst line`);
          written.push(...chunk);
          return appendFile(file, chunk.map((l) => `${l}\n`).join(''));
        }),
      );
      await sleep(Math.max(0, 100 - (Date.now() - started)));
    }
    expect(written).toHaveLength(AGENTS * PER_AGENT_PER_S * BURST_S);

    const consumed = await consumeAll(kafka, topic, {
      expectedDistinct: written.length,
      timeoutMs: 180_000,
    });
    clearInterval(sampler);
    const writtenBytes = written.reduce((n, l) => n + l.length + 1, 0);
    const counts = countLines(
      written,
      consumed.records.map((r) => r.value),
    );

    const stamps = consumed.records.map((r) => r.timestamp).sort((x, y) => x - y);
    const first = stamps[0] ?? 0;
    const last = stamps[stamps.length - 1] ?? 0;
    const windows: number[] = [];
    for (let start = first; start + WINDOW_MS <= last; start += WINDOW_MS) {
      windows.push(stamps.filter((s) => s >= start && s < start + WINDOW_MS).length);
    }
    const metric = await collector.registry
      .getSingleMetric('logrelay_collector_throttled_batches_total')!
      .get();
    const throttled = Object.fromEntries(
      metric.values.map((v) => [`${v.labels['scope']}/${v.labels['action']}`, v.value]),
    );
    console.log(
      JSON.stringify({
        rateLinesPerS: RATE,
        offeredLinesPerS: AGENTS * PER_AGENT_PER_S,
        linesPerWindow: windows,
        expectedPerWindow: (RATE * WINDOW_MS) / 1000,
        drainSeconds: (last - first) / 1000,
        throttled,
        maxCollectorInFlightBytes: maxInFlight,
        writtenBytes,
        ...counts,
      }),
    );

    expect(counts).toMatchObject({ missing: 0, duplicated: 0, unexpected: 0 });
    expect(counts.delivered).toBe(written.length);
    // 40 000 lines at 1000/s: ≥ 3 full windows.
    expect(windows.length).toBeGreaterThanOrEqual(3);
    const target = (RATE * WINDOW_MS) / 1000;
    for (const n of windows) {
      expect(n).toBeGreaterThanOrEqual(target * 0.9);
      expect(n).toBeLessThanOrEqual(target * 1.1);
    }
    // The sink's rate held batches back...
    expect(throttled['sink/held'] ?? 0).toBeGreaterThan(0);
    // ...and the excess waited in the agents' files, not in the collector: it never held more
    // than the agents' windows (5 agents × 8 batches of ≤ 100 lines), a small part of the burst.
    expect(maxInFlight).toBeGreaterThan(0);
    expect(maxInFlight).toBeLessThan(writtenBytes / 4);
  });
});
