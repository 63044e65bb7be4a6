import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/common/config/config-error.js';
import { validateConfig } from '../../src/common/config/load-config.js';
import { RelayError } from '../../src/common/errors/relay-error.js';
import {
  createHbaseSink,
  hbaseSinkConfigSchema,
  rowKey,
  tableName,
  type HbaseSink,
  type HbaseSinkConfigInput,
} from '../../src/collector/sinks/hbase/index.js';
import { PartialWriteError, type SinkBatch } from '../../src/collector/sinks/sink.js';
import {
  createTable,
  dropTable,
  getRow,
  hbaseRestUrl,
  scanTable,
  tableExists,
} from '../helpers/hbase.js';
import { services, requireService } from '../helpers/services.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { uniqueName } from '../helpers/unique.js';
import { sinkBatch } from '../helpers/batches.js';

/** A line that is not valid UTF-8, with a NUL and a CR in it. */
const BINARY = Buffer.from([0x00, 0xff, 0xfe, 0x41, 0x0d, 0xc3, 0x28]);
const STREAM = 'agent-1:2049:42:1';

const batch = (lines: (string | Buffer)[], start = 0, overrides: Partial<SinkBatch> = {}) =>
  sinkBatch(lines, start, { streamKey: STREAM, ...overrides });

async function counterValue(registry: Registry, name: string, labels: Record<string, string>) {
  const metric = registry.getSingleMetric(name);
  if (!metric) return undefined;
  const { values } = await metric.get();
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

async function rejection(promise: Promise<unknown>): Promise<RelayError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(RelayError);
    return err as RelayError;
  }
  throw new Error('expected the write to fail');
}

describe('HBase sink (real REST gateway)', () => {
  const prefix = uniqueName('it_hbase').replace(/[^a-zA-Z0-9_]/g, '_');
  const tables = new Set<string>();
  const closers: (() => Promise<void>)[] = [];
  let n = 0;

  beforeAll(async () => {
    await requireService('hbase');
  });

  afterAll(async () => {
    for (const close of closers.splice(0)) await close();
    for (const table of tables) await dropTable(table).catch(() => undefined);
  });

  /** A started sink with a table template of its own; returns the table of topic `app`. */
  const sinkWith = async (config: Partial<HbaseSinkConfigInput> = {}) => {
    const registry = new Registry();
    const name = `h${n++}`;
    const parsed = validateConfig(hbaseSinkConfigSchema, {
      type: 'hbase',
      name,
      url: hbaseRestUrl,
      tableTemplate: `${prefix}_${name}_{topic}`,
      ...config,
    });
    const sink: HbaseSink = createHbaseSink(parsed, {
      log: pino({ level: 'silent' }),
      registry,
      collectorId: 'it',
    });
    closers.push(() => sink.stop());
    await sink.start();
    const table = tableName(parsed.tableTemplate, 'app', parsed.namespace);
    tables.add(table);
    return { sink, registry, name, table };
  };

  it('creates the missing table and stores each line byte for byte with its metadata', async () => {
    const { sink, registry, name, table } = await sinkWith();
    expect(await tableExists(table)).toBe(false);
    await sink.write(batch(['hello', BINARY, 'émoji ✓', ''], 1000));
    expect(await tableExists(table)).toBe(true);

    const key = rowKey({ kind: 'plain' }, 'agent-1', STREAM, 1006);
    const row = await getRow(table, key);
    expect(row?.get('d:line')).toEqual(BINARY);
    expect(row?.get('d:agent')?.toString()).toBe('agent-1');
    expect(row?.get('d:host')?.toString()).toBe('web-1');
    expect(row?.get('d:path')?.toString()).toBe('/var/log/app.log');
    expect(row?.get('d:offset')?.toString()).toBe('1006');
    expect(row?.get('d:time')?.toString()).toBe('2026-01-02T03:04:05.678Z');

    const rows = await scanTable(table);
    expect([...(rows?.values() ?? [])].map((r) => r.get('d:line'))).toEqual([
      Buffer.from('hello'),
      BINARY,
      Buffer.from('émoji ✓'),
      Buffer.alloc(0),
    ]);
    expect(await counterValue(registry, 'logrelay_hbase_sink_rows_total', { sink: name })).toBe(4);
    expect(
      await counterValue(registry, 'logrelay_hbase_sink_errors_total', {
        sink: name,
        code: 'SINK_UNAVAILABLE',
      }),
    ).toBe(0);
  });

  it('stores the batch’s fields as fields.<key> cells beside the metadata, once per line', async () => {
    const { sink, table } = await sinkWith();
    const fields = { service: 'checkout', 'k8s.pod': 'checkout-7d9f' };
    for (let i = 0; i < 2; i++) await sink.write(batch(['f1', 'f2'], 0, { fields }));
    await sink.write(batch(['f3'], 6));
    const rows = [...((await scanTable(table)) ?? new Map<string, Map<string, Buffer>>()).values()];
    expect(rows.map((r) => r.get('d:line')?.toString())).toEqual(['f1', 'f2', 'f3']);
    const cells = (r: Map<string, Buffer> | undefined) =>
      [...(r?.entries() ?? [])].map(([q, v]) => `${q}=${v.toString()}`).sort();
    expect(cells(rows[1])).toEqual([
      'd:agent=agent-1',
      'd:fields.k8s.pod=checkout-7d9f',
      'd:fields.service=checkout',
      'd:host=web-1',
      'd:line=f2',
      'd:offset=3',
      'd:path=/var/log/app.log',
      'd:time=2026-01-02T03:04:05.678Z',
    ]);
    expect(cells(rows[2]).filter((c) => c.startsWith('d:fields.'))).toEqual([]);
  });

  it('stores a batch retransmitted 3 times exactly once, and another generation apart', async () => {
    const { sink, table } = await sinkWith({ maxRowsPerRequest: 7 });
    const lines = Array.from({ length: 50 }, (_, i) => `line-${i}`);
    for (let i = 0; i < 4; i++) await sink.write(batch(lines));
    // An overlapping resend (the last 20 again plus 10 new) adds only the new ones.
    const tail = [...lines.slice(30), ...Array.from({ length: 10 }, (_, i) => `more-${i}`)];
    const at = batch(lines).offsets[30] as number;
    await sink.write(batch(tail, at));
    expect((await scanTable(table))?.size).toBe(60);
    // The file truncated: a new generation, offsets from 0 again, rows of their own.
    await sink.write(batch(['new-gen'], 0, { streamKey: 'agent-1:2049:42:2' }));
    const rows = await scanTable(table);
    expect(rows?.size).toBe(61);
    const lineValues = [...(rows?.values() ?? [])].map((r) => r.get('d:line')?.toString());
    expect(lineValues.filter((l) => l === 'line-0')).toHaveLength(1);
    expect(lineValues).toContain('new-gen');
  });

  it('raw keeps only the line cell; salted keys read back with one scan per bucket', async () => {
    const raw = await sinkWith({ format: 'raw' });
    await raw.sink.write(batch(['a', BINARY]));
    const rawRows = [...((await scanTable(raw.table)) ?? new Map()).values()];
    expect(rawRows.map((r) => [...r.keys()])).toEqual([['d:line'], ['d:line']]);
    expect(rawRows[1]?.get('d:line')).toEqual(BINARY);

    const salted = await sinkWith({
      rowKey: { kind: 'salted', saltBuckets: 4 },
      columnFamily: 'cf',
    });
    // Offsets spread over several 1 MiB blocks, hence buckets.
    const lines = Array.from({ length: 20 }, (_, i) => `s-${i}`);
    for (let i = 0; i < lines.length; i++) {
      await salted.sink.write(batch([lines[i] as string], i * 1024 * 1024));
    }
    const rows = (await scanTable(salted.table)) ?? new Map<string, Map<string, Buffer>>();
    expect(rows.size).toBe(20);
    const buckets = new Set([...rows.keys()].map((k) => k.slice(0, 2)));
    expect(buckets.size).toBeGreaterThan(1);
    // In key order a salted table is not in stream order; by offset it is complete.
    const byOffset = [...rows.values()]
      .sort((a, b) => Number(a.get('cf:offset')) - Number(b.get('cf:offset')))
      .map((r) => r.get('cf:line')?.toString());
    expect(byOffset).toEqual(lines);
  });

  it('rejects an oversize line before sending (nothing written), and so does the gateway', async () => {
    const { sink, registry, name, table } = await sinkWith();
    const big = Buffer.alloc(11 * 1024 * 1024, 0x61);
    const error = await rejection(sink.write(batch(['before', big, 'after'], 500)));
    expect([error.code, error.retriable]).toEqual(['SINK_REJECTED', false]);
    expect(error.message).toMatch(/offset 507 \(11534336 bytes\)/);
    expect(await scanTable(table)).toBeUndefined();
    expect(
      await counterValue(registry, 'logrelay_hbase_sink_errors_total', {
        sink: name,
        code: 'SINK_REJECTED',
      }),
    ).toBe(1);

    // With the sink's limit raised past the gateway's (hbase.client.keyvalue.maxsize, 10 MiB),
    // the gateway refuses it (400 KeyValue size too large): not retriable either.
    // Sent as two requests, the first stored: the error says where the stored lines end.
    const lax = await sinkWith({ maxCellBytes: 64 * 1024 * 1024, maxRowsPerRequest: 1 });
    const server = await rejection(lax.sink.write(batch(['first', big], 0)));
    expect([server.code, server.retriable]).toEqual(['SINK_REJECTED', false]);
    expect(server.message).toMatch(/HTTP 400.*KeyValue size too large/);
    expect(server).toBeInstanceOf(PartialWriteError);
    expect((server as PartialWriteError).committedEndOffset).toBe(6);
    expect((await scanTable(lax.table))?.size).toBe(1);
  });

  it('refuses an invalid table name in the config with its key path; sanitises topics', async () => {
    for (const bad of ['logs {topic}', 'ns:{topic}', '.logs_{topic}']) {
      let caught: unknown;
      try {
        validateConfig(hbaseSinkConfigSchema, { type: 'hbase', name: 'x', tableTemplate: bad });
      } catch (err) {
        caught = err;
      }
      expect(caught, bad).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).issues.map((i) => i.path)).toContain('tableTemplate');
    }
    const { sink } = await sinkWith();
    const weird = 'web/access log:ü';
    await sink.write(batch(['x'], 0, { topic: weird }));
    const table = tableName(`${prefix}_${sink.name}_{topic}`, weird);
    tables.add(table);
    expect(table).toMatch(/_web_access_log__$/);
    expect((await scanTable(table))?.size).toBe(1);
  });

  it('without createTable, a missing table fails retriable until an operator creates it', async () => {
    const { sink, table } = await sinkWith({ createTable: false });
    const error = await rejection(sink.write(batch(['x'])));
    expect([error.code, error.retriable]).toEqual(['SINK_UNAVAILABLE', true]);
    expect(error.message).toMatch(new RegExp(`table ${table} does not exist: create it`));
    await createTable(table);
    await sink.write(batch(['x']));
    expect((await scanTable(table))?.size).toBe(1);
  });

  it('fails retriable within the timeout when the gateway is unreachable, and recovers', async () => {
    const proxy = new TcpProxy(services.hbase);
    await proxy.up();
    const { sink, table } = await sinkWith({
      url: `http://127.0.0.1:${proxy.port}`,
      timeoutMs: 2000,
    });
    await sink.write(batch(['one']));
    await proxy.down();
    const started = Date.now();
    const error = await rejection(sink.write(batch(['two'], 4)));
    expect([error.code, error.retriable]).toEqual(['SINK_UNAVAILABLE', true]);
    expect(error.message).toMatch(/ECONNREFUSED|ECONNRESET|no answer/);
    expect(Date.now() - started).toBeLessThan(3000);
    await proxy.up();
    await sink.write(batch(['two'], 4));
    expect((await scanTable(table))?.size).toBe(2);
    await proxy.down();

    // A gateway that accepts but never answers: the request times out, retriable.
    const silent = createServer(() => undefined);
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const port = (silent.address() as AddressInfo).port;
      const hung = await sinkWith({ url: `http://127.0.0.1:${port}`, timeoutMs: 500 });
      const t0 = Date.now();
      const timeout = await rejection(hung.sink.write(batch(['x'])));
      expect([timeout.code, timeout.retriable]).toEqual(['SINK_UNAVAILABLE', true]);
      expect(timeout.message).toMatch(/no answer within 500 ms/);
      expect(Date.now() - t0).toBeLessThan(2000);
      await hung.sink.stop();
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('starts with the gateway down; stops before start and twice; stop waits for writes', async () => {
    const registry = new Registry();
    const ctx = { log: pino({ level: 'silent' }), registry, collectorId: 'it' };
    const config = (extra: Partial<HbaseSinkConfigInput>) =>
      validateConfig(hbaseSinkConfigSchema, { type: 'hbase', name: `s${n++}`, ...extra });

    const never = createHbaseSink(config({ url: 'http://127.0.0.1:1' }), ctx);
    await never.stop();
    await never.stop();
    await never.start();
    const down = await rejection(never.write(batch(['x'])));
    expect(down.retriable).toBe(true);
    await never.stop();
    const stopped = await rejection(never.write(batch(['x'])));
    expect([stopped.code, stopped.retriable]).toEqual(['SINK_NOT_RUNNING', true]);

    const { sink, table } = await sinkWith();
    const lines = Array.from({ length: 3000 }, (_, i) => `inflight-${i} ${'x'.repeat(100)}`);
    const write = sink.write(batch(lines));
    await sink.stop();
    await expect(write).resolves.toEqual({ skippedLines: 0 });
    expect((await scanTable(table))?.size).toBe(3000);
    await sink.stop();
  });
});
