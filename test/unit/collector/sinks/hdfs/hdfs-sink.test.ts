import { Registry, type Counter } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RelayError } from '../../../../../src/common/errors/relay-error.js';
import { validateConfig } from '../../../../../src/common/config/load-config.js';
import { createLogger } from '../../../../../src/common/logging/logger.js';
import { hdfsSinkConfigSchema } from '../../../../../src/collector/sinks/hdfs/config.js';
import { HdfsSink } from '../../../../../src/collector/sinks/hdfs/hdfs-sink.js';
import type {
  HdfsFileStatus,
  WebHdfsApi,
} from '../../../../../src/collector/sinks/hdfs/webhdfs-client.js';
import type { SinkBatch } from '../../../../../src/collector/sinks/sink.js';

const log = createLogger({ level: 'silent' });

/**
 * How an injected failure behaves: `refuse` fails before any effect; `lose-answer` applies the
 * request, then fails as if the answer was lost; `partial` applies half of the bytes, then
 * fails; `lose-answer-then-down` is `lose-answer` after which HDFS stays down.
 */
type Fault = 'refuse' | 'lose-answer' | 'partial' | 'lose-answer-then-down';

const unavailable = (what: string) =>
  new RelayError('HDFS_UNAVAILABLE', `${what}: ECONNRESET`, { retriable: true });

/** An in-memory WebHDFS with the semantics the sink relies on, and injectable failures. */
class FakeHdfs implements WebHdfsApi {
  readonly files = new Map<string, Buffer>();
  readonly calls: string[] = [];
  readonly faults: { op: string; fault: Fault }[] = [];
  down = false;

  #take(op: string): Fault | undefined {
    const i = this.faults.findIndex((f) => f.op === op);
    return i < 0 ? undefined : this.faults.splice(i, 1)[0]?.fault;
  }

  #write(op: string, path: string, data: readonly Buffer[], start: Buffer): void {
    const bytes = Buffer.concat(data);
    const fault = this.#take(op);
    if (fault === 'refuse') throw unavailable(op);
    if (fault === 'partial') {
      this.files.set(path, Buffer.concat([start, bytes.subarray(0, bytes.length >> 1)]));
      throw unavailable(op);
    }
    this.files.set(path, Buffer.concat([start, bytes]));
    if (fault === 'lose-answer-then-down') this.down = true;
    if (fault) throw unavailable(op);
  }

  #up(op: string): void {
    this.calls.push(op);
    if (this.down) throw unavailable(op);
  }

  async create(path: string, data: readonly Buffer[]): Promise<void> {
    this.#up(`create ${path}`);
    if (this.files.has(path)) {
      throw new RelayError('HDFS_FILE_EXISTS', `FileAlreadyExistsException: ${path}`);
    }
    this.#write('create', path, data, Buffer.alloc(0));
  }

  async append(path: string, data: readonly Buffer[]): Promise<void> {
    this.#up(`append ${path}`);
    const start = this.files.get(path);
    if (!start) throw new RelayError('HDFS_NOT_FOUND', `FileNotFoundException: ${path}`);
    this.#write('append', path, data, start);
  }

  async getFileStatus(path: string): Promise<HdfsFileStatus | undefined> {
    this.#up(`stat ${path}`);
    const content = this.files.get(path);
    if (!content) return undefined;
    return { pathSuffix: '', type: 'FILE', length: content.length, modificationTime: 0 };
  }

  async listStatus(path: string): Promise<HdfsFileStatus[] | undefined> {
    this.#up(`list ${path}`);
    const prefix = path === '/' ? '/' : `${path}/`;
    const children = new Map<string, HdfsFileStatus>();
    for (const [file, content] of this.files) {
      if (!file.startsWith(prefix)) continue;
      const [name, ...rest] = file.slice(prefix.length).split('/');
      if (!name) continue;
      children.set(name, {
        pathSuffix: name,
        type: rest.length > 0 ? 'DIRECTORY' : 'FILE',
        length: rest.length > 0 ? 0 : content.length,
        modificationTime: 0,
      });
    }
    return children.size > 0 ? [...children.values()] : undefined;
  }

  async rename(source: string, destination: string): Promise<boolean> {
    this.#up(`rename ${source}`);
    const content = this.files.get(source);
    if (!content || this.files.has(destination)) return false;
    this.files.delete(source);
    this.files.set(destination, content);
    return true;
  }

  async truncateAndWait(path: string, newLength: number): Promise<void> {
    this.#up(`truncate ${path} ${newLength}`);
    const content = this.files.get(path);
    if (!content) throw new RelayError('HDFS_NOT_FOUND', path);
    this.files.set(path, content.subarray(0, newLength));
  }

  async delete(path: string): Promise<boolean> {
    this.#up(`delete ${path}`);
    return this.files.delete(path);
  }

  close(): void {}

  text(path: string): string | undefined {
    return this.files.get(path)?.toString('latin1');
  }
}

function batch(topic: string, lines: string[]): SinkBatch {
  return {
    streamKey: `s-${topic}`,
    agentId: 'a',
    host: 'h',
    path: '/var/log/x.log',
    topic,
    lines: lines.map((l) => Buffer.from(l, 'latin1')),
    offsets: lines.map((_, i) => i),
    endOffset: lines.length,
    readTimeMs: 0,
  };
}

const metric = async (registry: Registry, name: string): Promise<number> => {
  const m = registry.getSingleMetric(name) as Counter | undefined;
  const values = (await m?.get())?.values ?? [];
  return values.reduce((sum, v) => sum + v.value, 0);
};

describe('hdfs sink (fake WebHDFS)', () => {
  const sinks: HdfsSink[] = [];
  afterEach(async () => {
    for (const s of sinks.splice(0)) await s.stop();
  });

  function make(fake: FakeHdfs, extra: Record<string, unknown> = {}) {
    const config = validateConfig(hdfsSinkConfigSchema, {
      type: 'hdfs',
      name: 'h',
      pathTemplate: '/t/{topic}/{collector}-{n}.log',
      flushIntervalMs: 30,
      maxAttempts: 3,
      // The append machinery, shared by both modes, against the fake; the exactly-once ledger
      // needs ZooKeeper and is tested against it (test/integration/hdfs-sink.test.ts).
      exactlyOnce: false,
      inProgressPrefix: '',
      ...extra,
    });
    const registry = new Registry();
    const sink = new HdfsSink(config, { log, registry, collectorId: 'c1' }, () => fake);
    sinks.push(sink);
    return { sink, registry };
  }

  it('aggregates concurrent batches into one CREATE/APPEND per file and closes on stop', async () => {
    const fake = new FakeHdfs();
    const { sink, registry } = make(fake);
    await sink.start();
    await Promise.all([
      ...[1, 2, 3, 4, 5].map((i) => sink.write(batch('web', [`w${i}a`, `w${i}b`]))),
      ...[1, 2, 3].map((i) => sink.write(batch('db', [`d${i}`]))),
    ]);
    // The two topics' files are independent: which is created first is up to the scheduler.
    const writes = fake.calls.filter((c) => c.startsWith('create') || c.startsWith('append'));
    expect(writes.sort()).toEqual([
      'create /t/db/c1-0.log.inprogress',
      'create /t/web/c1-0.log.inprogress',
    ]);
    await sink.write(batch('web', ['w6']));
    expect(await metric(registry, 'logrelay_hdfs_sink_appends_total')).toBe(3);
    await sink.stop();
    expect(fake.text('/t/web/c1-0.log')).toBe(
      'w1a\nw1b\nw2a\nw2b\nw3a\nw3b\nw4a\nw4b\nw5a\nw5b\nw6\n',
    );
    expect(fake.text('/t/db/c1-0.log')).toBe('d1\nd2\nd3\n');
    expect([...fake.files.keys()].filter((p) => p.endsWith('.inprogress'))).toEqual([]);
    expect(await metric(registry, 'logrelay_hdfs_sink_lines_total')).toBe(14);
    expect(await metric(registry, 'logrelay_hdfs_sink_rolls_total')).toBe(2);
  });

  it('does not send an append again when it landed but its answer was lost', async () => {
    const fake = new FakeHdfs();
    const { sink } = make(fake);
    await sink.start();
    await sink.write(batch('web', ['one']));
    fake.faults.push({ op: 'append', fault: 'lose-answer' });
    await sink.write(batch('web', ['two']));
    await sink.write(batch('web', ['three']));
    expect(fake.text('/t/web/c1-0.log.inprogress')).toBe('one\ntwo\nthree\n');
    expect(fake.calls.some((c) => c.startsWith('truncate'))).toBe(false);
  });

  it('sends an append again when nothing of it landed', async () => {
    const fake = new FakeHdfs();
    const { sink } = make(fake);
    await sink.start();
    fake.faults.push({ op: 'create', fault: 'refuse' }, { op: 'create', fault: 'refuse' });
    await sink.write(batch('web', ['one']));
    fake.faults.push({ op: 'append', fault: 'refuse' });
    await sink.write(batch('web', ['two']));
    expect(fake.text('/t/web/c1-0.log.inprogress')).toBe('one\ntwo\n');
  });

  it('cuts a partly landed append back before sending it again', async () => {
    const fake = new FakeHdfs();
    const { sink } = make(fake);
    await sink.start();
    fake.faults.push({ op: 'create', fault: 'partial' });
    await sink.write(batch('web', ['first line']));
    fake.faults.push({ op: 'append', fault: 'partial' });
    await sink.write(batch('web', ['second line', 'third line']));
    expect(fake.text('/t/web/c1-0.log.inprogress')).toBe('first line\nsecond line\nthird line\n');
    expect(fake.calls.filter((c) => c.startsWith('truncate'))).toEqual([
      'truncate /t/web/c1-0.log.inprogress 0',
      'truncate /t/web/c1-0.log.inprogress 11',
    ]);
  });

  it('rejects retriable when HDFS stays down, and removes what landed of the rejected lines', async () => {
    const fake = new FakeHdfs();
    const { sink } = make(fake);
    await sink.start();
    await sink.write(batch('web', ['one']));
    fake.faults.push({ op: 'append', fault: 'lose-answer-then-down' });
    const failed = await sink.write(batch('web', ['two'])).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(RelayError);
    expect((failed as RelayError).retriable).toBe(true);
    // "two" did land, but its writer was told otherwise and will send it again.
    expect(fake.text('/t/web/c1-0.log.inprogress')).toBe('one\ntwo\n');
    fake.down = false;
    await sink.write(batch('web', ['two'])); // the agent's resend
    expect(fake.text('/t/web/c1-0.log.inprogress')).toBe('one\ntwo\n');
    expect(fake.calls).toContain('truncate /t/web/c1-0.log.inprogress 4');
  });

  it('continues in a new file when the old one cannot be repaired', async () => {
    const fake = new FakeHdfs();
    const { sink } = make(fake);
    await sink.start();
    await sink.write(batch('web', ['one']));
    // Someone else wrote to our file while our append's answer was lost.
    fake.faults.push({ op: 'append', fault: 'lose-answer' });
    const write = sink.write(batch('web', ['two']));
    await new Promise((r) => setTimeout(r, 40));
    fake.files.set(
      '/t/web/c1-0.log.inprogress',
      Buffer.concat([
        fake.files.get('/t/web/c1-0.log.inprogress') ?? Buffer.alloc(0),
        Buffer.from('intruder\n'),
      ]),
    );
    await write;
    await sink.stop();
    expect(fake.text('/t/web/c1-0.log')).toBe('one\ntwo\nintruder\n');
    expect(fake.text('/t/web/c1-1.log')).toBe('two\n');
  });

  it('never reopens an existing name, and recovers its own leftover in-progress files', async () => {
    const fake = new FakeHdfs();
    fake.files.set('/t/web/c1-0.log', Buffer.from('old final\n'));
    fake.files.set('/t/web/c1-1.log.inprogress', Buffer.from('crashed run\n'));
    fake.files.set('/t/web/c2-0.log.inprogress', Buffer.from('another collector\n'));
    const { sink } = make(fake);
    await sink.start();
    await sink.write(batch('web', ['new']));
    const report = await sink.recovered();
    expect(report.renamed).toEqual(['/t/web/c1-1.log.inprogress']);
    await sink.stop();
    expect(Object.fromEntries([...fake.files].map(([k, v]) => [k, v.toString()]))).toEqual({
      '/t/web/c1-0.log': 'old final\n',
      '/t/web/c1-1.log': 'crashed run\n',
      '/t/web/c1-2.log': 'new\n',
      '/t/web/c2-0.log.inprogress': 'another collector\n',
    });
  });

  it('chooses another name when the chosen one is taken before the CREATE', async () => {
    const fake = new FakeHdfs();
    const { sink } = make(fake);
    await sink.start();
    const write = sink.write(batch('web', ['mine']));
    // Between the name check and the CREATE.
    fake.files.set('/t/web/c1-0.log.inprogress', Buffer.from('theirs\n'));
    await write;
    expect(fake.text('/t/web/c1-0.log.inprogress')).toBe('theirs\n');
    expect(fake.text('/t/web/c1-1.log.inprogress')).toBe('mine\n');
  });

  it('rolls by size, keeping every line once and in order', async () => {
    const fake = new FakeHdfs();
    const { sink, registry } = make(fake, { maxFileBytes: 20, flushIntervalMs: 0 });
    await sink.start();
    const lines = Array.from({ length: 30 }, (_, i) => `line-${String(i).padStart(3, '0')}`);
    for (let i = 0; i < lines.length; i += 3) await sink.write(batch('web', lines.slice(i, i + 3)));
    await sink.stop();
    const finals = [...fake.files.keys()].sort(
      (a, b) => Number(/-(\d+)\.log$/.exec(a)?.[1]) - Number(/-(\d+)\.log$/.exec(b)?.[1]),
    );
    expect(finals.length).toBe(10);
    expect(finals.every((p) => p.endsWith('.log'))).toBe(true);
    expect(finals.map((p) => fake.text(p)).join('')).toBe(lines.map((l) => `${l}\n`).join(''));
    expect(await metric(registry, 'logrelay_hdfs_sink_rolls_total')).toBe(10);
  });

  it("closes a file within a second of its hour's end, so the partition is complete and visible", async () => {
    // Only Date is faked: the sink's timers run, its clock says the hour is ending.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(new Date(Date.UTC(2026, 11, 7, 16, 59, 59, 0)));
      const fake = new FakeHdfs();
      const { sink } = make(fake, {
        pathTemplate: '/t/{topic}/dt={yyyy-MM-dd}/hour={HH}/{collector}-{n}.log',
        flushIntervalMs: 0,
      });
      await sink.start();
      await sink.write(batch('web', ['at 16:59:59']));
      expect([...fake.files.keys()]).toEqual(['/t/web/dt=2026-12-07/hour=16/c1-0.log.inprogress']);
      vi.setSystemTime(new Date(Date.UTC(2026, 11, 7, 17, 0, 0, 100)));
      // No new line needed: the sink's once-a-second check rolls the file.
      await new Promise((r) => setTimeout(r, 1300));
      expect([...fake.files.keys()]).toEqual(['/t/web/dt=2026-12-07/hour=16/c1-0.log']);
      await sink.write(batch('web', ['at 17:00:00']));
      await sink.stop();
      expect(fake.text('/t/web/dt=2026-12-07/hour=17/c1-0.log')).toBe('at 17:00:00\n');
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses writes when not running, retriable', async () => {
    const fake = new FakeHdfs();
    const { sink } = make(fake);
    const err = await sink.write(batch('web', ['x'])).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SINK_NOT_RUNNING', retriable: true });
  });
});
