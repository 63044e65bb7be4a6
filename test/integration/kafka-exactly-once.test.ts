/**
 * Issue 4 — exactly-once into Kafka: records and the stream's mark in one transaction per
 * batch, per-agent transactional producers. A collector taking an agent over fences the one
 * before (whose later commit fails) and resumes from the committed marks, so a read_committed
 * consumer sees every line once, however the batches are resent.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '../../src/collector/collector.js';
import { makeBatch } from '../helpers/batches.js';
import { consumeAll, createTestTopic, deleteTestTopics, testKafka } from '../helpers/kafka.js';
import { RawShip } from '../helpers/raw-client.js';
import { countLines, startAgent, startCollector } from '../helpers/relay.js';
import { endpoint, requireService } from '../helpers/services.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait-for.js';

describe('Kafka sink, exactly-once', () => {
  const kafka = testKafka('eos-it');
  let topic = '';
  const stops: Array<() => Promise<unknown>> = [];

  /** A collector with one exactly-once Kafka sink under a client id of its own, stopped after. */
  const eosCollector = async (id: string, sink: Record<string, unknown> = {}) => {
    const c = await startCollector({
      id,
      sinks: [
        {
          type: 'kafka',
          name: 'kafka',
          brokers: [endpoint('kafka')],
          clientId: uniqueName('eos'),
          exactlyOnce: true,
          ...sink,
        },
      ],
    });
    stops.push(() => c.stop());
    return c;
  };

  beforeAll(async () => {
    await requireService('kafka');
    topic = await createTestTopic(kafka, 'eos');
  });
  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    await deleteTestTopics(kafka, [topic]);
  });

  it('fences the previous collector on takeover, skips what it committed, and a read_committed consumer sees each line once', async () => {
    const clientId = uniqueName('eos');
    const collector = (id: string): Promise<Collector> =>
      eosCollector(id, { clientId, exactlyOnce: {} });
    const a = await collector('eos-a');
    const b = await collector('eos-b');
    const lines = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => `line-${String(from + i).padStart(4, '0')}`);
    // Every line is "line-NNNN" (9 bytes + newline): batch k covers lines 10k..10k+9.
    const batch = (k: number, seq: number) =>
      makeBatch(lines(10 * k, 10), 100 * k, { seq, topic, agentId: 'eos-agent' });
    const ship = async (c: Collector, ...batches: ReturnType<typeof batch>[]) => {
      const raw = new RawShip(c.address);
      try {
        raw.hello('eos-agent');
        const out: string[] = [];
        for (const b of batches) out.push((await raw.ship(b)).result?.$case ?? 'none');
        return out;
      } finally {
        raw.close();
      }
    };

    expect(await ship(a, batch(0, 1), batch(1, 2))).toEqual(['committed', 'committed']);
    // The agent moves to B and resends from an older checkpoint: B fences A, reads the marks
    // A committed and writes only what is new.
    expect(await ship(b, batch(0, 1), batch(1, 2), batch(2, 3))).toEqual([
      'committed',
      'committed',
      'committed',
    ]);
    // A zombie: A still holds its producer for the agent; its next transaction is fenced.
    expect(await ship(a, batch(3, 4))).toEqual(['retryAfter']);
    // The agent (with B again) resends batch 3 and goes on: B takes the agent back.
    expect(await ship(b, batch(3, 4), batch(4, 5))).toEqual(['committed', 'committed']);

    const written = lines(0, 50);
    const consumed = await consumeAll(kafka, topic, { expectedDistinct: 50, timeoutMs: 30_000 });
    const counts = countLines(
      written,
      consumed.records.map((r) => r.value),
    );
    console.log(JSON.stringify(counts));
    expect(counts).toMatchObject({ delivered: 50, missing: 0, duplicated: 0, unexpected: 0 });
    // Order kept within the stream.
    expect(consumed.records.map((r) => r.value)).toEqual(written);
    const dedup = await b.registry.getSingleMetric('logrelay_sink_deduplicated_lines_total')!.get();
    expect(dedup.values[0]?.value).toBe(20);
  });

  it('does not take other content on a known inode for lines already delivered (registry lost)', async () => {
    const { dir, cleanup } = await tempDir('logrelay-eos-inode-');
    const file = join(dir, 'app.log');
    const registry = join(dir, 'registry.json');
    const own = await createTestTopic(kafka, 'eos_inode');
    const c = await eosCollector('eos-inode');
    const agentConfig = {
      id: uniqueName('inode-agent'),
      collectors: [c.address],
      tails: [{ paths: [file], topic: own }],
      checkpoint: { path: registry, flushIntervalMs: 50 },
    };
    // Longer than the fingerprint (1 KiB) both times: the two files differ in their first bytes.
    const first = Array.from(
      { length: 100 },
      (_, i) => `old-${String(i).padStart(4, '0')} ${'o'.repeat(32)}`,
    );
    await writeFile(file, first.map((l) => `${l}\n`).join(''));
    let agent = await startAgent(agentConfig);
    await waitFor(
      async () =>
        (await consumeAll(kafka, own, { expectedDistinct: 100, timeoutMs: 1000, settleMs: 0 }))
          .distinct === 100,
      {
        timeoutMs: 30_000,
        what: 'the first file delivered',
      },
    );
    await agent.stop();
    // Same device and inode, other content, and the agent's registry gone (lost, or its entry
    // cleaned long after the old file was removed): the marks in Kafka are the old file's.
    const second = Array.from(
      { length: 50 },
      (_, i) => `new-${String(i).padStart(4, '0')} ${'n'.repeat(32)}`,
    );
    await writeFile(file, second.map((l) => `${l}\n`).join(''));
    await rm(registry, { force: true });
    await rm(`${registry}.prev`, { force: true });
    agent = await startAgent(agentConfig);
    try {
      const consumed = await consumeAll(kafka, own, { expectedDistinct: 150, timeoutMs: 30_000 });
      const counts = countLines(
        [...first, ...second],
        consumed.records.map((r) => r.value),
      );
      expect(counts).toMatchObject({ missing: 0, duplicated: 0, unexpected: 0 });
    } finally {
      await agent.stop();
      await deleteTestTopics(kafka, [own]);
      await cleanup();
    }
  });

  it('refuses a batch whose topic can never be valid for good, rather than retrying it for ever', async () => {
    // With the tail's topic the name is longer than Kafka allows (249).
    const c = await eosCollector('eos-refuse', { topicPrefix: 'p'.repeat(240) });
    const raw = new RawShip(c.address);
    try {
      raw.hello('eos-refuse-agent');
      const answer = await raw.ship(
        makeBatch(['x'], 0, { seq: 1, topic: 'topic_too_long', agentId: 'eos-refuse-agent' }),
      );
      expect(answer.result).toMatchObject({ $case: 'rejected', value: { code: 'SINK_REJECTED' } });
    } finally {
      raw.close();
    }
  });
});
