import { appendFile, mkdir, rename, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { kubernetesPathFields } from '../../src/agent/records/kubernetes-path.js';
import { consumeAll, createTestTopic, deleteTestTopics, testKafka } from '../helpers/kafka.js';
import { metricSum } from '../helpers/processes.js';
import {
  countLines,
  exactlyOnce,
  startAgent,
  startCollector,
  startRecordingCollector,
  type Committed,
} from '../helpers/relay.js';
import { endpoint, requireService } from '../helpers/services.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

// Issue 15 item 4: container logs (format cri, docker-json) end to end, agent → gRPC →
// collector → sink. Every application line is unique; what the sink committed is counted
// exactly against what the application wrote (not against the runtime's physical lines).

/** The runtime's time for line `n` (RFC 3339 with nanoseconds, as containerd writes it). */
function runtimeTime(n: number): string {
  return `2026-12-07T10:${String(Math.floor(n / 60) % 60).padStart(2, '0')}:${String(n % 60).padStart(2, '0')}.${String(n).padStart(9, '0')}Z`;
}

/**
 * Application line `n`: unique, of a length that varies; every 5th one is long enough to be
 * split by the runtime (`long`), every 40th one far longer (several 16 KiB parts).
 */
function appLine(n: number, long: number): string {
  const head = `${n % 2 ? 'ERROR' : 'INFO '} order ${n} `;
  const size = n % 40 === 0 ? 40_000 : n % 5 === 0 ? long : 20 + (n % 17) * 7;
  let filler = '';
  for (let i = 0; filler.length < size; i++) filler += `${n}:${i}|`;
  return head + filler.slice(0, size);
}

/** Splits `text` into parts of at most `size` characters (ASCII here: bytes). */
function partsOf(text: string, size: number): string[] {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
  return parts.length === 0 ? [''] : parts;
}

/** The CRI lines containerd writes for one application line: P parts, then F. */
function criLines(text: string, n: number, partSize: number): string[] {
  const stream = n % 2 ? 'stderr' : 'stdout';
  const parts = partsOf(text, partSize);
  return parts.map(
    (p, i) => `${runtimeTime(n)} ${stream} ${i === parts.length - 1 ? 'F' : 'P'} ${p}\n`,
  );
}

/** The json-file lines Docker writes for one application line: 16 KiB chunks, the last with `\n`. */
function dockerLines(text: string, n: number): string[] {
  const stream = n % 2 ? 'stderr' : 'stdout';
  const parts = partsOf(text, 16 * 1024);
  return parts.map(
    (p, i) =>
      `${JSON.stringify({ log: i === parts.length - 1 ? `${p}\n` : p, stream, time: runtimeTime(n) })}\n`,
  );
}

/**
 * Appends one application line's physical lines to `file`; every 3rd line is written in two
 * appends with a pause between, so reads end between its parts (the agent must hold the part).
 */
async function writeParts(file: string, physical: string[], n: number): Promise<void> {
  if (physical.length > 1 && n % 3 === 0) {
    const cut = Math.ceil(physical.length / 2);
    await appendFile(file, physical.slice(0, cut).join(''));
    await sleep(15);
    await appendFile(file, physical.slice(cut).join(''));
  } else await appendFile(file, physical.join(''));
}

/**
 * The kubelet's rotation of `live` (renamed to 0.log.<time> in `dir`), and the runtime writing
 * lines n, n+1, n+2 on to the renamed file until ReopenContainerLog reaches it (it then creates a
 * new 0.log). Returns the next line number.
 */
async function kubeletRotation(
  dir: string,
  live: string,
  round: number,
  written: string[],
  n: number,
): Promise<number> {
  const rotated = join(dir, `0.log.20261207-10000${round}`);
  await rename(live, rotated);
  for (let k = 0; k < 3; k++, n++) {
    const text = appLine(n, 2500);
    written.push(text);
    await appendFile(rotated, criLines(text, n, 1000).join(''));
  }
  return n;
}

describe('container logs: cri and docker-json across the runtime’s rotation (file sink)', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  async function setup(
    tail: Record<string, unknown>,
    folder: string,
    glob: string,
    failEvery = 0,
    extra: Record<string, unknown> = {},
  ) {
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const logs = join(dir, folder);
    await mkdir(logs, { recursive: true });
    const { collector, committed } = await startRecordingCollector(dir, failEvery);
    stops.push(() => collector.stop());
    const agentConfig = {
      id: 'containers',
      collectors: [collector.address],
      tails: [{ paths: [join(logs, glob)], topic: 'k8s', ...tail }],
      checkpoint: { path: join(dir, 'registry.json'), flushIntervalMs: 50 },
      lines: { partialFlushMs: 300 },
      // No linger: reads follow the writes closely and often end between a line's parts.
      batch: { maxWaitMs: 0 },
      ...extra,
    };
    const startOne = async (): Promise<Agent> => {
      const started = await startAgent(agentConfig);
      stops.push(() => started.stop());
      return started;
    };
    const agent = await startOne();
    return { logs, committed, agent, startOne };
  }

  /** Waits for `written.length` records, lets late duplicates come (800 ms), counts exactly. */
  async function expectEachOnce(written: readonly string[], committed: readonly Committed[]) {
    await waitFor(() => committed.length >= written.length, {
      timeoutMs: 40_000,
      what: `${written.length} records`,
    });
    await sleep(800);
    return countLines(
      written,
      committed.map((c) => c.text),
    );
  }

  it('cri: reassembles P/F chains whole and once while the kubelet rotates 0.log by rename', async () => {
    // The kubelet's layout and rotation: /var/log/pods/<ns>_<pod>_<uid>/<container>/0.log,
    // renamed to 0.log.<YYYYMMDD-hhmmss> and a new 0.log created; the glob matches both names.
    const { logs, committed, agent } = await setup(
      { format: 'cri' },
      'pods/shop_web-0_4c1e2f/app',
      '*.log*',
    );
    const live = join(logs, '0.log');
    const written: string[] = [];
    let n = 0;
    for (let round = 0; round < 6; round++) {
      for (let k = 0; k < 60; k++) {
        const text = appLine(n, 2500);
        written.push(text);
        await writeParts(live, criLines(text, n, 1000), n);
        n++;
      }
      // A line the runtime did not write (a torn write, another writer): shipped as it is.
      const stray = `stray line of round ${round}, not CRI`;
      written.push(stray);
      await appendFile(live, `${stray}\n`);
      if (round % 2 === 1) {
        await sleep(40);
        n = await kubeletRotation(logs, live, round, written, n);
      }
      await sleep(30);
    }
    expect(await expectEachOnce(written, committed)).toEqual(exactlyOnce(375));
    // Every generation is keyed by the live name (the rotated names are its generations).
    expect(new Set(committed.map((c) => c.keyPath))).toEqual(new Set([live]));
    const metrics = await agent.registry.metrics();
    expect(metricSum(metrics, 'logrelay_agent_format_malformed_total')).toBe(6);
    expect(metricSum(metrics, 'logrelay_agent_partial_lines_unfinished_total')).toBe(0);
  });

  it('cri + multiline java: stack traces on stderr, long lines in P parts, whole and once through rewinds and rotation', async () => {
    const { logs, committed, agent } = await setup(
      { format: 'cri', multiline: { preset: 'java', flushTimeoutMs: 300 } },
      'pods/shop_orders-0_9a8b7c/orders',
      '*.log*',
      4,
    );
    const live = join(logs, '0.log');
    const written: string[] = [];
    for (let n = 0; n < 240; n++) {
      // Every 4th event a stack trace; its message line is long (the runtime splits it).
      const head = `2026-12-07 10:00:00.${String(n).padStart(3, '0')} ${n % 4 ? 'INFO ' : 'ERROR'} order ${n} ${'x'.repeat(n % 4 ? 30 : 2500)}`;
      const event =
        n % 4
          ? [head]
          : [
              head,
              `java.lang.IllegalStateException: payment ${n} refused`,
              `\tat com.example.Pay.charge(Pay.java:${n})`,
              `Caused by: java.net.SocketTimeoutException: read ${n} timed out`,
              `\t... ${n % 9} more`,
            ];
      written.push(event.join('\n'));
      const physical = event.flatMap((line) => criLines(line, n % 4 ? 0 : 1, 1000));
      await writeParts(live, physical, n);
      if (n % 80 === 79) {
        await sleep(40);
        await rename(live, join(logs, `0.log.20261207-1100${n}`));
      }
    }
    expect(await expectEachOnce(written, committed)).toEqual(exactlyOnce(240));
    const metrics = await agent.registry.metrics();
    expect(metricSum(metrics, 'logrelay_agent_retries_total')).toBeGreaterThan(0);
    expect(metricSum(metrics, 'logrelay_agent_partial_lines_unfinished_total')).toBe(0);
    expect(metricSum(metrics, 'logrelay_agent_multiline_cut_total')).toBe(0);
  });

  it('cri: a line whose F is not written when the agent stops is sent whole, once, after the restart', async () => {
    const { logs, committed, agent, startOne } = await setup(
      // A flush timeout far longer than the test: only the F (or rotation) ends the line.
      { format: 'cri', multiline: { preset: 'java', flushTimeoutMs: 600_000 } },
      'pods/shop_web-0_4c1e2f/app',
      '*.log',
    );
    const live = join(logs, '0.log');
    const before = Array.from({ length: 50 }, (_, n) => appLine(n, 2500));
    await appendFile(live, before.map((t, n) => criLines(t, n, 1000).join('')).join(''));
    const open = appLine(50, 2500);
    const parts = criLines(open, 50, 1000);
    // Its P parts are written, its F is not.
    await appendFile(live, parts.slice(0, -1).join(''));
    await waitFor(() => committed.length >= 50, { timeoutMs: 20_000, what: '50 lines' });
    await sleep(600);
    expect(committed).toHaveLength(50);
    await agent.stop();
    const after = Array.from({ length: 20 }, (_, i) => appLine(51 + i, 2500));
    await appendFile(
      live,
      parts.at(-1)! + after.map((t, i) => criLines(t, 51 + i, 1000).join('')).join(''),
    );
    await startOne();
    // The last line waits for the java rule's next event; the 70 before it are the point.
    const written = [...before, open, ...after.slice(0, -1)];
    expect(await expectEachOnce(written, committed)).toEqual(exactlyOnce(70));
  });

  it('cri through /var/log/containers symlinks: the link’s name gives the Kubernetes fields, rotation loses nothing', async () => {
    // The kubelet's symlink /var/log/containers/<pod>_<ns>_<container>-<id>.log → the pod's
    // 0.log. The glob matches the link only: a rotated 0.log.<time> is read to its end through
    // the descriptor the agent holds (the file is gone from the glob, orphaned).
    const id = 'a1b2c3d4'.repeat(8);
    const { logs, committed } = await setup({ format: 'cri' }, 'containers', '*.log');
    const pod = join(logs, '../pods/shop_web-7d4b9c-x2kq9_4c1e2f/nginx');
    await mkdir(pod, { recursive: true });
    const live = join(pod, '0.log');
    const link = join(logs, `web-7d4b9c-x2kq9_shop_nginx-${id}.log`);
    await appendFile(live, '');
    await symlink(live, link);
    const written: string[] = [];
    let n = 0;
    for (let round = 0; round < 4; round++) {
      for (let k = 0; k < 60; k++) {
        const text = appLine(n, 2500);
        written.push(text);
        await writeParts(live, criLines(text, n, 1000), n);
        n++;
      }
      await sleep(40);
      n = await kubeletRotation(pod, live, round, written, n);
      await appendFile(live, '');
      await sleep(30);
    }
    expect(await expectEachOnce(written, committed)).toEqual(exactlyOnce(252));
    expect([...new Set(committed.map((c) => c.keyPath))]).toEqual([link]);
    // Every record, of every generation, carries the fields of the link's name, as batch fields.
    const fields = {
      'k8s.pod.name': 'web-7d4b9c-x2kq9',
      'k8s.namespace.name': 'shop',
      'k8s.container.name': 'nginx',
      'container.id': id,
    };
    expect(kubernetesPathFields(link)).toEqual(fields);
    expect(new Set(committed.map((c) => JSON.stringify(c.fields)))).toEqual(
      new Set([JSON.stringify(fields)]),
    );
  });

  it('cri through /var/log/containers symlinks: a file closed for inactivity, written and rotated meanwhile, loses nothing', async () => {
    // The glob matches the link only, and the link keeps pointing at 0.log: a closed file that
    // grows and is rotated before the agent looks again is found only next to the link's target.
    const id = 'c0ffee00'.repeat(8);
    const { logs, committed, agent } = await setup({ format: 'cri' }, 'containers', '*.log', 0, {
      files: { closeInactiveMs: 300 },
    });
    const pod = join(logs, '../pods/shop_api-0_9d8e7f/api');
    await mkdir(pod, { recursive: true });
    const live = join(pod, '0.log');
    await symlink(live, join(logs, `api-0_shop_api-${id}.log`));
    const written: string[] = [];
    let n = 0;
    const write = async (path: string, count: number) => {
      let text = '';
      for (let k = 0; k < count; k++, n++) {
        written.push(appLine(n, 300));
        text += criLines(appLine(n, 300), n, 1000).join('');
      }
      await appendFile(path, text);
    };
    for (let round = 0; round < 3; round++) {
      await write(live, 20);
      await waitFor(() => committed.length >= written.length, { what: 'the lines so far' });
      await waitFor(() => agent.files.open === 0, { what: 'the file closed', timeoutMs: 5000 });
      // While it is closed: more lines, the kubelet's rename, the runtime's new 0.log.
      await write(live, 15);
      await rename(live, join(pod, `0.log.20261207-11000${round}`));
      await write(live, 10);
    }
    expect(await expectEachOnce(written, committed)).toEqual(exactlyOnce(135));
  });

  it('docker-json: reassembles lines over 16 KiB split in chunks, whole and once across rotation', async () => {
    const id = 'f'.repeat(64);
    const { logs, committed, agent } = await setup(
      { format: 'docker-json' },
      `containers/${id}`,
      '*-json.log*',
    );
    const live = join(logs, `${id}-json.log`);
    const written: string[] = [];
    let n = 0;
    for (let round = 0; round < 5; round++) {
      for (let k = 0; k < 50; k++) {
        // Every 5th line 20-40 KiB: two or three chunks.
        const text = appLine(n, 20_000 + (n % 3) * 1000);
        written.push(text);
        await writeParts(live, dockerLines(text, n), n);
        n++;
      }
      const stray = `{"log":"torn line of round ${round}`;
      written.push(stray);
      await appendFile(live, `${stray}\n`);
      if (round % 2 === 0) {
        // Docker's json-file rotation (max-size): .1 → .2, the live file → .1, a new one.
        await sleep(40);
        await rename(`${live}.1`, `${live}.2`).catch(() => undefined);
        await rename(live, `${live}.1`);
      }
      await sleep(30);
    }
    const long = written.filter((t) => t.length > 16 * 1024);
    expect(long).toHaveLength(50);
    expect(await expectEachOnce(written, committed)).toEqual(exactlyOnce(255));
    expect(new Set(committed.map((c) => c.keyPath))).toEqual(new Set([live]));
    const metrics = await agent.registry.metrics();
    expect(metricSum(metrics, 'logrelay_agent_format_malformed_total')).toBe(5);
    expect(metricSum(metrics, 'logrelay_agent_partial_lines_unfinished_total')).toBe(0);
  });
});

describe('container logs: cri through a collector into Kafka (exactly-once sink)', () => {
  const kafka = testKafka('cri-it');
  const stops: (() => Promise<unknown>)[] = [];
  let topic = '';

  beforeAll(async () => {
    await requireService('kafka');
    topic = await createTestTopic(kafka, 'cri', 3);
  });
  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    await deleteTestTopics(kafka, [topic]);
  });

  it('delivers each reassembled CRI line once and whole, across a kubelet rotation', async () => {
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const logs = join(dir, 'pods/shop_api-1_77aa/api');
    await mkdir(logs, { recursive: true });
    const collector = await startCollector({
      id: 'cri-c',
      sinks: [
        {
          type: 'kafka',
          name: 'kafka',
          brokers: [endpoint('kafka')],
          clientId: uniqueName('cri'),
          exactlyOnce: true,
        },
      ],
    });
    stops.push(() => collector.stop());
    const agent = await startAgent({
      id: uniqueName('cri-agent'),
      collectors: [collector.address],
      tails: [{ paths: [join(logs, '0.log*')], topic, format: 'cri' }],
      checkpoint: { path: join(dir, 'registry.json'), flushIntervalMs: 50 },
      lines: { partialFlushMs: 300 },
    });
    stops.push(() => agent.stop());
    const live = join(logs, '0.log');
    const written: string[] = [];
    for (let n = 0; n < 400; n++) {
      const text = appLine(n, 3000);
      written.push(text);
      await writeParts(live, criLines(text, n, 1024), n);
      if (n === 200) await rename(live, join(logs, '0.log.20261207-100500'));
    }
    const consumed = await consumeAll(kafka, topic, {
      expectedDistinct: written.length,
      timeoutMs: 60_000,
    });
    expect(
      countLines(
        written,
        consumed.records.map((r) => r.value),
      ),
    ).toEqual(exactlyOnce(400));
  });
});
