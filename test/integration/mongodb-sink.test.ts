import { Binary, MongoClient, type Document } from 'mongodb';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/common/config/load-config.js';
import { RelayError } from '../../src/common/errors/relay-error.js';
import { createLogger } from '../../src/common/logging/logger.js';
import {
  MongodbSink,
  documentId,
  mongodbSinkConfigSchema,
  toRelayError,
} from '../../src/collector/sinks/mongodb/index.js';
import { requireService, services } from '../helpers/services.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { uniqueName } from '../helpers/unique.js';
import { sinkBatch } from '../helpers/batches.js';

const log = createLogger({ level: 'silent' });
const { host, port } = services.mongodb;
const url = `mongodb://${host}:${port}`;

/** A line that is not valid UTF-8, with NULs in it. */
const BINARY = Buffer.from([0x00, 0xff, 0xfe, 0x41, 0x00, 0xc3, 0x28]);

/** A batch of `lines` of one stream, starting at file offset `start`. */
const batch = (topic: string, lines: Buffer[], start = 0, streamKey = 'agent-1:64769:1234:abcd') =>
  sinkBatch(lines, start, {
    topic,
    streamKey,
    host: 'host-1',
    readTimeMs: Date.UTC(2026, 10, 27, 1, 2, 3, 456),
  });

/** A stored line's bytes: a string's UTF-8, or a Binary's exact bytes. */
function bytesOf(line: unknown): Buffer {
  if (typeof line === 'string') return Buffer.from(line, 'utf8');
  if (line instanceof Binary) return Buffer.from(line.buffer);
  throw new Error(`not a line: ${String(line)}`);
}

async function counterValue(registry: Registry, name: string, labels: Record<string, string>) {
  const metric = registry.getSingleMetric(name);
  if (!metric) return undefined;
  const { values } = await metric.get();
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (err: unknown) => err,
  );

describe('MongoDB sink (real server)', () => {
  const database = uniqueName('logrelay_it');
  let admin: MongoClient;
  const sinks: MongodbSink[] = [];

  function make(extra: Record<string, unknown> = {}, registry = new Registry()) {
    const config = validateConfig(mongodbSinkConfigSchema, {
      type: 'mongodb',
      name: 'mongodb-it',
      url,
      database,
      connectTimeoutMs: 3000,
      ...extra,
    });
    const sink = new MongodbSink(config, { log, registry, collectorId: 'c1' });
    sinks.push(sink);
    return sink;
  }

  const docs = (collection: string) =>
    admin.db(database).collection<Document>(collection).find().sort({ _id: 1 }).toArray();

  const count = (collection: string) => admin.db(database).collection(collection).countDocuments();

  beforeAll(async () => {
    await requireService('mongodb');
    admin = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
    await admin.connect();
  });

  afterEach(async () => {
    for (const sink of sinks.splice(0)) await sink.stop();
  });

  afterAll(async () => {
    if (!admin) return;
    await admin.db(database).dropDatabase();
    await admin.close();
  });

  it('stores a batch retransmitted 3 times exactly once, byte for byte', async () => {
    const registry = new Registry();
    const sink = make({}, registry);
    await sink.start();
    const lines = [
      Buffer.from('plain ascii line'),
      BINARY,
      Buffer.from('ünïcödé ✓ 🚀'),
      Buffer.from('{"$set": {"a": 1}, "_id": "x"}'),
      Buffer.from('with\u0000nul'),
      Buffer.alloc(0),
    ];
    const b = batch('app', lines, 100);
    expect(await sink.write(b)).toEqual({ skippedLines: 0 });
    for (let i = 0; i < 3; i++) expect(await sink.write(b)).toEqual({ skippedLines: 6 });

    const stored = await docs('logs_app');
    expect(stored).toHaveLength(lines.length);
    expect(stored.map((d) => bytesOf(d['line']))).toEqual(lines);
    expect(stored.map((d) => d['_id'])).toEqual(b.offsets.map((o) => documentId(b.streamKey, o)));
    expect(stored[1]?.['line']).toBeInstanceOf(Binary);
    expect(stored[0]).toEqual({
      _id: documentId(b.streamKey, 100),
      line: 'plain ascii line',
      stream: b.streamKey,
      agent: 'agent-1',
      host: 'host-1',
      path: '/var/log/app.log',
      offset: 100,
      time: new Date(b.readTimeMs),
    });
    const labels = { sink: 'mongodb-it' };
    expect(await counterValue(registry, 'logrelay_mongodb_sink_documents_total', labels)).toBe(6);
    expect(
      await counterValue(registry, 'logrelay_mongodb_sink_duplicate_documents_total', labels),
    ).toBe(18);
    // The time index is there.
    const indexes = await admin.db(database).collection('logs_app').indexes();
    expect(indexes.map((i) => i.name)).toContain('time_1');
  });

  it('stores the batch’s fields as a sub-document, dotted keys included, once per line', async () => {
    const sink = make();
    await sink.start();
    const fields = { service: 'checkout', env: 'prod', 'k8s.namespace': 'shop' };
    const lines = [Buffer.from('fields line 1'), Buffer.from('fields line 2')];
    const b = { ...batch('fields', lines, 0), fields };
    expect(await sink.write(b)).toEqual({ skippedLines: 0 });
    expect(await sink.write(b)).toEqual({ skippedLines: 2 });
    await sink.write(batch('fields', [Buffer.from('no fields line')], 28));
    const stored = await docs('logs_fields');
    expect(stored.map((d) => d['line'])).toEqual([
      'fields line 1',
      'fields line 2',
      'no fields line',
    ]);
    expect(stored.map((d) => d['fields'] as unknown)).toEqual([fields, fields, undefined]);
    expect(Object.keys(stored[2] ?? {})).not.toContain('fields');
  });

  it('adds only the new lines of an overlapping batch, and keeps streams apart', async () => {
    const sink = make();
    await sink.start();
    const all = Array.from({ length: 10 }, (_, i) => Buffer.from(`line ${i}`));
    const first = batch('overlap', all.slice(0, 6));
    await sink.write(first);
    // Lines 4..9: 4 and 5 were already written.
    const second = batch('overlap', all.slice(4), first.offsets[4]);
    expect(await sink.write(second)).toEqual({ skippedLines: 2 });
    expect(await count('logs_overlap')).toBe(10);
    expect((await docs('logs_overlap')).map((d) => d['line'])).toEqual(all.map(String));
    // Same offsets in another stream (another generation of the file) are other lines.
    expect(
      await sink.write(batch('overlap', all.slice(0, 3), 0, 'agent-1:64769:1234:abce')),
    ).toEqual({ skippedLines: 0 });
    expect(await count('logs_overlap')).toBe(13);
  });

  it('writes a 2500-line batch in chunks, each line once, also when resent', async () => {
    const sink = make({ maxDocumentsPerInsert: 1000 });
    await sink.start();
    const lines = Array.from({ length: 2500 }, (_, i) => Buffer.from(`chunked line ${i}`));
    expect(await sink.write(batch('big.topic', lines))).toEqual({ skippedLines: 0 });
    expect(await count('logs_big.topic')).toBe(2500);
    expect(await sink.write(batch('big.topic', lines))).toEqual({ skippedLines: 2500 });
    // A resend that overlaps the middle of a chunk.
    const more = Array.from({ length: 1500 }, (_, i) => Buffer.from(`chunked line ${i + 2000}`));
    const start = batch('big.topic', lines).offsets[2000];
    expect(await sink.write(batch('big.topic', more, start))).toEqual({ skippedLines: 500 });
    expect(await count('logs_big.topic')).toBe(3500);
  });

  it('raw format: the line only, exact bytes; TTL index with json', async () => {
    const raw = make({ format: 'raw', collectionTemplate: 'raw_{topic}' });
    await raw.start();
    const lines = [Buffer.from('raw one'), BINARY];
    await raw.write(batch('app', lines));
    const stored = await docs('raw_app');
    expect(stored.map((d) => Object.keys(d).sort())).toEqual([
      ['_id', 'line'],
      ['_id', 'line'],
    ]);
    expect(stored.map((d) => bytesOf(d['line']))).toEqual(lines);
    expect(await admin.db(database).collection('raw_app').indexes()).toHaveLength(1);

    const ttl = make({ ttlSeconds: 86_400, collectionTemplate: 'ttl_{topic}' });
    await ttl.start();
    await ttl.write(batch('app', [Buffer.from('expires')]));
    const indexes = await admin.db(database).collection('ttl_app').indexes();
    expect(indexes.find((i) => i.name === 'time_ttl')).toMatchObject({
      key: { time: 1 },
      expireAfterSeconds: 86_400,
    });
  });

  it('rejects a document over 16 MiB non-retriable, naming offset and size, writing nothing', async () => {
    const registry = new Registry();
    const sink = make({}, registry);
    await sink.start();
    const huge = Buffer.alloc(16 * 1024 * 1024 + 1, 0x61);
    const error = await failure(sink.write(batch('huge', [Buffer.from('x'), huge], 0)));
    expect(error).toBeInstanceOf(RelayError);
    expect(error).toMatchObject({ code: 'SINK_REJECTED', retriable: false });
    expect((error as RelayError).message).toMatch(/offset 2 \(16777217 bytes\)/);
    expect(await count('logs_huge')).toBe(0);
    expect(
      await counterValue(registry, 'logrelay_mongodb_sink_errors_total', {
        sink: 'mongodb-it',
        code: 'SINK_REJECTED',
      }),
    ).toBe(1);
    // The sink keeps working afterwards.
    await sink.write(batch('huge', [Buffer.from('x')]));
    expect(await count('logs_huge')).toBe(1);
  });

  it('rejects a duplicate on another unique index (an operator added), naming the offset', async () => {
    await admin
      .db(database)
      .collection('logs_uniq')
      .createIndex({ line: 1 }, { unique: true, name: 'line_1' });
    const sink = make();
    await sink.start();
    await sink.write(batch('uniq', [Buffer.from('a'), Buffer.from('b')]));
    // Another stream: its "a" is a new _id, but a duplicate line for the operator's index.
    const other = batch('uniq', [Buffer.from('c'), Buffer.from('a')], 0, 'agent-2:1:1:beef');
    const error = await failure(sink.write(other));
    expect(error).toMatchObject({ code: 'SINK_REJECTED', retriable: false });
    expect((error as RelayError).message).toMatch(/offset 2: E11000 .*line_1/);
    // Unordered: the other document of the batch went in.
    expect((await docs('logs_uniq')).map((d) => d['line']).sort()).toEqual(['a', 'b', 'c']);
  });

  it('names an invalid namespace the server refuses as a non-retriable error', async () => {
    // The sink never builds such a name; what the server says about one, classified.
    const coll = admin.db(database).collection<{ _id: string }>('bad$name');
    const err = await failure(coll.insertMany([{ _id: 'x' }], { ordered: false }));
    const error = toRelayError(err, 'm');
    expect(error).toMatchObject({ code: 'SINK_REJECTED', retriable: false });
    expect(error.message).toMatch(/\$/);

    const system = await failure(
      admin
        .db(database)
        .collection<{ _id: string }>('system.logs')
        .insertMany([{ _id: 'x' }], { ordered: false }),
    );
    expect(toRelayError(system, 'm')).toMatchObject({ code: 'SINK_REJECTED', retriable: false });

    // A template the config would refuse, given to the sink directly: refused before sending.
    const sink = new MongodbSink(
      { ...make().config, collectionTemplate: 'bad$_{topic}' },
      { log, registry: new Registry(), collectorId: 'c1' },
    );
    sinks.push(sink);
    await sink.start();
    const refused = await failure(sink.write(batch('app', [Buffer.from('x')])));
    expect(refused).toBeInstanceOf(RelayError);
    expect(refused).toMatchObject({ code: 'SINK_REJECTED', retriable: false });
    expect((refused as RelayError).message).toContain('invalid MongoDB collection name "bad$_app"');
  });

  it('fails retriable, in bounded time, when the server cannot be reached', async () => {
    const registry = new Registry();
    const closed = make({ url: 'mongodb://127.0.0.1:1', connectTimeoutMs: 1000 }, registry);
    await closed.start();
    const started = Date.now();
    const error = await failure(closed.write(batch('down', [Buffer.from('x')])));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(error).toBeInstanceOf(RelayError);
    expect(error).toMatchObject({ code: 'SINK_UNAVAILABLE', retriable: true });
    expect(
      await counterValue(registry, 'logrelay_mongodb_sink_errors_total', {
        sink: 'mongodb-it',
        code: 'MongoServerSelectionError',
      }),
    ).toBe(1);

    // Through a proxy that goes down while the sink is connected, then comes back.
    const proxy = new TcpProxy({ host, port });
    await proxy.up();
    try {
      const sink = make({ url: `mongodb://127.0.0.1:${proxy.port}`, connectTimeoutMs: 1000 });
      await sink.start();
      await sink.write(batch('proxied', [Buffer.from('before')]));
      await proxy.down();
      const cut = Date.now();
      const outage = await failure(sink.write(batch('proxied', [Buffer.from('during')], 7)));
      expect(Date.now() - cut).toBeLessThan(5000);
      expect(outage).toMatchObject({ code: 'SINK_UNAVAILABLE', retriable: true });
      await proxy.up();
      await sink.write(batch('proxied', [Buffer.from('during')], 7));
      expect((await docs('logs_proxied')).map((d) => d['line'])).toEqual(['before', 'during']);
    } finally {
      await proxy.down();
    }
  });

  it('starts while the server is unreachable, and writes once it is back', async () => {
    // A proxy port that refuses connections until the proxy comes up.
    const proxy = new TcpProxy({ host, port });
    await proxy.up();
    await proxy.down();
    try {
      const registry = new Registry();
      const sink = make(
        { url: `mongodb://127.0.0.1:${proxy.port}`, connectTimeoutMs: 1000 },
        registry,
      );
      await sink.start();
      const lines = [Buffer.from('late one'), Buffer.from('late two')];
      for (let i = 0; i < 2; i++) {
        const error = await failure(sink.write(batch('late', lines)));
        expect(error).toMatchObject({ code: 'SINK_UNAVAILABLE', retriable: true });
      }
      await proxy.up();
      // A client whose first connect failed is useless to the driver: the sink made a new one.
      expect(await sink.write(batch('late', lines))).toEqual({ skippedLines: 0 });
      expect((await docs('logs_late')).map((d) => d['line'])).toEqual(['late one', 'late two']);
      expect(
        await counterValue(registry, 'logrelay_mongodb_sink_errors_total', {
          sink: 'mongodb-it',
          code: 'MongoServerSelectionError',
        }),
      ).toBe(2);
    } finally {
      await proxy.down();
    }
  });

  it('can be stopped before start and twice, and waits for writes in flight', async () => {
    const idle = make();
    await idle.stop();
    await idle.stop();
    expect(idle.state).toBe('new');

    const sink = make();
    await sink.start();
    const lines = Array.from({ length: 3000 }, (_, i) => Buffer.from(`in flight ${i}`));
    const write = sink.write(batch('stopping', lines));
    await Promise.all([sink.stop(), sink.stop()]);
    await write;
    expect(sink.state).toBe('stopped');
    expect(await count('logs_stopping')).toBe(3000);

    const after = await failure(sink.write(batch('stopping', lines)));
    expect(after).toMatchObject({ code: 'SINK_NOT_RUNNING', retriable: true });
  });
});
