/**
 * The HDFS sink's exactly-once ledger against the real ZooKeeper and HDFS: an agent moving
 * between two collectors, a dead writer's file cut back and closed by a live one, and a writer
 * that loses its ZooKeeper session in the middle of a commit.
 */
import { gunzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/common/config/load-config.js';
import { createLogger } from '../../src/common/logging/logger.js';
import { CreateMode, ZkSession } from '../../src/common/zk/index.js';
import { hdfsSinkConfigSchema } from '../../src/collector/sinks/hdfs/config.js';
import { ledgerPaths } from '../../src/collector/sinks/hdfs/exactly-once/commit-store.js';
import { encodeFileNode } from '../../src/collector/sinks/hdfs/exactly-once/stream-marks.js';
import { hdfsFilePaths } from '../../src/collector/sinks/hdfs/file-layout.js';
import { HdfsSink } from '../../src/collector/sinks/hdfs/hdfs-sink.js';
import { WebHdfsClient } from '../../src/collector/sinks/hdfs/webhdfs-client.js';
import type { SinkBatch } from '../../src/collector/sinks/sink.js';
import { endpoint, requireService, services } from '../helpers/services.js';
import { hdfsDfs } from '../helpers/hdfs-shell.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { uniqueName } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait-for.js';

const log = createLogger(process.env['LOGRELAY_LOG_LEVEL'] ? {} : { level: 'silent' });
const namenodeUrl = `http://${services.hdfs.host}:${services.hdfs.port}`;
const root = `/${uniqueName('logrelay-eo').replaceAll('_', '-')}`;
const zkRoot = `/${uniqueName('lr_hdfs_eo')}`;
const SESSION_MS = 4000;
const naming = { prefix: '.', suffix: '.inprogress' };
const hdfs = new WebHdfsClient({ namenodeUrl, user: 'logrelay', requestTimeoutMs: 30_000 });

/** `count` batches of `perBatch` unique lines of one stream of agent `agent-eo`. */
function batches(stream: string, count: number, perBatch: number): SinkBatch[] {
  const out: SinkBatch[] = [];
  let offset = 0;
  for (let b = 0; b < count; b++) {
    const lines: Buffer[] = [];
    const offsets: number[] = [];
    for (let i = 0; i < perBatch; i++) {
      const line = Buffer.from(`${stream}-${String(b * perBatch + i).padStart(5, '0')} payload`);
      lines.push(line);
      offsets.push(offset);
      offset += line.length + 1;
    }
    out.push({
      streamKey: `agent-eo:${stream}`,
      agentId: 'agent-eo',
      host: 'host-eo',
      path: `/var/log/${stream}.log`,
      topic: 'events',
      lines,
      offsets,
      endOffset: offset,
      readTimeMs: Date.now(),
    });
  }
  return out;
}

function makeSink(
  test: string,
  collectorId: string,
  connect = endpoint('zookeeper'),
  extra: Record<string, unknown> = {},
) {
  const config = validateConfig(hdfsSinkConfigSchema, {
    type: 'hdfs',
    name: `hdfs-${test}`,
    namenodeUrl,
    pathTemplate: `${root}/${test}/{topic}/{collector}-{n}.log`,
    flushIntervalMs: 20,
    maxAttempts: 3,
    recoveryIntervalMs: 500,
    requestTimeoutMs: 5000,
    zookeeper: { connect, root: zkRoot, sessionTimeoutMs: SESSION_MS },
    ...extra,
  });
  return new HdfsSink(config, { log, registry: new Registry(), collectorId });
}

/** Every file under `dir` (recursively): its name and its lines. */
async function readTree(dir: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const e of (await hdfs.listStatus(dir)) ?? []) {
    const path = `${dir}/${e.pathSuffix}`;
    if (e.type === 'DIRECTORY') for (const [p, l] of await readTree(path)) out.set(p, l);
    else out.set(path, ((await hdfs.read(path))?.toString() ?? '').split('\n'));
  }
  return out;
}

/** Lines of the visible (closed) files, and the names of hidden ones. */
async function visible(dir: string) {
  const tree = await readTree(dir);
  const lines: string[] = [];
  const hidden: string[] = [];
  for (const [path, content] of tree) {
    const name = path.split('/').pop() ?? '';
    if (name.startsWith('.') || name.startsWith('_')) hidden.push(path);
    else {
      expect(content.at(-1)).toBe('');
      lines.push(...content.slice(0, -1));
    }
  }
  return { lines, hidden };
}

/** Written vs delivered, each test line unique. */
function count(expected: readonly SinkBatch[], delivered: readonly string[]) {
  const want = new Set(expected.flatMap((b) => b.lines.map((l) => l.toString())));
  const seen = new Map<string, number>();
  for (const l of delivered) seen.set(l, (seen.get(l) ?? 0) + 1);
  let missing = 0;
  let duplicated = 0;
  let unexpected = 0;
  for (const l of want) if (!seen.has(l)) missing++;
  for (const [l, n] of seen) {
    if (!want.has(l)) unexpected += n;
    else duplicated += n - 1;
  }
  return { written: want.size, delivered: delivered.length, missing, duplicated, unexpected };
}

describe('HDFS exactly-once ledger (real ZooKeeper and HDFS)', () => {
  let zk: ZkSession;
  beforeAll(async () => {
    await requireService('zookeeper');
    await requireService('hdfs');
    zk = new ZkSession(endpoint('zookeeper'));
    await zk.connect();
  });
  afterAll(async () => {
    await hdfs.delete(root, true).catch(() => undefined);
    hdfs.close();
    zk.close();
  });

  it('an agent moving to another collector: what the first committed is skipped, its later append is cut back', async () => {
    const a = makeSink('move', 'eo-a');
    const b = makeSink('move', 'eo-b');
    await a.start();
    await b.start();
    const [b0, b1, b2, b3] = batches('move', 4, 50) as [SinkBatch, SinkBatch, SinkBatch, SinkBatch];
    expect(await a.write(b0)).toEqual({ skippedLines: 0 });
    expect(await a.write(b1)).toEqual({ skippedLines: 0 });
    // The agent moves to b and sends b1 again (its acknowledgement was lost), then b2.
    expect(await b.write(b1)).toEqual({ skippedLines: 50 });
    expect(await b.write(b2)).toEqual({ skippedLines: 0 });
    // a still has the agent's old stream: its append lands, but b holds the agent now.
    await expect(a.write(b3)).rejects.toMatchObject({ code: 'HDFS_AGENT_MOVED', retriable: true });
    expect(await b.write(b3)).toEqual({ skippedLines: 0 });
    await a.stop();
    await b.stop();
    const { lines, hidden } = await visible(`${root}/move`);
    expect(hidden).toEqual([]);
    expect(count([b0, b1, b2, b3], lines)).toEqual({
      written: 200,
      delivered: 200,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
  });

  it("a dead writer's files: cut back to the committed length and closed by a live writer", async () => {
    const paths = ledgerPaths(zkRoot, 'hdfs-dead');
    const dead = 'eo-dead~0000000000000001';
    await zk.mkdirp(`${paths.files}/${dead}`);
    const time = new Date();
    const template = `${root}/dead/{topic}/{collector}-{n}.log`;
    const file = hdfsFilePaths(template, naming, {
      topic: 'events',
      collector: 'eo-dead',
      n: 0,
      time,
    });
    const never = hdfsFilePaths(template, naming, {
      topic: 'events',
      collector: 'eo-dead',
      n: 1,
      time,
    });
    const committed = 'one\ntwo\nthree\n';
    // Past the committed length: an append that landed without its record, torn at the end.
    await hdfs.create(file.inProgress, [Buffer.from(`${committed}four\nfi`)]);
    await zk.create(
      `${paths.files}/${dead}/f-`,
      encodeFileNode({ ...file, length: Buffer.byteLength(committed) }),
      CreateMode.PERSISTENT_SEQUENTIAL,
    );
    // Recorded, but the writer died before its CREATE.
    await zk.create(
      `${paths.files}/${dead}/f-`,
      encodeFileNode({ ...never, length: 0 }),
      CreateMode.PERSISTENT_SEQUENTIAL,
    );
    const live = makeSink('dead', 'eo-live');
    await live.start();
    await waitFor(async () => (await zk.exists(`${paths.files}/${dead}`)) === undefined, {
      timeoutMs: 10_000,
      what: "the dead writer's ledger folder to be removed",
    });
    await live.stop();
    expect((await hdfs.read(file.final))?.toString()).toBe(committed);
    for (const p of [file.inProgress, file.recovering, never.inProgress, never.final])
      expect(await hdfs.getFileStatus(p)).toBeUndefined();
  });

  it('a writer cut off from ZooKeeper mid-commit: its file is recovered by another, its batch written once', async () => {
    const proxy = new TcpProxy({ host: services.zookeeper.host, port: services.zookeeper.port });
    await proxy.up();
    const a = makeSink('cut', 'eo-cut-a', `127.0.0.1:${proxy.port}`);
    const b = makeSink('cut', 'eo-cut-b');
    try {
      await a.start();
      const [b0, b1, b2] = batches('cut', 3, 40) as [SinkBatch, SinkBatch, SinkBatch];
      await a.write(b0);
      await proxy.down();
      // Lands in HDFS; its record cannot reach ZooKeeper, whose session for a expires.
      const pending = a.write(b1);
      pending.catch(() => undefined);
      await b.start();
      const aFile = `${root}/cut/events/eo-cut-a-0.log`;
      await waitFor(async () => (await hdfs.getFileStatus(aFile)) !== undefined, {
        timeoutMs: 30_000,
        what: "a's file to be closed by b's recovery",
      });
      // The agent moves to b and sends what a never acknowledged.
      expect(await b.write(b1)).toEqual({ skippedLines: 0 });
      expect(await b.write(b2)).toEqual({ skippedLines: 0 });
      await proxy.up();
      await expect(pending).rejects.toMatchObject({ retriable: true });
      await a.stop();
      await b.stop();
      const { lines, hidden } = await visible(`${root}/cut`);
      expect(hidden).toEqual([]);
      expect(count([b0, b1, b2], lines)).toEqual({
        written: 120,
        delivered: 120,
        missing: 0,
        duplicated: 0,
        unexpected: 0,
      });
    } finally {
      await proxy.down();
      await a.stop();
      await b.stop();
    }
  }, 90_000);

  it('gzip: one member per APPEND, .gz names; zlib and hdfs dfs -text read exactly the lines sent', async () => {
    const a = makeSink('gzip', 'eo-gz-a', endpoint('zookeeper'), {
      compression: 'gzip',
      maxFileBytes: 1000,
    });
    const b = makeSink('gzip', 'eo-gz-b', endpoint('zookeeper'), { compression: 'gzip' });
    await a.start();
    await b.start();
    const all = batches('gz', 12, 100);
    // Several appends per file, several files (size roll on compressed bytes), and an agent
    // moving to b halfway: a's last append is cut back between two members.
    for (const batch of all.slice(0, 8)) await a.write(batch);
    expect(await b.write(all[7]!)).toEqual({ skippedLines: 100 });
    for (const batch of all.slice(8)) await b.write(batch);
    await expect(a.write(all[11]!)).rejects.toMatchObject({ code: 'HDFS_AGENT_MOVED' });
    await a.stop();
    await b.stop();
    const dir = `${root}/gzip/events`;
    const names = ((await hdfs.listStatus(dir)) ?? []).map((s) => s.pathSuffix).sort();
    expect(names.length).toBeGreaterThan(2);
    expect(names.every((n) => /^eo-gz-[ab]-\d+\.log\.gz$/.test(n))).toBe(true);
    const viaZlib: string[] = [];
    for (const name of names) {
      const content = gunzipSync((await hdfs.read(`${dir}/${name}`)) ?? Buffer.alloc(0));
      viaZlib.push(...content.toString().split('\n').slice(0, -1));
    }
    const exact = { written: 1200, delivered: 1200, missing: 0, duplicated: 0, unexpected: 0 };
    expect(count(all, viaZlib)).toEqual(exact);
    // Hadoop's own reader (GzipCodec by the extension), as Hive and `hdfs dfs -text` read them.
    const text = await hdfsDfs('-text', ...names.map((n) => `${dir}/${n}`));
    expect(count(all, text.toString().split('\n').slice(0, -1))).toEqual(exact);
  }, 120_000);
});
