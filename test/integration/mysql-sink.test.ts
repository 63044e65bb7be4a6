import mysql from 'mysql2/promise';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/common/config/load-config.js';
import { RelayError } from '../../src/common/errors/relay-error.js';
import { createLogger } from '../../src/common/logging/logger.js';
import { mysqlSinkConfigSchema } from '../../src/collector/sinks/mysql/config.js';
import { MysqlSink } from '../../src/collector/sinks/mysql/mysql-sink.js';
import type { SinkBatch } from '../../src/collector/sinks/sink.js';
import { requireService, services } from '../helpers/services.js';
import { uniqueName } from '../helpers/unique.js';

const log = createLogger({ level: 'silent' });

/** A batch of `lines` of one stream, starting at file offset `start`. */
function batch(topic: string, lines: Buffer[], start = 0, streamKey = 'agent-1:64769:1234:abcd') {
  const offsets: number[] = [];
  let at = start;
  for (const line of lines) {
    offsets.push(at);
    at += line.length + 1;
  }
  return {
    streamKey,
    agentId: 'agent-1',
    host: 'host-1',
    path: '/var/log/app.log',
    topic,
    lines,
    offsets,
    endOffset: at,
    readTimeMs: Date.UTC(2026, 10, 27, 1, 2, 3, 456),
  } satisfies SinkBatch;
}

describe('MySQL sink (real MariaDB)', () => {
  const database = uniqueName('logrelay_sink_it');
  const { host, port, user } = services.mysql;
  const url = `mysql://${user}@${host}:${port}/${database}`;
  let admin: mysql.Connection;
  const sinks: MysqlSink[] = [];

  function make(extra: Record<string, unknown> = {}, registry = new Registry()) {
    const config = validateConfig(mysqlSinkConfigSchema, {
      type: 'mysql',
      name: 'mysql-it',
      url,
      ...extra,
    });
    const sink = new MysqlSink(config, { log, registry, collectorId: 'c1' });
    sinks.push(sink);
    return sink;
  }

  async function rows(table: string) {
    const [result] = await admin.query<mysql.RowDataPacket[]>(
      'SELECT `stream`, `offset`, `agent`, `host`, `path`, `line`, `read_time` FROM ?? ORDER BY `offset`',
      [table],
    );
    return result;
  }

  async function count(table: string): Promise<number> {
    const [result] = await admin.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM ??', [
      table,
    ]);
    return Number(result[0]?.['n']);
  }

  beforeAll(async () => {
    await requireService('mysql');
    admin = await mysql.createConnection({ host, port, user, password: services.mysql.password });
    await admin.query('CREATE DATABASE ??', [database]);
    await admin.changeUser({ database });
  });

  afterEach(async () => {
    for (const sink of sinks.splice(0)) await sink.stop();
  });

  afterAll(async () => {
    if (!admin) return;
    await admin.query('DROP DATABASE IF EXISTS ??', [database]);
    await admin.end();
  });

  it('stores a batch retransmitted 3 times exactly once, byte for byte', async () => {
    const registry = new Registry();
    const sink = make({}, registry);
    await sink.start();
    const lines = [
      Buffer.from('plain ascii line'),
      Buffer.from([0x00, 0xff, 0xfe, 0x41, 0x00, 0xc3, 0x28]), // NULs and invalid UTF-8
      Buffer.from('ünïcödé ✓ 🚀'),
      Buffer.from("'); DROP TABLE logrelay_app; --"),
      Buffer.alloc(0),
    ];
    const b = batch('app', lines, 100);
    for (let i = 0; i < 4; i++) await sink.write(b);

    expect(await count('logrelay_app')).toBe(lines.length);
    const stored = await rows('logrelay_app');
    expect(stored.map((r) => Buffer.from(r['line'] as Buffer))).toEqual(lines);
    expect(stored.map((r) => Number(r['offset']))).toEqual(b.offsets);
    expect(stored[0]).toMatchObject({
      stream: b.streamKey,
      agent: 'agent-1',
      host: 'host-1',
      path: '/var/log/app.log',
    });
    const metric = await registry.getSingleMetric('logrelay_mysql_sink_rows_total')?.get();
    expect(metric?.values[0]?.value).toBe(lines.length * 4);
  });

  it('adds only the new lines of an overlapping batch, and keeps streams apart', async () => {
    const sink = make();
    await sink.start();
    const all = Array.from({ length: 10 }, (_, i) => Buffer.from(`line ${i}`));
    const first = batch('overlap', all.slice(0, 6));
    await sink.write(first);
    // Lines 4..9: 4 and 5 were already written.
    const second = batch('overlap', all.slice(4), first.offsets[4]);
    await sink.write(second);
    expect(await count('logrelay_overlap')).toBe(10);
    expect((await rows('logrelay_overlap')).map((r) => String(r['line']))).toEqual(all.map(String));
    // Same offsets in another stream are other lines.
    await sink.write(batch('overlap', all.slice(0, 3), 0, 'agent-2:1:2:ef01'));
    expect(await count('logrelay_overlap')).toBe(13);
  });

  it('splits chunks by bytes too, so long lines stay under max_allowed_packet', async () => {
    // A byte limit far above the packet: only the server's max_allowed_packet bounds a chunk.
    const sink = make({ maxBytesPerInsert: 100_000_000 });
    await sink.start();
    // 40 lines of 500 KiB: 20 MB of lines, more than a 16 MiB packet, in one batch.
    const lines = Array.from({ length: 40 }, (_, i) => Buffer.alloc(500 * 1024, 0x30 + (i % 10)));
    await sink.write(batch('long_lines', lines));
    expect(await count('logrelay_long_lines')).toBe(40);
    const [sums] = await admin.query<mysql.RowDataPacket[]>(
      'SELECT SUM(LENGTH(`line`)) AS n FROM `logrelay_long_lines`',
    );
    expect(Number(sums[0]?.['n'])).toBe(40 * 500 * 1024);
  });

  it('writes a 2500-line batch in chunks completely, in one transaction', async () => {
    const sink = make({ maxRowsPerInsert: 1000 });
    await sink.start();
    const lines = Array.from({ length: 2500 }, (_, i) => Buffer.from(`chunked line ${i}`));
    await sink.write(batch('big.topic', lines));
    expect(await count('logrelay_big_topic')).toBe(2500);
    const stored = await rows('logrelay_big_topic');
    expect(stored.map((r) => String(r['line']))).toEqual(lines.map(String));
    // A resend of the whole batch adds nothing.
    await sink.write(batch('big.topic', lines));
    expect(await count('logrelay_big_topic')).toBe(2500);
  });

  it('rolls a failing batch back whole and rejects it as non-retriable', async () => {
    const sink = make({ maxRowsPerInsert: 2 });
    await sink.start();
    const lines = [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')];
    // A stream key longer than the column fits: strict mode refuses it in the first chunk.
    const bad = batch('atomic', lines, 0, 'k'.repeat(201));
    const error = await sink.write(bad).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(RelayError);
    expect((error as RelayError).code).toBe('SINK_REJECTED');
    expect((error as RelayError).retriable).toBe(false);
    expect(await count('logrelay_atomic')).toBe(0);

    // A batch whose second chunk fails (an offset out of the column's range) leaves no
    // first chunk behind.
    const secondChunkFails = { ...batch('atomic', lines), offsets: [0, 2, -1] };
    const outOfRange = await sink.write(secondChunkFails).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect((outOfRange as RelayError).code).toBe('SINK_REJECTED');
    expect(await count('logrelay_atomic')).toBe(0);

    // A line longer than a row can take is refused before it is sent.
    const huge = Buffer.alloc(16 * 1024 * 1024, 0x61);
    const tooLong = await sink.write(batch('atomic', [Buffer.from('x'), huge])).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect((tooLong as RelayError).code).toBe('SINK_REJECTED');
    expect((tooLong as RelayError).retriable).toBe(false);
    expect(await count('logrelay_atomic')).toBe(0);

    // The sink keeps working afterwards.
    await sink.write(batch('atomic', lines));
    expect(await count('logrelay_atomic')).toBe(3);
  });

  it('fails retriable, in bounded time, when the database cannot be reached', async () => {
    const registry = new Registry();
    const sink = make(
      { url: `mysql://${user}@127.0.0.1:1/${database}`, connectTimeoutMs: 2000 },
      registry,
    );
    await sink.start();
    const started = Date.now();
    const error = await sink.write(batch('down', [Buffer.from('x')])).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error).toBeInstanceOf(RelayError);
    expect((error as RelayError).code).toBe('SINK_UNAVAILABLE');
    expect((error as RelayError).retriable).toBe(true);
    const errors = await registry.getSingleMetric('logrelay_mysql_sink_errors_total')?.get();
    expect(errors?.values).toEqual([
      { value: 1, labels: { sink: 'mysql-it', code: 'ECONNREFUSED' } },
    ]);
  });

  it('can be stopped before start and twice, and waits for writes in flight', async () => {
    const idle = make();
    await idle.stop();
    await idle.stop();
    expect(idle.state).toBe('new');

    const sink = make();
    await sink.start();
    const lines = Array.from({ length: 500 }, (_, i) => Buffer.from(`in flight ${i}`));
    const write = sink.write(batch('stopping', lines));
    await sink.stop();
    await sink.stop();
    await write;
    expect(sink.state).toBe('stopped');
    expect(await count('logrelay_stopping')).toBe(500);

    const after = await sink.write(batch('stopping', lines)).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect((after as RelayError).code).toBe('SINK_NOT_RUNNING');
    expect((after as RelayError).retriable).toBe(true);
  });
});
