import {
  appendFile,
  copyFile,
  mkdir,
  readFile,
  rename,
  stat,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import type { SinkBatch } from '../../src/collector/sinks/sink.js';
import { metricSum } from '../helpers/processes.js';
import { gbk, javaEvent } from '../helpers/record-logs.js';
import {
  countLines,
  exactlyOnce,
  startAgent,
  startRecordingCollector,
  type Committed,
} from '../helpers/relay.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

// Issue 15's record stage end to end: agent → gRPC → collector → file sink, no external service.
// Records (events) are counted as the sink receives them: every event unique, counted exactly.

/**
 * Waits until the sink committed as many records as were written (30 s at most), lets late
 * duplicates arrive (800 ms), then expects each of the `n` written events once.
 */
async function expectEachOnce(
  written: readonly string[],
  committed: readonly Committed[],
  n: number,
): Promise<void> {
  await waitFor(() => committed.length >= written.length, {
    timeoutMs: 30_000,
    what: `${written.length} events`,
  });
  await sleep(800);
  expect(
    countLines(
      written,
      committed.map((c) => c.text),
    ),
  ).toEqual(exactlyOnce(n));
}

/**
 * After javaEvent(1), `event` cut after its first `at` lines by a lost ack, then javaEvent(4) and
 * javaEvent(5): every line once, the event's first part once and its rest as a record of its
 * own — never one longer record that the collector would drop as a duplicate.
 */
async function expectSplitEventOnce(
  committed: readonly Committed[],
  event: readonly string[],
  at: number,
): Promise<void> {
  const lines = [javaEvent(1), ...event, javaEvent(4), javaEvent(5)];
  const delivered = () => committed.flatMap((c) => c.text.split('\n'));
  await waitFor(() => delivered().length >= lines.length, {
    timeoutMs: 30_000,
    what: `${lines.length} lines`,
  });
  await sleep(800);
  expect(countLines(lines, delivered())).toEqual(exactlyOnce(lines.length));
  expect(committed.map((c) => c.text)).toEqual([
    javaEvent(1),
    event.slice(0, at).join('\n'),
    event.slice(at).join('\n'),
    javaEvent(4),
    javaEvent(5),
  ]);
}

describe('record stage: multiline, filters, encodings (file sink)', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  async function setup(tail: Record<string, unknown>, failEvery = 0) {
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const logs = join(dir, 'logs');
    await mkdir(logs);
    const { collector, sink, committed } = await startRecordingCollector(dir, failEvery);
    stops.push(() => collector.stop());
    const agentConfig = {
      id: 'rec',
      collectors: [collector.address],
      tails: [{ paths: [join(logs, '*.log*')], topic: 'app', ...tail }],
      checkpoint: { path: join(dir, 'registry.json'), flushIntervalMs: 50 },
      lines: { partialFlushMs: 200 },
    };
    return { dir, logs, committed, agentConfig, collector, sink };
  }

  async function agentFor(config: Record<string, unknown>): Promise<Agent> {
    const agent = await startAgent(config);
    stops.push(() => agent.stop());
    return agent;
  }

  it('(a) keeps every Java stack trace whole and delivers each event once across rename rotation', async () => {
    const { logs, committed, agentConfig } = await setup({
      multiline: { preset: 'java', flushTimeoutMs: 300 },
    });
    await agentFor(agentConfig);
    const written: string[] = [];
    const log = join(logs, 'svc.log');
    let n = 0;
    for (let round = 0; round < 6; round++) {
      // Events written in pieces: some writes end inside a stack trace.
      for (let k = 0; k < 60; k++) {
        const event = javaEvent(n++);
        written.push(event);
        const lines = event.split('\n');
        const cut = Math.ceil(lines.length / 2);
        if (lines.length > 1 && k % 4 === 0) {
          await appendFile(log, lines.slice(0, cut).join('\n') + '\n');
          await sleep(5);
          await appendFile(log, lines.slice(cut).join('\n') + '\n');
        } else await appendFile(log, event + '\n');
      }
      if (round % 2 === 1) {
        // Rename rotation between events; the app goes on in a new file.
        await sleep(50);
        await rename(log, join(logs, `svc.log.${round}`));
      }
      await sleep(30);
    }
    await expectEachOnce(written, committed, 360);
    expect(written.filter((e) => e.includes('\n'))).toHaveLength(120);
  });

  it('(a2) keeps events whole and once when sink outages make the agent rewind and resend', async () => {
    const { logs, committed, agentConfig } = await setup(
      // Single-line events ending in 7 are dropped (the pattern's $ is the event's end).
      { multiline: { preset: 'java', flushTimeoutMs: 200 }, excludeLines: ['order \\d*7$'] },
      3,
    );
    const agent = await agentFor({ ...agentConfig, batch: { maxLines: 20, maxWaitMs: 0 } });
    const written: string[] = [];
    const log = join(logs, 'svc.log');
    for (let n = 0; n < 300; n++) {
      const event = javaEvent(n);
      if (!/order \d*7$/.test(event)) written.push(event);
      const lines = event.split('\n');
      await appendFile(log, lines.slice(0, 2).join('\n') + '\n');
      if (lines.length > 2) await appendFile(log, lines.slice(2).join('\n') + '\n');
      if (n % 50 === 0) await sleep(20);
    }
    await expectEachOnce(written, committed, 280);
    const metrics = await agent.registry.metrics();
    expect(metricSum(metrics, 'logrelay_agent_retries_total')).toBeGreaterThan(0);
  });

  it('(a3) keeps events whole and once across copytruncate', async () => {
    const { logs, committed, agentConfig } = await setup({
      multiline: { preset: 'java', flushTimeoutMs: 300 },
    });
    await agentFor(agentConfig);
    const log = join(logs, 'svc.log');
    const written: string[] = [];
    const write = async (from: number, to: number) => {
      for (let n = from; n < to; n++) {
        written.push(javaEvent(n));
        await appendFile(log, javaEvent(n) + '\n');
      }
    };
    await write(0, 100);
    await waitFor(() => committed.length >= 90, { timeoutMs: 20_000, what: 'first events' });
    // logrotate's copytruncate: the copy keeps the old content, the file restarts at 0.
    await write(100, 130);
    await copyFile(log, join(logs, 'svc.log.1'));
    await truncate(log, 0);
    await write(130, 200);
    await expectEachOnce(written, committed, 200);
  });

  it('(b) sends an event whole, once, when the agent is restarted in the middle of it', async () => {
    const { logs, committed, agentConfig } = await setup({
      multiline: { preset: 'java', flushTimeoutMs: 60_000 },
    });
    const log = join(logs, 'svc.log');
    const events = [javaEvent(1), javaEvent(2), javaEvent(3), javaEvent(6)];
    const unfinished = javaEvent(9).split('\n');
    await writeFile(log, events.join('\n') + '\n' + unfinished.slice(0, 3).join('\n') + '\n');
    const first = await agentFor(agentConfig);
    // Everything before the unfinished event is shipped; it waits for its end.
    await waitFor(() => committed.length >= 4, { timeoutMs: 20_000, what: '4 events' });
    await sleep(500);
    expect(committed).toHaveLength(4);
    await first.stop();
    await appendFile(log, unfinished.slice(3).join('\n') + '\n' + javaEvent(10) + '\n');
    await agentFor(agentConfig);
    await waitFor(() => committed.length >= 5, { timeoutMs: 20_000, what: 'the restarted event' });
    await sleep(500);
    const written = [...events, unfinished.join('\n')];
    // The last event is held (flush timeout 60 s): it is not the point here.
    expect(
      countLines(
        written,
        committed.map((c) => c.text),
      ),
    ).toEqual(exactlyOnce(5));
  });

  /**
   * Routes the agent through a proxy and makes the ack of the first batch holding a record that
   * starts with `head` get lost: the connection is cut once the sink has written it (the
   * collector's mark is past the record). Resolves the returned promise when it was cut.
   */
  async function loseAckOf(
    env: Awaited<ReturnType<typeof setup>>,
    head: string,
  ): Promise<{ proxy: TcpProxy; cut: Promise<void> }> {
    const [host, port] = env.collector.address.split(':');
    const proxy = new TcpProxy({ host: host as string, port: Number(port) });
    await proxy.up();
    stops.push(() => proxy.down());
    const write = env.sink.write.bind(env.sink);
    let armed = true;
    let done: () => void = () => undefined;
    const cut = new Promise<void>((resolve) => (done = resolve));
    env.sink.write = async (batch: SinkBatch) => {
      const result = await write(batch);
      if (armed && batch.lines.some((l) => String(l).startsWith(head))) {
        armed = false;
        await proxy.down();
        done();
      }
      return result;
    };
    return { proxy, cut };
  }

  it('(b2) delivers every line once when the ack of an event flushed by its timeout is lost and the event grows', async () => {
    const env = await setup({ multiline: { preset: 'java', flushTimeoutMs: 300 } });
    const event = javaEvent(3).split('\n');
    const head = event.slice(0, 3);
    const { proxy, cut } = await loseAckOf(env, head[0] as string);
    await agentFor({ ...env.agentConfig, collectors: [`127.0.0.1:${proxy.port}`] });
    const log = join(env.logs, 'svc.log');
    // The trace pauses longer than the flush timeout: its first lines go out as one event.
    await writeFile(log, `${javaEvent(1)}\n${head.join('\n')}\n`);
    await cut;
    // Its rest is written while the agent waits for an answer that will not come.
    await appendFile(log, `${event.slice(3).join('\n')}\n${javaEvent(4)}\n${javaEvent(5)}\n`);
    await sleep(200);
    await proxy.up();
    await expectSplitEventOnce(env.committed, event, 3);
  });

  it('(b3) delivers every line once when the agent restarts after an event flushed by its timeout lost its ack', async () => {
    const env = await setup({ multiline: { preset: 'java', flushTimeoutMs: 300 } });
    const event = javaEvent(3).split('\n');
    const head = event.slice(0, 3);
    const { proxy, cut } = await loseAckOf(env, head[0] as string);
    const agent = await agentFor({ ...env.agentConfig, collectors: [`127.0.0.1:${proxy.port}`] });
    const log = join(env.logs, 'svc.log');
    await writeFile(log, `${javaEvent(1)}\n${head.join('\n')}\n`);
    await cut;
    // The agent goes down without the answer: only its registry knows where the event was cut.
    await agent.stop();
    const registry = JSON.parse(await readFile(env.agentConfig.checkpoint.path, 'utf8')) as {
      entries: Record<string, { offset: number; cuts?: number[] }>;
    };
    const flushedEnd = Buffer.byteLength(`${javaEvent(1)}\n${head.join('\n')}\n`);
    expect(Object.values(registry.entries).map((e) => e.cuts)).toEqual([[flushedEnd]]);
    await appendFile(log, `${event.slice(3).join('\n')}\n${javaEvent(4)}\n${javaEvent(5)}\n`);
    await agentFor(env.agentConfig);
    await expectSplitEventOnce(env.committed, event, 3);
  });

  it('(c) delivers exactly the included half, acks up to the file end, and resends nothing after a restart', async () => {
    const { logs, committed, agentConfig } = await setup({
      excludeLines: ['^\\S+ DEBUG '],
    });
    const lines = Array.from(
      { length: 2000 },
      (_, i) =>
        `2026-12-07T10:00:00.${String(i).padStart(4, '0')} ${i % 2 ? 'DEBUG' : 'INFO'} line ${i}`,
    );
    // A trailing run of dropped lines: only a batch of zero records can move the checkpoint over it.
    for (let i = 0; i < 50; i++) lines.push(`2026-12-07T10:00:01.${i} DEBUG tail ${i}`);
    const log = join(logs, 'f.log');
    await writeFile(log, lines.map((l) => `${l}\n`).join(''));
    const size = (await stat(log)).size;
    const included = lines.filter((l) => l.includes(' INFO '));
    const agent = await agentFor(agentConfig);
    await waitFor(() => committed.length >= included.length, {
      timeoutMs: 20_000,
      what: `${included.length} lines`,
    });
    await waitFor(() => agent.checkpoints.entries().some((e) => e.offset === size), {
      timeoutMs: 10_000,
      what: 'the checkpoint at the file end',
    });
    const metrics = await agent.registry.metrics();
    expect(metricSum(metrics, 'logrelay_agent_lines_filtered_total')).toBeGreaterThanOrEqual(1050);
    await agent.stop();
    const registry = JSON.parse(await readFile(agentConfig.checkpoint.path, 'utf8')) as {
      entries: Record<string, { offset: number }>;
    };
    expect(Object.values(registry.entries).map((e) => e.offset)).toEqual([size]);
    await agentFor(agentConfig);
    await sleep(1500);
    expect(
      countLines(
        included,
        committed.map((c) => c.text),
      ),
    ).toEqual(exactlyOnce(1000));
  });

  it('(d) delivers a GBK file as UTF-8 text, with the offsets of the source bytes', async () => {
    const { logs, committed, agentConfig } = await setup({ encoding: 'gbk' });
    const lines = Array.from(
      { length: 500 },
      (_, i) => `2026-12-07 10:00:00 信息 订单 ${i} 已支付，金额 ${i * 3} 元`,
    );
    const file = gbk(lines.map((l) => `${l}\n`).join(''));
    // GBK never has 0x0A inside a character: the line starts are after each newline byte.
    const offsets = [0];
    for (let i = file.indexOf(10); i !== -1 && i < file.length - 1; i = file.indexOf(10, i + 1))
      offsets.push(i + 1);
    expect(offsets).toHaveLength(500);
    expect(file.length).toBeLessThan(Buffer.byteLength(lines.join('\n')));
    await writeFile(join(logs, 'gbk.log'), file);
    await agentFor(agentConfig);
    await waitFor(() => committed.length >= lines.length, { timeoutMs: 20_000, what: '500 lines' });
    await sleep(300);
    expect(
      countLines(
        lines,
        committed.map((c) => c.text),
      ),
    ).toEqual(exactlyOnce(500));
    expect(committed.map((c) => c.offset)).toEqual(offsets);
  });

  it('(e) delivers a UTF-16LE file (BOM, CRLF, 上 whose bytes hold 0x0A) as UTF-8, with source offsets', async () => {
    const { logs, committed, agentConfig } = await setup({ encoding: 'utf-16le' });
    const lines = Array.from({ length: 300 }, (_, i) => `上线 ${i}: 订单已上传 \u{1F600}`);
    const parts = lines.map((l, i) => Buffer.from(`${i === 0 ? '\ufeff' : ''}${l}\r\n`, 'utf16le'));
    const offsets: number[] = [];
    let at = 0;
    for (const p of parts) {
      offsets.push(at);
      at += p.length;
    }
    await writeFile(join(logs, 'wide.log'), Buffer.concat(parts));
    await agentFor(agentConfig);
    await waitFor(() => committed.length >= lines.length, { timeoutMs: 20_000, what: '300 lines' });
    await sleep(300);
    expect(
      countLines(
        lines,
        committed.map((c) => c.text),
      ),
    ).toEqual(exactlyOnce(300));
    expect(committed.map((c) => c.offset)).toEqual(offsets);
  });
});
