import { describe, expect, it } from 'vitest';
import { RelayError } from '../../../../../src/common/errors/relay-error.js';
import {
  REQUEST_OVERHEAD_BYTES,
  buildRecords,
  chunkRecords,
  estimateRecordBytes,
  kafkaTopic,
  recordKey,
  type JsonRecordValue,
  type KafkaRecord,
} from '../../../../../src/collector/sinks/kafka/records.js';
import type { SinkBatch } from '../../../../../src/collector/sinks/sink.js';

const invalidUtf8 = Buffer.from([0x61, 0xff, 0xfe, 0x62, 0xc3]); // "a", two invalid bytes, "b", a truncated sequence

function batch(lines: Buffer[], overrides: Partial<SinkBatch> = {}): SinkBatch {
  const offsets: number[] = [];
  let offset = 100;
  for (const line of lines) {
    offsets.push(offset);
    offset += line.length + 1;
  }
  return {
    streamKey: 'agent-1:2049:1234:abcd',
    agentId: 'agent-1',
    host: 'web-1',
    path: '/var/log/app.log',
    topic: 'app',
    lines,
    offsets,
    endOffset: offset,
    readTimeMs: Date.UTC(2024, 4, 6, 7, 8, 9, 10),
    ...overrides,
  };
}

describe('kafka records', () => {
  it('keys every record by <agent id>:<path>', () => {
    const b = batch([Buffer.from('one'), Buffer.from('two')]);
    expect(recordKey(b)).toBe('agent-1:/var/log/app.log');
    const records = buildRecords(b, { format: 'raw', headers: false });
    expect(records.map((r) => r.key)).toEqual([
      'agent-1:/var/log/app.log',
      'agent-1:/var/log/app.log',
    ]);
    // A rotated file keeps the name it was first known by: one key, one partition, in order.
    expect(recordKey({ ...b, path: '/var/log/app.log.1', keyPath: '/var/log/app.log' })).toBe(
      'agent-1:/var/log/app.log',
    );
  });

  it('raw: one record per line, values byte-exact (invalid UTF-8 and empty lines too), no headers', () => {
    const lines = [Buffer.from('first'), Buffer.alloc(0), invalidUtf8, Buffer.from('ünïcödé')];
    const records = buildRecords(batch(lines), { format: 'raw', headers: false });
    expect(records).toHaveLength(4);
    records.forEach((record, i) => {
      expect(Buffer.compare(record.value, lines[i] as Buffer)).toBe(0);
      expect(record.headers).toBeUndefined();
      expect('headers' in record).toBe(false);
    });
    // Zero-copy: the value is the received buffer itself.
    expect(records[2]?.value).toBe(invalidUtf8);
  });

  it('json: agent, host, path, offset, time and the line', () => {
    const b = batch([Buffer.from('hello "world"'), Buffer.alloc(0)]);
    const records = buildRecords(b, { format: 'json', headers: false });
    const values = records.map((r) => JSON.parse(r.value.toString('utf8')) as JsonRecordValue);
    expect(values).toEqual([
      {
        agent: 'agent-1',
        host: 'web-1',
        path: '/var/log/app.log',
        offset: 100,
        time: '2024-05-06T07:08:09.010Z',
        line: 'hello "world"',
      },
      {
        agent: 'agent-1',
        host: 'web-1',
        path: '/var/log/app.log',
        offset: 114,
        time: '2024-05-06T07:08:09.010Z',
        line: '',
      },
    ]);
    expect(Object.keys(values[0] as object)).toEqual([
      'agent',
      'host',
      'path',
      'offset',
      'time',
      'line',
    ]);
  });

  it('json: invalid UTF-8 is decoded with U+FFFD instead of throwing', () => {
    const records = buildRecords(batch([invalidUtf8]), { format: 'json', headers: false });
    const value = JSON.parse(records[0]?.value.toString('utf8') ?? '') as JsonRecordValue;
    expect(value.line).toBe('a\uFFFD\uFFFDb\uFFFD');
    // The value itself is well-formed UTF-8.
    expect(
      Buffer.from(records[0]?.value.toString('utf8') ?? '').equals(records[0]?.value as Buffer),
    ).toBe(true);
  });

  it('json: an unusable read time becomes null rather than an exception', () => {
    const records = buildRecords(batch([Buffer.from('x')], { readTimeMs: Number.NaN }), {
      format: 'json',
      headers: false,
    });
    expect((JSON.parse(records[0]?.value.toString() ?? '') as JsonRecordValue).time).toBeNull();
  });

  it('headers host, path, offset and agent only when configured', () => {
    const b = batch([Buffer.from('a'), Buffer.from('bb')]);
    const withHeaders = buildRecords(b, { format: 'raw', headers: true });
    expect(withHeaders.map((r) => r.headers)).toEqual([
      { host: 'web-1', path: '/var/log/app.log', offset: '100', agent: 'agent-1' },
      { host: 'web-1', path: '/var/log/app.log', offset: '102', agent: 'agent-1' },
    ]);
    const jsonWithHeaders = buildRecords(b, { format: 'json', headers: true });
    expect(jsonWithHeaders[1]?.headers?.['offset']).toBe('102');
    expect(buildRecords(b, { format: 'json', headers: false })[0]?.headers).toBeUndefined();
  });

  describe('with the tail’s fields', () => {
    const fields = { service: 'checkout', env: 'prod', 'k8s.pod': 'checkout-7d9f' };

    it('json: a fields object after the line, only when the batch has fields', () => {
      const lines = [Buffer.from('GET /cart 200'), Buffer.from('GET /pay 500')];
      const withFields = buildRecords(batch(lines, { fields }), { format: 'json', headers: false });
      const values = withFields.map((r) => JSON.parse(r.value.toString()) as JsonRecordValue);
      expect(values.map((v) => v.fields)).toEqual([fields, fields]);
      expect(Object.keys(values[1] as object)).toEqual([
        'agent',
        'host',
        'path',
        'offset',
        'time',
        'line',
        'fields',
      ]);
      expect(withFields[0]?.value.toString()).toBe(
        '{"agent":"agent-1","host":"web-1","path":"/var/log/app.log","offset":100,' +
          '"time":"2024-05-06T07:08:09.010Z","line":"GET /cart 200",' +
          '"fields":{"service":"checkout","env":"prod","k8s.pod":"checkout-7d9f"}}',
      );
      // No fields (an older agent, or a tail without any): byte for byte the envelope as before.
      const expected =
        '{"agent":"agent-1","host":"web-1","path":"/var/log/app.log","offset":100,' +
        '"time":"2024-05-06T07:08:09.010Z","line":"GET /cart 200"}';
      for (const none of [undefined, {}]) {
        const plain = buildRecords(batch(lines, none ? { fields: none } : {}), {
          format: 'json',
          headers: false,
        });
        expect(plain[0]?.value.toString()).toBe(expected);
      }
    });

    it('headers: one fields.<key> header per field after the standard four', () => {
      const b = batch([Buffer.from('a'), Buffer.from('bb')], { fields });
      const records = buildRecords(b, { format: 'raw', headers: true });
      expect(records.map((r) => r.headers)).toEqual([
        {
          host: 'web-1',
          path: '/var/log/app.log',
          offset: '100',
          agent: 'agent-1',
          'fields.service': 'checkout',
          'fields.env': 'prod',
          'fields.k8s.pod': 'checkout-7d9f',
        },
        {
          host: 'web-1',
          path: '/var/log/app.log',
          offset: '102',
          agent: 'agent-1',
          'fields.service': 'checkout',
          'fields.env': 'prod',
          'fields.k8s.pod': 'checkout-7d9f',
        },
      ]);
      expect(Object.keys(records[0]?.headers ?? {})).toHaveLength(7);
      // Raw values stay the received bytes; without headers, fields add no header.
      expect(records[0]?.value.toString()).toBe('a');
      expect(buildRecords(b, { format: 'raw', headers: false })[0]?.headers).toBeUndefined();
      // Counted in the request size estimate, so chunks still fit the broker's limit.
      const plain = buildRecords(batch([Buffer.from('a')]), { format: 'raw', headers: true })[0];
      const fieldBytes = Object.entries(fields).reduce(
        (n, [k, v]) => n + 10 + Buffer.byteLength(`fields.${k}`) + Buffer.byteLength(v),
        0,
      );
      expect(estimateRecordBytes(records[0] as KafkaRecord)).toBe(
        estimateRecordBytes(plain as KafkaRecord) + fieldBytes,
      );
    });
  });

  it('rejects a batch whose offsets do not match its lines, permanently', () => {
    const b = { ...batch([Buffer.from('a'), Buffer.from('b')]), offsets: [0] };
    expect(() => buildRecords(b, { format: 'raw', headers: false })).toThrow(
      expect.objectContaining({ code: 'SINK_REJECTED', retriable: false }),
    );
  });

  it('builds the topic from prefix and tail topic, refusing illegal names permanently', () => {
    expect(kafkaTopic('', 'app')).toBe('app');
    expect(kafkaTopic('logs.', 'app')).toBe('logs.app');
    for (const [prefix, topic] of [
      ['', ''],
      ['', '..'],
      ['', 'has space'],
      ['logs.', 'a/b'],
      ['', 'x'.repeat(250)],
    ] as const) {
      let error: unknown;
      try {
        kafkaTopic(prefix, topic);
      } catch (err) {
        error = err;
      }
      expect(error, `${prefix}${topic}`).toBeInstanceOf(RelayError);
      expect((error as RelayError).code).toBe('SINK_REJECTED');
      expect((error as RelayError).retriable).toBe(false);
    }
  });
});

describe('chunking', () => {
  const records = (n: number, size = 10) =>
    buildRecords(batch(Array.from({ length: n }, (_, i) => Buffer.alloc(size, 97 + (i % 26)))), {
      format: 'raw',
      headers: false,
    });

  it('splits by record count, keeping order and every record', () => {
    const all = records(2501);
    const chunks = chunkRecords(all, 1000, Number.MAX_SAFE_INTEGER, estimateRecordBytes);
    expect(chunks.map((c) => c.length)).toEqual([1000, 1000, 501]);
    expect(chunks.flat()).toEqual(all);
    expect(chunks.flat().every((r, i) => r === all[i])).toBe(true);
  });

  it('splits by estimated bytes so one request stays under the broker limit', () => {
    const all = records(100, 1000);
    const maxBytes = 10_000;
    const chunks = chunkRecords(all, 1000, maxBytes, estimateRecordBytes);
    expect(chunks.length).toBeGreaterThan(10);
    expect(chunks.flat()).toEqual(all);
    for (const chunk of chunks) {
      const bytes = chunk.reduce((sum, r) => sum + estimateRecordBytes(r), REQUEST_OVERHEAD_BYTES);
      expect(bytes).toBeLessThanOrEqual(maxBytes);
    }
  });

  it('sends a record larger than the limit alone rather than dropping it', () => {
    const [big] = records(1, 50_000);
    const [a, b] = records(2, 10);
    const all = [a, big, b].filter((r) => r !== undefined);
    const chunks = chunkRecords(all, 1000, 10_000, estimateRecordBytes);
    expect(chunks.map((c) => c.length)).toEqual([1, 1, 1]);
    expect(chunks.flat()).toEqual(all);
  });

  it('counts headers and keys in the estimate', () => {
    const plain = buildRecords(batch([Buffer.from('x')]), { format: 'raw', headers: false })[0];
    const headed = buildRecords(batch([Buffer.from('x')]), { format: 'raw', headers: true })[0];
    if (!plain || !headed) throw new Error('no record built');
    expect(estimateRecordBytes(plain)).toBeGreaterThan(1 + 'agent-1:/var/log/app.log'.length);
    expect(estimateRecordBytes(headed)).toBeGreaterThan(estimateRecordBytes(plain) + 40);
  });

  it('returns no chunk for no records', () => {
    expect(chunkRecords([], 10, 1000, () => 1)).toEqual([]);
  });
});
