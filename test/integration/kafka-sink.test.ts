import { Kafka, logLevel, type Admin, type IHeaders } from 'kafkajs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayError } from '../../src/common/errors/relay-error.js';
import { validateConfig } from '../../src/common/config/load-config.js';
import {
  createKafkaSink,
  kafkaSinkConfigSchema,
  type KafkaSink,
  type KafkaSinkConfigInput,
} from '../../src/collector/sinks/kafka/index.js';
import type { SinkBatch } from '../../src/collector/sinks/sink.js';
import { compressionUnavailable } from '../../src/collector/sinks/kafka/codecs.js';
import { kcatReadCommitted } from '../helpers/kafka.js';
import { endpoint, requireService } from '../helpers/services.js';
import { uniqueName } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

interface Consumed {
  partition: number;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

describe('Kafka sink (real broker)', () => {
  const kafka = new Kafka({
    clientId: 'logrelay-it-sink',
    brokers: [endpoint('kafka')],
    logLevel: logLevel.NOTHING,
    retry: { retries: 3 },
  });
  const closers: (() => Promise<void>)[] = [];
  let admin: Admin;
  const topics: string[] = [];

  const createTopic = async (numPartitions = 3) => {
    const topic = uniqueName('it_sink');
    await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
    topics.push(topic);
    return topic;
  };

  const sinkWith = (config: Partial<KafkaSinkConfigInput> = {}): KafkaSink => {
    const sink = createKafkaSink(
      validateConfig(kafkaSinkConfigSchema, {
        type: 'kafka',
        name: uniqueName('k'),
        brokers: [endpoint('kafka')],
        ...config,
      }),
      { log: pino({ level: 'silent' }), registry: new Registry(), collectorId: 'it' },
    );
    closers.push(() => sink.stop());
    return sink;
  };

  /**
   * Reads the topic from the beginning with a read_committed consumer until `expected` records
   * arrived, then a little longer so that extra (duplicated) records would be seen too.
   */
  const consumeAll = async (topic: string, expected: number): Promise<Consumed[]> => {
    const consumer = kafka.consumer({ groupId: uniqueName('g'), readUncommitted: false });
    await consumer.connect();
    const out: Consumed[] = [];
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          out.push({
            partition,
            key: message.key?.toString() ?? '',
            value: message.value ?? Buffer.from('<null>'),
            headers: stringHeaders(message.headers),
          });
        },
      });
      await waitFor(() => out.length >= expected, {
        timeoutMs: 60_000,
        what: `${expected} records on ${topic}`,
      });
      await sleep(500);
    } finally {
      await consumer.disconnect();
    }
    return out;
  };

  const batchOf = (
    topic: string,
    lines: Buffer[],
    startOffset: number,
    overrides: Partial<SinkBatch> = {},
  ): SinkBatch => {
    const offsets: number[] = [];
    let offset = startOffset;
    for (const line of lines) {
      offsets.push(offset);
      offset += line.length + 1;
    }
    return {
      streamKey: 'agent-it:2049:77:f00d',
      agentId: 'agent-it',
      host: 'host-it',
      path: '/var/log/it.log',
      topic,
      lines,
      offsets,
      endOffset: offset,
      readTimeMs: Date.UTC(2024, 0, 2, 3, 4, 5, 6),
      ...overrides,
    };
  };

  beforeAll(async () => {
    await requireService('kafka');
    admin = kafka.admin();
    await admin.connect();
    closers.push(() => admin.disconnect());
    closers.push(() => (topics.length > 0 ? admin.deleteTopics({ topics }) : Promise.resolve()));
  });

  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  });

  it('delivers three batches of a stream byte-exact, keyed, in order, in one partition', async () => {
    const topic = await createTopic();
    const sink = sinkWith();
    await sink.start();
    const batches = [
      [Buffer.from('first line'), Buffer.from('second line')],
      [Buffer.from([0x61, 0xff, 0xfe, 0x00, 0x62, 0xc3]), Buffer.alloc(0), Buffer.from('ünï 🙂')],
      [Buffer.from('after the odd ones'), Buffer.from('x'.repeat(10_000))],
    ];
    let offset = 0;
    for (const lines of batches) {
      const batch = batchOf(topic, lines, offset);
      await sink.write(batch);
      offset = batch.endOffset;
    }
    const expected = batches.flat();
    const got = await consumeAll(topic, expected.length);
    expect(got).toHaveLength(expected.length);
    got.forEach((record, i) => {
      expect(Buffer.compare(record.value, expected[i] as Buffer), `record ${i}`).toBe(0);
      expect(record.key).toBe('agent-it:/var/log/it.log');
      expect(record.headers).toEqual({});
    });
    expect(new Set(got.map((r) => r.partition)).size).toBe(1);
    await sink.stop();
  });

  it('writes JSON values with per-record headers, gzip-compressed, under the topic prefix', async () => {
    const prefix = 'pfx.';
    const tail = uniqueName('json');
    const topic = `${prefix}${tail}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    topics.push(topic);
    const sink = sinkWith({
      format: 'json',
      headers: true,
      compression: 'gzip',
      topicPrefix: prefix,
    });
    await sink.start();
    const lines = [
      Buffer.from('{"already":"json"}'),
      Buffer.from([0x6f, 0x6b, 0xff]),
      Buffer.alloc(0),
    ];
    const batch = batchOf(tail, lines, 1000);
    await sink.write(batch);
    const got = await consumeAll(topic, lines.length);
    expect(got).toHaveLength(3);
    expect(got.map((r) => JSON.parse(r.value.toString('utf8')) as unknown)).toEqual([
      {
        agent: 'agent-it',
        host: 'host-it',
        path: '/var/log/it.log',
        offset: 1000,
        time: '2024-01-02T03:04:05.006Z',
        line: '{"already":"json"}',
      },
      {
        agent: 'agent-it',
        host: 'host-it',
        path: '/var/log/it.log',
        offset: 1019,
        time: '2024-01-02T03:04:05.006Z',
        line: 'ok\uFFFD',
      },
      {
        agent: 'agent-it',
        host: 'host-it',
        path: '/var/log/it.log',
        offset: 1023,
        time: '2024-01-02T03:04:05.006Z',
        line: '',
      },
    ]);
    expect(got.map((r) => r.headers)).toEqual(
      batch.offsets.map((offset) => ({
        host: 'host-it',
        path: '/var/log/it.log',
        offset: String(offset),
        agent: 'agent-it',
      })),
    );
    await sink.stop();
  });

  const numberedLines = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) =>
      Buffer.from(`${prefix}-${String(i).padStart(6, '0')} ${'p'.repeat(80)}`),
    );
  const idOf = (line: Buffer) => line.toString('latin1').split(' ', 1)[0] ?? '';

  it('compresses with every codec, and a consumer that decodes them (kcat) reads each line back', async () => {
    const codecs = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
    for (const compression of codecs) {
      const unavailable = compressionUnavailable(compression);
      if (unavailable) {
        // This runtime lacks the codec: the configuration is refused under its key at start.
        expect(() =>
          validateConfig(kafkaSinkConfigSchema, { type: 'kafka', name: 'z', compression }),
        ).toThrow(/compression.*Node\.js 22\.15/s);
        continue;
      }
      const topic = await createTopic(1);
      const sink = sinkWith({ compression });
      await sink.start();
      const lines = Array.from({ length: 3000 }, (_, i) =>
        Buffer.from(`${compression} line ${i} ${'repeated text '.repeat(i % 5)}`),
      );
      lines[7] = Buffer.from([0x61, 0xff, 0xfe, 0x00, 0x62]);
      lines[8] = Buffer.alloc(0);
      await sink.write(batchOf(topic, lines.slice(0, 1500), 0));
      await sink.write(batchOf(topic, lines.slice(1500), 100_000));
      const got = await kcatReadCommitted(topic);
      expect(
        got.map((r) => r.value),
        compression,
      ).toEqual(lines.map((l) => l.toString('utf8')));
      await sink.stop();
    }
  });

  it('lands a 20,000-line batch completely, once and in order', async () => {
    const topic = await createTopic();
    const sink = sinkWith();
    await sink.start();
    const lines = numberedLines('line', 20_000);
    await sink.write(batchOf(topic, lines, 0));
    const got = await consumeAll(topic, lines.length);
    expect(got.length).toBe(lines.length);
    const ids = got.map((r) => idOf(r.value));
    expect(new Set(ids).size).toBe(lines.length);
    // A mismatch would print 20,000 ids; compare in one string instead.
    expect(ids.join('\n') === lines.map(idOf).join('\n')).toBe(true);
    await sink.stop();
  });

  it('writes streams concurrently with several requests in flight, each stream in order', async () => {
    const topic = await createTopic();
    const sink = sinkWith({ idempotent: false, maxInFlightRequests: 4, maxRecordsPerRequest: 700 });
    await sink.start();
    const streams = ['s0', 's1', 's2', 's3', 's4', 's5'];
    const perStream = 5000;
    await Promise.all(
      streams.map(async (stream) => {
        const lines = numberedLines(stream, perStream);
        // Two batches per stream, one after the other, as the collector writes a stream.
        for (const part of [lines.slice(0, 2000), lines.slice(2000)]) {
          await sink.write(
            batchOf(topic, part, 0, { agentId: stream, streamKey: `${stream}:1:1:f` }),
          );
        }
      }),
    );
    const got = await consumeAll(topic, streams.length * perStream);
    expect(got.length).toBe(streams.length * perStream);
    for (const stream of streams) {
      const mine = got.filter((r) => r.key === `${stream}:/var/log/it.log`);
      expect(new Set(mine.map((r) => r.partition)).size).toBe(1);
      const ids = mine.map((r) => idOf(r.value));
      expect(ids.join('\n') === numberedLines(stream, perStream).map(idOf).join('\n')).toBe(true);
    }
    await sink.stop();
  });

  it('rejects a line larger than the broker accepts permanently, then writes on', async () => {
    const topic = await createTopic(1);
    const sink = sinkWith();
    await sink.start();
    await sink.write(batchOf(topic, [Buffer.from('before')], 0));
    // Above the broker's default message.max.bytes (1 MiB): no retry can ever write it.
    const huge = batchOf(topic, [Buffer.alloc(2 * 1024 * 1024, 0x41)], 7);
    await expect(sink.write(huge)).rejects.toMatchObject({
      code: 'SINK_REJECTED',
      retriable: false,
    });
    // The idempotent producer is replaced after a failure; the stream goes on without a gap.
    await sink.write(batchOf(topic, [Buffer.from('after-1'), Buffer.from('after-2')], 7));
    const got = await consumeAll(topic, 3);
    expect(got.map((r) => r.value.toString())).toEqual(['before', 'after-1', 'after-2']);
    await sink.stop();
  });

  it('rejects retriably within a bounded time when no broker listens, and still stops', async () => {
    const sink = sinkWith({
      brokers: ['127.0.0.1:1'],
      retries: 1,
      retryInitialMs: 50,
      connectionTimeoutMs: 300,
      requestTimeoutMs: 1000,
    });
    await sink.start();
    const started = Date.now();
    let error: unknown;
    try {
      await sink.write(batchOf('unreachable', [Buffer.from('lost?')], 0));
    } catch (err) {
      error = err;
    }
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(RelayError);
    expect((error as RelayError).retriable).toBe(true);
    expect((error as RelayError).code).toBe('SINK_UNAVAILABLE');
    // A functional bound (the write must give up), far above the ~0.2 s it takes here.
    expect(elapsed).toBeLessThan(15_000);
    await sink.stop();
    expect(sink.state).toBe('stopped');
    const after = sink.write(batchOf('unreachable', [Buffer.from('x')], 0));
    await expect(after).rejects.toMatchObject({ code: 'SINK_NOT_RUNNING', retriable: true });
  });

  it('creates a missing topic with the configured partitions before the first write', async () => {
    const topic = uniqueName('it_created');
    topics.push(topic);
    const sink = sinkWith({ createTopics: { partitions: 4 } });
    await sink.start();
    await sink.write(batchOf(topic, [Buffer.from('c1'), Buffer.from('c2')], 0));
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]?.partitions).toHaveLength(4);
    const got = await consumeAll(topic, 2);
    expect(got.map((r) => r.value.toString())).toEqual(['c1', 'c2']);
    // An existing topic is left as it is.
    const existing = await createTopic(1);
    await sink.write(batchOf(existing, [Buffer.from('e1')], 0));
    const again = await admin.fetchTopicMetadata({ topics: [existing] });
    expect(again.topics[0]?.partitions).toHaveLength(1);
  });

  it('stops before start and twice, and can be started again', async () => {
    const topic = await createTopic(1);
    const sink = sinkWith();
    await sink.stop();
    await sink.stop();
    await sink.start();
    await Promise.all([sink.stop(), sink.stop()]);
    await sink.stop();
    await expect(sink.write(batchOf(topic, [Buffer.from('a')], 0))).rejects.toMatchObject({
      code: 'SINK_NOT_RUNNING',
    });
    await sink.start();
    await sink.write(batchOf(topic, [Buffer.from('again')], 0));
    await sink.stop();
    const got = await consumeAll(topic, 1);
    expect(got.map((r) => r.value.toString())).toEqual(['again']);
  });
});

function stringHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(',') : value.toString();
  }
  return out;
}
