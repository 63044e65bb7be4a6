import { describe, expect, it } from 'vitest';
import { RelayError } from '../../../../../src/common/errors/relay-error.js';
import { validateConfig } from '../../../../../src/common/config/load-config.js';
import {
  HbaseHttpError,
  HbaseTimeoutError,
  buildRows,
  chunkRows,
  hbaseSinkConfigSchema,
  paddedOffset,
  putBody,
  rowKey,
  saltBucket,
  saltSplitKeys,
  schemaBody,
  streamHash,
  tableName,
  toRelayError,
  type HbaseSinkConfigInput,
} from '../../../../../src/collector/sinks/hbase/index.js';
import type { SinkBatch } from '../../../../../src/collector/sinks/sink.js';
import { sinkBatch } from '../../../../helpers/batches.js';

const STREAM = 'agent-1:2049:1234:7';

const batch = (lines: (string | Buffer)[], start = 0, overrides: Partial<SinkBatch> = {}) =>
  sinkBatch(lines, start, { streamKey: STREAM, ...overrides });

const config = (extra: Partial<HbaseSinkConfigInput> = {}) =>
  validateConfig(hbaseSinkConfigSchema, { type: 'hbase', name: 'h', ...extra });

describe('hbase row keys', () => {
  it('plain: <agent>:<first 16 hex of sha1(stream key)>:<offset, 20 digits>', () => {
    expect(streamHash(STREAM)).toMatch(/^[0-9a-f]{16}$/);
    expect(rowKey({ kind: 'plain' }, 'agent-1', STREAM, 42)).toBe(
      `agent-1:${streamHash(STREAM)}:00000000000000000042`,
    );
    expect(paddedOffset(Number.MAX_SAFE_INTEGER)).toHaveLength(20);
    expect(() => paddedOffset(-1)).toThrow(RangeError);
    expect(() => paddedOffset(1.5)).toThrow(RangeError);
  });

  it('is deterministic and sorts a stream in offset order', () => {
    const offsets = [0, 9, 10, 99, 100, 12_345, 1_000_000, 2 ** 40, Number.MAX_SAFE_INTEGER];
    const keys = offsets.map((o) => rowKey({ kind: 'plain' }, 'a', STREAM, o));
    expect(keys).toEqual(offsets.map((o) => rowKey({ kind: 'plain' }, 'a', STREAM, o)));
    expect([...keys].sort()).toEqual(keys);
  });

  it('differs between generations of one file (a truncated file reuses offsets)', () => {
    const gen1 = rowKey({ kind: 'plain' }, 'a', 'a:1:2:1', 0);
    const gen2 = rowKey({ kind: 'plain' }, 'a', 'a:1:2:2', 0);
    expect(gen1).not.toBe(gen2);
    expect(rowKey({ kind: 'salted', saltBuckets: 8 }, 'a', 'a:1:2:1', 0)).not.toBe(
      rowKey({ kind: 'salted', saltBuckets: 8 }, 'a', 'a:1:2:2', 0),
    );
  });

  it('salted: a two-digit bucket from (stream, 1 MiB block) in front of the plain key', () => {
    const salted = { kind: 'salted', saltBuckets: 16 } as const;
    const key = rowKey(salted, 'agent-1', STREAM, 42);
    expect(key).toMatch(/^\d\d:agent-1:[0-9a-f]{16}:00000000000000000042$/);
    expect(key.slice(3)).toBe(rowKey({ kind: 'plain' }, 'agent-1', STREAM, 42));
    expect(rowKey(salted, 'agent-1', STREAM, 42)).toBe(key);
    // Lines of one block share a bucket; the buckets of a growing file spread over all of them.
    const hash = streamHash(STREAM);
    expect(saltBucket(hash, 0, 16)).toBe(saltBucket(hash, 1024 * 1024 - 1, 16));
    const used = new Set<number>();
    for (let block = 0; block < 400; block++) used.add(saltBucket(hash, block * 1024 * 1024, 16));
    expect(used.size).toBe(16);
    for (const b of used) expect(b).toBeGreaterThanOrEqual(0);
    expect(saltSplitKeys(4)).toEqual(['01', '02', '03']);
  });
});

describe('hbase table names', () => {
  it('replaces characters HBase does not allow in the topic', () => {
    expect(tableName('logs_{topic}', 'app')).toBe('logs_app');
    expect(tableName('logs_{topic}', 'web/access log:1')).toBe('logs_web_access_log_1');
    expect(tableName('logs_{topic}', 'a.b-c_d')).toBe('logs_a.b-c_d');
    expect(tableName('{topic}', '.hidden')).toBe('_hidden');
    expect(tableName('{topic}', '-x')).toBe('_x');
    expect(tableName('{topic}', 'ünï')).toBe('_n_');
    expect(tableName('t_{topic}', 'app', 'logrelay')).toBe('logrelay:t_app');
  });

  it('cuts long names with a hash suffix, keeping distinct topics distinct', () => {
    const a = tableName('logs_{topic}', `${'x'.repeat(300)}a`);
    const b = tableName('logs_{topic}', `${'x'.repeat(300)}b`);
    expect(a).toHaveLength(200);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[a-zA-Z0-9_.-]+$/);
  });
});

describe('hbase rows and request bodies', () => {
  it('json: cells line (exact bytes), agent, host, path, offset, time', () => {
    const binary = Buffer.from([0x00, 0xff, 0xfe, 0x41, 0x0d]);
    const rows = buildRows(batch(['hello', binary], 100), config());
    expect(rows.map((r) => r.key.toString())).toEqual([
      rowKey({ kind: 'plain' }, 'agent-1', STREAM, 100),
      rowKey({ kind: 'plain' }, 'agent-1', STREAM, 106),
    ]);
    expect(rows[1]?.cells.map(([q, v]) => [q, v.toString('latin1')])).toEqual([
      ['line', binary.toString('latin1')],
      ['agent', 'agent-1'],
      ['host', 'web-1'],
      ['path', '/var/log/app.log'],
      ['offset', '106'],
      ['time', '2026-01-02T03:04:05.678Z'],
    ]);
    expect(buildRows(batch(['x'], 0, { readTimeMs: Number.NaN }), config())[0]?.cells).toHaveLength(
      5,
    );
  });

  it('json: a cell fields.<key> per field of the batch, after the metadata; raw: none', () => {
    const fields = { service: 'checkout', 'k8s.pod': 'checkout-7d9f' };
    const rows = buildRows(batch(['a', 'b'], 0, { fields }), config());
    expect(rows.map((r) => r.cells.map(([q, v]) => `${q}=${v.toString()}`))).toEqual(
      [0, 2].map((offset) => [
        'line=' + (offset === 0 ? 'a' : 'b'),
        'agent=agent-1',
        'host=web-1',
        'path=/var/log/app.log',
        `offset=${offset}`,
        'time=2026-01-02T03:04:05.678Z',
        'fields.service=checkout',
        'fields.k8s.pod=checkout-7d9f',
      ]),
    );
    const raw = buildRows(batch(['a'], 0, { fields }), config({ format: 'raw' }));
    expect(raw[0]?.cells.map(([q]) => q)).toEqual(['line']);
  });

  it('raw: only the line cell', () => {
    const rows = buildRows(batch(['a', 'b']), config({ format: 'raw' }));
    expect(rows.map((r) => r.cells.map(([q]) => q))).toEqual([['line'], ['line']]);
  });

  it('builds the REST CellSetModel with base64 keys, columns and values', () => {
    const rows = buildRows(batch(['hi', Buffer.from([0xff])]), config({ format: 'raw' }));
    const body = JSON.parse(putBody(rows, 'd').toString()) as {
      Row: { key: string; Cell: { column: string; $: string }[] }[];
    };
    expect(body.Row).toHaveLength(2);
    expect(Buffer.from(body.Row[0]!.key, 'base64').toString()).toBe(rows[0]!.key.toString());
    expect(Buffer.from(body.Row[0]!.Cell[0]!.column, 'base64').toString()).toBe('d:line');
    expect(Buffer.from(body.Row[0]!.Cell[0]!.$, 'base64').toString()).toBe('hi');
    expect(Buffer.from(body.Row[1]!.Cell[0]!.$, 'base64')).toEqual(Buffer.from([0xff]));
    expect(JSON.parse(schemaBody('ns:t', 'd').toString())).toEqual({
      name: 'ns:t',
      ColumnSchema: [{ name: 'd', VERSIONS: '1' }],
    });
  });

  it('chunks by rows and by line bytes, a line over the byte limit alone', () => {
    const rows = (sizes: number[]) => sizes.map((lineBytes, i) => ({ lineBytes, i }));
    const ids = (chunks: { i: number }[][]) => chunks.map((c) => c.map((r) => r.i));
    expect(ids(chunkRows(rows([1, 1, 1, 1, 1]), 2, 100))).toEqual([[0, 1], [2, 3], [4]]);
    expect(ids(chunkRows(rows([40, 40, 40, 200, 10]), 10, 100))).toEqual([[0, 1], [2], [3], [4]]);
    expect(chunkRows([], 10, 100)).toEqual([]);
  });

  it('rejects a line over the cell limit before sending, naming its offset and size', () => {
    const big = Buffer.alloc(2000, 0x61);
    let caught: unknown;
    try {
      buildRows(batch(['ok', big], 10), config({ maxCellBytes: 1500 }));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RelayError);
    const error = caught as RelayError;
    expect(error.code).toBe('SINK_REJECTED');
    expect(error.retriable).toBe(false);
    expect(error.message).toMatch(/offset 13 \(2000 bytes\)/);
    expect(() => buildRows(batch(['x'], 0, { agentId: 'a'.repeat(40_000) }), config())).toThrow(
      /row key/,
    );
  });
});

describe('hbase error mapping', () => {
  const http = (status: number, body = '') =>
    toRelayError(new HbaseHttpError('PUT /t/fakerow', status, Buffer.from(body)), 'h', 't');

  it('retries outages: no connection, timeouts, 5xx, 408, 429', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND']) {
      const err = Object.assign(new Error(`connect ${code}`), { code });
      const mapped = toRelayError(err, 'h');
      expect([mapped.code, mapped.retriable], code).toEqual(['SINK_UNAVAILABLE', true]);
    }
    expect(toRelayError(new HbaseTimeoutError('no answer within 5 ms'), 'h').retriable).toBe(true);
    for (const status of [500, 502, 503, 504, 408, 429]) {
      expect([http(status).code, http(status).retriable], String(status)).toEqual([
        'SINK_UNAVAILABLE',
        true,
      ]);
    }
    expect(toRelayError('weird', 'h').retriable).toBe(true);
  });

  it('retries a missing table or family, and refused credentials, saying what to fix', () => {
    const table = http(
      404,
      'Not found\r\norg.apache.hadoop.hbase.TableNotFoundException: t\n\tat x',
    );
    expect([table.code, table.retriable]).toEqual(['SINK_UNAVAILABLE', true]);
    expect(table.message).toMatch(/table t does not exist: create it/);
    expect(table.message).toMatch(/TableNotFoundException: t/);
    expect(table.message).not.toMatch(/\tat x/);
    const family = http(404, 'Not found\nNoSuchColumnFamilyException: Column family zz');
    expect(family.message).toMatch(/lacks the column family/);
    for (const status of [401, 403]) {
      expect([http(status).code, http(status).retriable]).toEqual(['SINK_UNAVAILABLE', true]);
      expect(http(status).message).toMatch(/credentials/);
    }
  });

  it('rejects what fails the same way every time: 400, 406, 413, 415', () => {
    for (const status of [400, 406, 413, 415]) {
      const mapped = http(
        status,
        'Bad request\njava.lang.IllegalArgumentException: KeyValue size too large',
      );
      expect([mapped.code, mapped.retriable], String(status)).toEqual(['SINK_REJECTED', false]);
    }
    expect(http(400, 'Bad request\nx: KeyValue size too large').message).toMatch(/too large/);
  });

  it('keeps RelayErrors as they are', () => {
    const own = new RelayError('SINK_REJECTED', 'mine');
    expect(toRelayError(own, 'h')).toBe(own);
  });
});
