import { appendFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import type { JsonRecordValue } from '../../src/collector/sinks/kafka/records.js';
import {
  consumeAll,
  createTestTopic,
  deleteTestTopics,
  testKafka,
  type ConsumedRecord,
} from '../helpers/kafka.js';
import { metricSum } from '../helpers/processes.js';
import { gbk, javaEvent } from '../helpers/record-logs.js';
import { countLines, exactlyOnce, startAgent, startCollector } from '../helpers/relay.js';
import { rotate } from '../helpers/rotating-writer.js';
import { endpoint, requireService } from '../helpers/services.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

// Issue 15's record stage end to end into a real broker: agent → gRPC → collector → Kafka sink
// (exactly-once, transactional), read back with a read_committed consumer. One record per event:
// every event unique, counted exactly (written, delivered, missing, duplicated).

describe('record stage: multiline, encodings, filters (collector into Kafka)', () => {
  const kafka = testKafka('records-kafka');
  const topics: string[] = [];
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    await requireService('kafka');
  });
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });
  afterAll(async () => {
    await deleteTestTopics(kafka, topics);
  });

  /**
   * A topic, a collector with one exactly-once Kafka sink, and an agent configuration tailing
   * `<dir>/logs/*.log*` into the topic. The agent id is unique per run: the sink's marks (in
   * Kafka) are per stream, and a new file may get an inode and first bytes seen in an earlier run.
   */
  async function setup(
    tail: Record<string, unknown>,
    { sink = {}, partitions = 1 }: { sink?: Record<string, unknown>; partitions?: number } = {},
  ) {
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const logs = join(dir, 'logs');
    await mkdir(logs);
    const topic = await createTestTopic(kafka, 'rec', partitions);
    topics.push(topic);
    const collector = await startCollector({
      id: uniqueName('rec-c'),
      retryAfterMs: 20,
      sinks: [
        {
          type: 'kafka',
          name: 'kafka',
          brokers: [endpoint('kafka')],
          clientId: uniqueName('rec'),
          exactlyOnce: true,
          ...sink,
        },
      ],
    });
    stops.push(() => collector.stop());
    const agentConfig = {
      id: uniqueName('rec-agent'),
      host: 'rec-host',
      collectors: [collector.address],
      tails: [{ paths: [join(logs, '*.log*')], topic, ...tail }],
      checkpoint: { path: join(dir, 'registry.json'), flushIntervalMs: 50 },
      lines: { partialFlushMs: 200 },
    };
    return { logs, topic, agentConfig };
  }

  async function agentFor(config: Record<string, unknown>): Promise<Agent> {
    const agent = await startAgent(config);
    stops.push(() => agent.stop());
    return agent;
  }

  /**
   * Reads the topic until every written event was seen (60 s at most), then 1.5 s longer for
   * late duplicates, and expects each of the `n` written events there once; returns the records
   * in partition order.
   */
  async function expectEachOnce(
    topic: string,
    written: readonly string[],
    n: number,
  ): Promise<ConsumedRecord[]> {
    const { records } = await consumeAll(kafka, topic, {
      expectedDistinct: written.length,
      timeoutMs: 60_000,
      settleMs: 1500,
    });
    expect(
      countLines(
        written,
        records.map((r) => r.value),
      ),
    ).toEqual(exactlyOnce(n));
    return records;
  }

  /** Waits until the agent acknowledged `path` (its current inode) up to its size. */
  async function ackedToEnd(agent: Agent, path: string): Promise<number> {
    const { ino, size } = await stat(path);
    await waitFor(
      () => agent.checkpoints.entries().some((e) => e.inode === String(ino) && e.offset === size),
      { timeoutMs: 20_000, what: `${path} acknowledged up to ${size}` },
    );
    return size;
  }

  it('(a) delivers every Java event, stack traces whole, once and in file order across three rename rotations', async () => {
    const { logs, topic, agentConfig } = await setup(
      { multiline: { preset: 'java', flushTimeoutMs: 300 } },
      { partitions: 3 },
    );
    const agent = await agentFor(agentConfig);
    const log = join(logs, 'app.log');
    const written: string[] = [];
    /** Which generation of app.log each event was written to (0: the first file). */
    const generation = new Map<string, number>();
    let rotations = 0;
    let n = 0;
    for (let round = 0; round < 7; round++) {
      for (let k = 0; k < 60; k++) {
        const event = javaEvent(n++);
        written.push(event);
        generation.set(event, rotations);
        // Some stack traces are written in two pieces: a read may end inside an event.
        const lines = event.split('\n');
        if (lines.length > 1 && k % 4 === 0) {
          const cut = Math.ceil(lines.length / 2);
          await appendFile(log, lines.slice(0, cut).join('\n') + '\n');
          await sleep(5);
          await appendFile(log, lines.slice(cut).join('\n') + '\n');
        } else await appendFile(log, event + '\n');
      }
      if (round % 2 === 1 && round < 6) {
        // The agent knows the file by its live name before it is rotated (as it does when
        // rotation is hours apart): every generation is keyed by app.log, in one partition.
        await waitFor(
          async () => {
            const { ino } = await stat(log);
            return agent.checkpoints.entries().some((e) => e.inode === String(ino));
          },
          { timeoutMs: 10_000, what: 'the agent to know the live file' },
        );
        // app.log.1 → app.log.2 …, app.log → app.log.1; the writer goes on in a new app.log.
        await rotate(log, ++rotations, 'rename');
      }
      await sleep(30);
    }
    expect(rotations).toBe(3);
    expect(written.filter((e) => e.includes('\n'))).toHaveLength(140);

    const records = await expectEachOnce(topic, written, 420);
    // In order per file: within each generation, events arrive in the order they were written.
    const index = new Map(written.map((e, i) => [e, i]));
    const last = new Map<number, number>();
    let outOfOrder = 0;
    for (const r of records) {
      const g = generation.get(r.value) ?? -1;
      const i = index.get(r.value) ?? -1;
      if (i <= (last.get(g) ?? -1)) outOfOrder++;
      last.set(g, i);
    }
    expect(outOfOrder).toBe(0);
    expect(new Set(records.map((r) => r.partition)).size).toBe(1);
    expect(new Set(records.map((r) => r.key))).toEqual(new Set([`${agentConfig.id}:${log}`]));
    // Every generation acknowledged up to its last byte.
    for (const path of [log, `${log}.1`, `${log}.2`, `${log}.3`]) await ackedToEnd(agent, path);
  });

  it('(b) delivers a GBK file as UTF-8, once, invalid sequences replaced by U+FFFD and counted', async () => {
    const { logs, topic, agentConfig } = await setup({
      encoding: 'gbk',
      multiline: { preset: 'java', flushTimeoutMs: 300 },
    });
    // Placeholders for invalid GBK, put in the text and swapped for bytes after encoding (GBK
    // never has a byte below 0x40 inside a character): \x01 → 81 20 (a lead byte before an
    // ASCII space, which stays), \x02 → B0 (a lead byte cut off by the line's end), \x03 → FF
    // (never a GBK byte).
    const BAD_TRAIL = '\x01';
    const BAD_END = '\x02';
    const BAD_BYTE = '\x03';
    const events = Array.from({ length: 400 }, (_, i) => {
      const head = `2026-12-07 10:00:00 信息 订单 ${i} 已支付，金额 ${i * 3} 元`;
      if (i % 10 === 7) return `${head}${BAD_TRAIL}备注`;
      if (i % 25 === 11) return `${head} 截断${BAD_END}`;
      if (i % 30 === 13) return `${head}${BAD_BYTE}${BAD_BYTE}`;
      if (i % 8 !== 0) return head;
      return [
        `2026-12-07 10:00:00 错误 订单 ${i} 支付失败`,
        `java.lang.IllegalStateException: 余额不足 ${i}`,
        `\tat com.example.PaymentService.charge(PaymentService.java:${i})`,
        `\t... ${i % 9} more`,
        `Caused by: java.io.IOException: 连接超时 ${i}${i % 16 === 0 ? BAD_TRAIL + '重试' : ''}`,
        `\tat com.example.Gateway.call(Gateway.java:${i + 1})`,
      ].join('\n');
    });
    const encoded = gbk(events.map((e) => `${e}\n`).join(''));
    const parts: Buffer[] = [];
    let from = 0;
    for (let i = 0; i < encoded.length; i++) {
      const byte = encoded[i];
      const bad =
        byte === 0x01 ? [0x81, 0x20] : byte === 0x02 ? [0xb0] : byte === 0x03 ? [0xff] : [];
      if (bad.length === 0) continue;
      parts.push(encoded.subarray(from, i), Buffer.from(bad));
      from = i + 1;
    }
    parts.push(encoded.subarray(from));
    const file = Buffer.concat(parts);
    const written = events.map((e) =>
      e
        .replaceAll(BAD_TRAIL, '\ufffd ')
        .replaceAll(BAD_END, '\ufffd')
        .replaceAll(BAD_BYTE, '\ufffd'),
    );
    const invalid = written.join('\n').split('\ufffd').length - 1;
    // 40 heads with a bad trail byte, 24 of the stack traces, 16 heads cut after a lead byte,
    // 13 heads with two 0xFF.
    expect(invalid).toBe(40 + 24 + 16 + 26);
    expect(written.filter((e) => e.includes('\n'))).toHaveLength(48);

    const path = join(logs, 'gbk.log');
    await writeFile(path, file);
    const agent = await agentFor(agentConfig);
    await expectEachOnce(topic, written, 400);
    await ackedToEnd(agent, path);
    const metrics = await agent.registry.metrics();
    expect(metricSum(metrics, 'logrelay_agent_decode_errors_total')).toBe(invalid);
  });

  it('(c) drops filtered events before Kafka, counts their lines, and acknowledges past them', async () => {
    // Included: INFO/WARN/ERROR events (DEBUG is not); excluded among them: anything about the
    // health check, a whole stack trace too when one of its frames is.
    const { logs, topic, agentConfig } = await setup({
      multiline: { preset: 'java', flushTimeoutMs: 300 },
      includeLines: ['^\\S+ \\S+ (INFO |WARN |ERROR) '],
      excludeLines: ['healthcheck'],
    });
    const events = Array.from({ length: 500 }, (_, i) => {
      if (i % 5 === 1) return `2026-12-07 10:00:00.000 DEBUG [main] c.e.Cache - lookup ${i}`;
      if (i % 7 === 2)
        return `2026-12-07 10:00:00.000 INFO  [http] c.e.Http - GET /healthcheck ${i}`;
      if (i % 11 === 3) {
        return [
          `2026-12-07 10:00:00.000 ERROR [probe] c.e.Probe - probe ${i} failed`,
          `java.util.concurrent.TimeoutException: probe ${i}`,
          `\tat com.example.healthcheck.Probe.run(Probe.java:${i})`,
          `\t... ${i % 30} more`,
        ].join('\n');
      }
      return javaEvent(i);
    });
    // A trailing run of dropped events: only a batch of no records moves the checkpoint over it.
    for (let i = 0; i < 30; i++) events.push(`2026-12-07 10:00:01.000 DEBUG [main] tail ${i}`);
    const keep = (e: string) =>
      /^\S+ \S+ (INFO |WARN |ERROR) /.test(e) && !e.includes('healthcheck');
    const written = events.filter(keep);
    const dropped = events.filter((e) => !keep(e));
    const droppedLines = dropped.reduce((sum, e) => sum + e.split('\n').length, 0);
    expect([written.length, dropped.length, droppedLines]).toEqual([310, 220, 316]);

    const path = join(logs, 'app.log');
    // Written in two steps while the agent runs: the second starts with dropped events.
    await writeFile(
      path,
      events
        .slice(0, 251)
        .map((e) => `${e}\n`)
        .join(''),
    );
    const agent = await agentFor(agentConfig);
    await sleep(500);
    await appendFile(
      path,
      events
        .slice(251)
        .map((e) => `${e}\n`)
        .join(''),
    );

    const records = await expectEachOnce(topic, written, 310);
    const droppedSet = new Set(dropped);
    expect(records.filter((r) => droppedSet.has(r.value))).toHaveLength(0);
    const size = await ackedToEnd(agent, path);
    const metrics = await agent.registry.metrics();
    expect(metricSum(metrics, 'logrelay_agent_lines_filtered_total')).toBe(droppedLines);
    await agent.stop();
    const registry = JSON.parse(await readFile(agentConfig.checkpoint.path, 'utf8')) as {
      entries: Record<string, { offset: number }>;
    };
    expect(Object.values(registry.entries).map((e) => e.offset)).toEqual([size]);

    // Restarted, the agent reads nothing again: nothing filtered, nothing resent.
    const again = await agentFor(agentConfig);
    await sleep(1500);
    expect(metricSum(await again.registry.metrics(), 'logrelay_agent_lines_filtered_total')).toBe(
      0,
    );
    await expectEachOnce(topic, written, 310);
  });

  it('(d) gives a multiline record the offset of its first byte in the JSON envelope', async () => {
    const { logs, topic, agentConfig } = await setup(
      {
        multiline: { preset: 'java', flushTimeoutMs: 300 },
        excludeLines: ['order \\d*5$'],
      },
      { sink: { format: 'json' } },
    );
    const path = join(logs, 'svc.log');
    const events = Array.from({ length: 120 }, (_, i) => javaEvent(i));
    // Each event's first byte in the file (UTF-8: characters are the file's bytes).
    const offsets = new Map<string, number>();
    let at = 0;
    for (const e of events) {
      offsets.set(e, at);
      at += Buffer.byteLength(e) + 1;
    }
    const written = events.filter((e) => !/order \d*5$/.test(e));
    expect(written).toHaveLength(112);
    const agent = await agentFor(agentConfig);
    // Stack traces cut between writes: a held event is read again from its first line.
    for (const e of events) {
      const lines = e.split('\n');
      await appendFile(path, lines.slice(0, 3).join('\n') + '\n');
      if (lines.length > 3) {
        await sleep(2);
        await appendFile(path, lines.slice(3).join('\n') + '\n');
      }
    }

    const { records } = await consumeAll(kafka, topic, {
      expectedDistinct: written.length,
      timeoutMs: 60_000,
      settleMs: 1500,
    });
    const envelopes = records.map((r) => JSON.parse(r.value) as JsonRecordValue);
    expect(
      countLines(
        written,
        envelopes.map((v) => v.line),
      ),
    ).toEqual(exactlyOnce(112));
    expect(envelopes.map((v) => v.offset)).toEqual(written.map((e) => offsets.get(e)));
    // One checked in full: event 36 is a stack trace after event 35, a dropped one.
    const trace = javaEvent(36);
    expect(trace.split('\n')).toHaveLength(7);
    const offset36 = (await readFile(path)).indexOf(`${trace}\n`);
    expect(offset36).toBeGreaterThan(0);
    expect(envelopes.find((v) => v.line === trace)).toEqual({
      agent: agentConfig.id,
      host: 'rec-host',
      path,
      offset: offset36,
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as unknown,
      line: trace,
    });
    await ackedToEnd(agent, path);
  });
});
