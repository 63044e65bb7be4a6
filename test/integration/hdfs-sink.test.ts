import { Registry, type Metric } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayError } from '../../src/common/errors/relay-error.js';
import { validateConfig } from '../../src/common/config/load-config.js';
import { createLogger } from '../../src/common/logging/logger.js';
import { hdfsSinkConfigSchema } from '../../src/collector/sinks/hdfs/config.js';
import { finalPathOf, hdfsFilePaths } from '../../src/collector/sinks/hdfs/file-layout.js';
import { HdfsSink, createWebHdfsClient } from '../../src/collector/sinks/hdfs/hdfs-sink.js';
import { WebHdfsClient, type WebHdfsApi } from '../../src/collector/sinks/hdfs/webhdfs-client.js';
import type { SinkBatch } from '../../src/collector/sinks/sink.js';
import { endpoint, requireService, services } from '../helpers/services.js';
import { uniqueName } from '../helpers/unique.js';
import { sleep } from '../helpers/wait-for.js';

// Quiet unless LOGRELAY_LOG_LEVEL asks for the sink's logs.
const log = createLogger(process.env['LOGRELAY_LOG_LEVEL'] ? {} : { level: 'silent' });
const namenodeUrl = `http://${services.hdfs.host}:${services.hdfs.port}`;
const root = `/${uniqueName('logrelay-it').replaceAll('_', '-')}`;
const template = (test: string) =>
  `${root}/${test}/{topic}/dt={yyyy-MM-dd}/hour={HH}/{collector}-{n}.log`;

const zkRoot = `/${uniqueName('lr_hdfs_it')}`;
const naming = { prefix: '.', suffix: '.inprogress' };

const hdfs = new WebHdfsClient({ namenodeUrl, user: 'logrelay', requestTimeoutMs: 30_000 });

/** A stream's batches: every line carries a unique id; some carry bytes that are not UTF-8. */
function streamBatches(stream: string, topic: string, batches: number, perBatch: number) {
  const out: SinkBatch[] = [];
  let offset = 0;
  for (let b = 0; b < batches; b++) {
    const lines: Buffer[] = [];
    const offsets: number[] = [];
    for (let i = 0; i < perBatch; i++) {
      const id = `${stream}-${String(b * perBatch + i).padStart(5, '0')}`;
      const odd = i % 7 === 3 ? Buffer.from([0xff, 0xfe, 0xc3, 0x00, 0x0d]) : Buffer.alloc(0);
      lines.push(Buffer.concat([Buffer.from(`${id} payload `), odd, Buffer.from(' end')]));
      offsets.push(offset);
      offset += (lines.at(-1)?.length ?? 0) + 1;
    }
    out.push({
      streamKey: stream,
      agentId: 'agent-it',
      host: 'host-it',
      path: `/var/log/${stream}.log`,
      topic,
      lines,
      offsets,
      endOffset: offset,
      readTimeMs: Date.now(),
    });
  }
  return out;
}

function emptyLineBatch(stream: string, topic: string): SinkBatch {
  return {
    streamKey: stream,
    agentId: 'agent-it',
    host: 'host-it',
    path: `/var/log/${stream}.log`,
    topic,
    lines: [Buffer.alloc(0)],
    offsets: [0],
    endOffset: 1,
    readTimeMs: Date.now(),
  };
}

/** Every file under `dir`, recursively, with its length. */
async function listFiles(dir: string): Promise<{ path: string; length: number }[]> {
  const entries = (await hdfs.listStatus(dir)) ?? [];
  const out: { path: string; length: number }[] = [];
  for (const e of entries) {
    const path = `${dir}/${e.pathSuffix}`;
    if (e.type === 'DIRECTORY') out.push(...(await listFiles(path)));
    else out.push({ path, length: e.length });
  }
  return out.sort((a, b) => fileOrder(a.path) - fileOrder(b.path) || a.path.localeCompare(b.path));
}

const fileOrder = (path: string) => Number(/-(\d+)\.log/.exec(path)?.[1] ?? -1);

async function readAll(path: string): Promise<Buffer> {
  const content = await hdfs.read(path);
  if (!content) throw new Error(`${path} is missing`);
  return content;
}

/** Splits newline-terminated content; fails on a missing final newline. */
function splitLines(content: Buffer): Buffer[] {
  expect(content.at(-1)).toBe(0x0a);
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = content.indexOf(0x0a); i >= 0; i = content.indexOf(0x0a, start)) {
    lines.push(content.subarray(start, i));
    start = i + 1;
  }
  return lines;
}

async function metricSum(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const metric = registry.getSingleMetric(name) as Metric | undefined;
  const values = (await metric?.get())?.values ?? [];
  return values
    .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((sum, v) => sum + v.value, 0);
}

function makeSink(test: string, collectorId: string, extra: Record<string, unknown> = {}) {
  const config = validateConfig(hdfsSinkConfigSchema, {
    type: 'hdfs',
    name: `hdfs-${test}`,
    namenodeUrl,
    pathTemplate: template(test),
    zookeeper: { connect: endpoint('zookeeper'), root: zkRoot, sessionTimeoutMs: 4000 },
    ...extra,
  });
  const registry = new Registry();
  return { sink: new HdfsSink(config, { log, registry, collectorId }), registry, config };
}

describe('HDFS sink against the real HDFS (WebHDFS)', () => {
  beforeAll(() => requireService('hdfs'));

  afterAll(async () => {
    await hdfs.delete(root, true).catch(() => undefined);
    hdfs.close();
  });

  it('aggregates concurrent streams into few appends, one in-progress file per topic, every line once', async () => {
    const { sink, registry } = makeSink('group', 'c-group');
    await sink.start();
    const topics = ['alpha', 'beta', 'gamma'];
    // Per topic, 3 streams × 5 batches; each stream writes its batches one after another (as
    // the collector does), the streams concurrently.
    const streams = topics.flatMap((topic) =>
      [1, 2, 3].map((s) => ({ topic, batches: streamBatches(`${topic}-s${s}`, topic, 5, 40) })),
    );
    await Promise.all(
      streams.map(async ({ batches }) => {
        for (const b of batches) await sink.write(b);
      }),
    );
    await sink.write(emptyLineBatch('alpha-empty', 'alpha'));

    const batchCount = streams.length * 5 + 1;
    const appends = await metricSum(registry, 'logrelay_hdfs_sink_appends_total');
    expect(appends).toBeLessThan(batchCount);
    expect(appends).toBeGreaterThanOrEqual(topics.length);

    const open = await listFiles(`${root}/group`);
    expect(open.map((f) => f.path.split('/')[3])).toEqual(topics);
    expect(open.every((f) => f.path.endsWith('-0.log.inprogress'))).toBe(true);

    await sink.stop();
    const files = await listFiles(`${root}/group`);
    expect(files.map((f) => f.path)).toEqual(open.map((f) => finalPathOf(f.path, naming)));

    for (const topic of topics) {
      const file = files.find((f) => f.path.split('/')[3] === topic);
      const lines = splitLines(await readAll(file?.path ?? ''));
      const expected = streams
        .filter((s) => s.topic === topic)
        .flatMap((s) => s.batches.flatMap((b) => b.lines));
      if (topic === 'alpha') expected.push(Buffer.alloc(0));
      // Byte-exact, each once: same multiset of lines (as hex), and nothing else.
      expect(lines.map((l) => l.toString('hex')).sort()).toEqual(
        expected.map((l) => l.toString('hex')).sort(),
      );
      // Per stream, in order.
      for (const s of streams.filter((x) => x.topic === topic)) {
        const ids = lines
          .map((l) => l.toString('latin1'))
          .filter((l) => l.startsWith(`${s.batches[0]?.streamKey ?? '?'}-`))
          .map((l) => l.split(' ')[0]);
        expect(ids).toEqual([...ids].sort());
        expect(ids.length).toBe(200);
      }
    }
    expect(await metricSum(registry, 'logrelay_hdfs_sink_lines_total')).toBe(
      streams.length * 200 + 1,
    );
    expect(await metricSum(registry, 'logrelay_hdfs_sink_rolls_total')).toBe(3);
  });

  it('rolls by size into several final files, every line once and in order per stream', async () => {
    const { sink, registry } = makeSink('roll', 'c-roll', {
      maxFileBytes: 4096,
      flushIntervalMs: 20,
    });
    await sink.start();
    const streams = ['r1', 'r2'].map((s) => streamBatches(s, 'rolled', 30, 20));
    await Promise.all(
      streams.map(async (batches) => {
        for (const b of batches) await sink.write(b);
      }),
    );
    await sink.stop();

    const files = await listFiles(`${root}/roll`);
    expect(files.length).toBeGreaterThanOrEqual(4);
    expect(files.every((f) => f.path.endsWith('.log'))).toBe(true);
    // A file exceeds the limit by at most one batch (about 500 bytes here).
    expect(files.every((f) => f.length < 4096 + 1024)).toBe(true);
    const all: Buffer[] = [];
    for (const f of files) all.push(...splitLines(await readAll(f.path)));
    for (const [i, batches] of streams.entries()) {
      const expected = batches.flatMap((b) => b.lines.map((l) => l.toString('hex')));
      const got = all.map((l) => l.toString('hex')).filter((h) => expected.includes(h));
      expect(got).toEqual(expected);
      expect(all.filter((l) => l.toString('latin1').startsWith(`r${i + 1}-`)).length).toBe(600);
    }
    expect(all.length).toBe(1200);
    expect(await metricSum(registry, 'logrelay_hdfs_sink_rolls_total')).toBe(files.length);
  });

  it('rejects retriable within bounded time when HDFS cannot be reached, and stops', async () => {
    const { sink, registry } = makeSink('down', 'c-down', {
      namenodeUrl: 'http://127.0.0.1:1',
      flushIntervalMs: 10,
      maxAttempts: 3,
      requestTimeoutMs: 2000,
    });
    await sink.start();
    const started = Date.now();
    const err = await sink.write(streamBatches('d1', 'down', 1, 3)[0] as SinkBatch).then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(RelayError);
    expect(err).toMatchObject({ retriable: true, code: 'HDFS_UNAVAILABLE' });
    expect(elapsed).toBeLessThan(15_000);
    expect(
      await metricSum(registry, 'logrelay_hdfs_sink_errors_total', { code: 'HDFS_UNAVAILABLE' }),
    ).toBeGreaterThanOrEqual(3);
    await sink.stop();
    expect(sink.state).toBe('stopped');
  });

  it('repairs appends whose answers were lost (partly or wholly landed) without duplicating', async () => {
    const config = validateConfig(hdfsSinkConfigSchema, {
      type: 'hdfs',
      name: 'hdfs-repair',
      namenodeUrl,
      pathTemplate: template('repair'),
      flushIntervalMs: 0,
      zookeeper: { connect: endpoint('zookeeper'), root: zkRoot },
    });
    const lost = () =>
      new RelayError('HDFS_UNAVAILABLE', 'injected: answer lost', { retriable: true });
    let appends = 0;
    let truncates = 0;
    // The real client, with the answers of the 2nd and 3rd APPEND lost after HDFS took (half
    // of, then all of) their bytes.
    const factory = (c: typeof config): WebHdfsApi => {
      const real = createWebHdfsClient(c);
      return {
        create: (path, data) => real.create(path, data),
        append: async (path, data) => {
          appends++;
          if (appends === 2) {
            const bytes = Buffer.concat(data);
            await real.append(path, [bytes.subarray(0, bytes.length >> 1)]);
            throw lost();
          }
          await real.append(path, data);
          if (appends === 3) throw lost();
        },
        getFileStatus: (path) => real.getFileStatus(path),
        listStatus: (path) => real.listStatus(path),
        rename: (src, dst) => real.rename(src, dst),
        truncateAndWait: (path, length, timeoutMs) => {
          truncates++;
          return real.truncateAndWait(path, length, timeoutMs);
        },
        delete: (path, recursive) => real.delete(path, recursive),
        close: () => real.close(),
      };
    };
    const sink = new HdfsSink(
      config,
      { log, registry: new Registry(), collectorId: 'c-repair' },
      factory,
    );
    await sink.start();
    const batches = streamBatches('p1', 'repaired', 5, 30);
    for (const b of batches) await sink.write(b);
    await sink.stop();
    expect(truncates).toBe(1);
    const files = await listFiles(`${root}/repair`);
    expect(files.length).toBe(1);
    const expected = Buffer.concat(
      batches.flatMap((b) => b.lines.flatMap((l) => [l, Buffer.from('\n')])),
    );
    expect((await readAll(files[0]?.path ?? '')).equals(expected)).toBe(true);
  });

  it("at-least-once mode: closes a previous run's in-progress file on start and writes the new one under another n", async () => {
    // Not across an hour boundary: the leftover and the new file share a partition.
    const toNextHour = 3_600_000 - (Date.now() % 3_600_000);
    if (toNextHour < 5000) await sleep(toNextHour + 100);
    const collector = 'c-restart';
    const now = new Date();
    const leftover = hdfsFilePaths(template('restart'), naming, {
      topic: 'events',
      collector,
      n: 0,
      time: now,
    });
    const foreign = hdfsFilePaths(template('restart'), naming, {
      topic: 'events',
      collector: 'c-other',
      n: 0,
      time: now,
    });
    await hdfs.create(leftover.inProgress, [Buffer.from('from the crashed run\n')]);
    await hdfs.create(foreign.inProgress, [Buffer.from('another collector is writing\n')]);

    const { sink } = makeSink('restart', collector, { exactlyOnce: false });
    await sink.start();
    const report = await sink.recovered();
    expect(report).toEqual({ renamed: [leftover.inProgress], failed: [] });
    await sink.write(streamBatches('e1', 'events', 1, 2)[0] as SinkBatch);
    await sink.stop();

    const files = await listFiles(`${root}/restart`);
    const next = hdfsFilePaths(template('restart'), naming, {
      topic: 'events',
      collector,
      n: 1,
      time: now,
    });
    expect(files.map((f) => f.path)).toEqual([foreign.inProgress, leftover.final, next.final]);
    expect((await readAll(leftover.final)).toString()).toBe('from the crashed run\n');
    expect(
      splitLines(await readAll(next.final)).map((l) => l.toString('latin1').split(' ')[0]),
    ).toEqual(['e1-00000', 'e1-00001']);
  });
});
