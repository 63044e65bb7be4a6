import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RelayError } from '../../../../../src/common/errors/relay-error.js';
import { validateConfig } from '../../../../../src/common/config/load-config.js';
import {
  kafkaSinkConfigSchema,
  type KafkaSinkConfigInput,
} from '../../../../../src/collector/sinks/kafka/config.js';
import { KafkaSink } from '../../../../../src/collector/sinks/kafka/kafka-sink.js';
import type { RecordProducer } from '../../../../../src/collector/sinks/kafka/producer.js';
import type { KafkaRecord } from '../../../../../src/collector/sinks/kafka/records.js';
import type { SinkBatch, SinkContext } from '../../../../../src/collector/sinks/sink.js';

/** Records what the sink asks of its client; `gate` holds sends until released. */
class FakeProducer implements RecordProducer {
  readonly sent: { topic: string; records: readonly KafkaRecord[] }[] = [];
  readonly calls: string[] = [];
  failWith: unknown;
  failConnect = false;
  gate: Promise<void> | undefined;

  async connect(): Promise<void> {
    this.calls.push('connect');
    if (this.failConnect) throw new RelayError('SINK_UNAVAILABLE', 'down', { retriable: true });
  }

  async send(topic: string, records: readonly KafkaRecord[]): Promise<void> {
    this.calls.push('send');
    if (this.gate) await this.gate;
    if (this.failWith !== undefined) throw this.failWith;
    this.sent.push({ topic, records });
  }

  async disconnect(): Promise<void> {
    this.calls.push('disconnect');
  }
}

function setup(config: Partial<KafkaSinkConfigInput> = {}, registry = new Registry()) {
  const fake = new FakeProducer();
  const ctx: SinkContext = {
    log: pino({ level: 'silent' }),
    registry,
    collectorId: 'c1',
  };
  const sinkConfig = validateConfig(kafkaSinkConfigSchema, {
    type: 'kafka',
    name: 'k1',
    ...config,
  });
  const sink = new KafkaSink(sinkConfig, ctx, () => fake);
  return { sink, fake, registry };
}

const batch: SinkBatch = {
  streamKey: 'a1:1:2:f',
  agentId: 'a1',
  host: 'h1',
  path: '/var/log/x.log',
  topic: 'app',
  lines: [Buffer.from('hello'), Buffer.from('wörld')],
  offsets: [0, 6],
  endOffset: 13,
  readTimeMs: 0,
};

async function metric(registry: Registry, name: string, labels: Record<string, string>) {
  const found = (await registry.getSingleMetric(name)?.get())?.values.find((v) =>
    Object.entries(labels).every(([k, val]) => v.labels[k] === val),
  );
  return found?.value;
}

async function rejection(promise: Promise<unknown>): Promise<RelayError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(RelayError);
    return err as RelayError;
  }
  throw new Error('expected a rejection');
}

describe('KafkaSink', () => {
  it('rejects writes before start and after stop as retriable SINK_NOT_RUNNING', async () => {
    const { sink, registry } = setup();
    const before = await rejection(sink.write(batch));
    expect(before.code).toBe('SINK_NOT_RUNNING');
    expect(before.retriable).toBe(true);
    await sink.start();
    await sink.stop();
    const after = await rejection(sink.write(batch));
    expect(after.code).toBe('SINK_NOT_RUNNING');
    expect(await metric(registry, 'logrelay_sink_errors_total', { code: 'SINK_NOT_RUNNING' })).toBe(
      2,
    );
  });

  it('stops before start and twice without touching the client', async () => {
    const { sink, fake } = setup();
    await sink.stop();
    await sink.stop();
    await sink.start();
    await Promise.all([sink.stop(), sink.stop()]);
    await sink.stop();
    expect(fake.calls).toEqual(['connect', 'disconnect']);
  });

  it('starts although Kafka cannot be reached (an outage, not a configuration error)', async () => {
    const { sink, fake } = setup();
    fake.failConnect = true;
    await sink.start();
    expect(sink.running).toBe(true);
    await sink.stop();
  });

  it('sends one record per line to prefix + topic and counts what was committed', async () => {
    const { sink, fake, registry } = setup({ topicPrefix: 'logs.' });
    await sink.start();
    await sink.write(batch);
    await sink.write({ ...batch, lines: [], offsets: [] });
    expect(fake.sent).toHaveLength(1);
    expect(fake.sent[0]?.topic).toBe('logs.app');
    expect(fake.sent[0]?.records.map((r) => [r.key, r.value.toString()])).toEqual([
      ['a1:/var/log/x.log', 'hello'],
      ['a1:/var/log/x.log', 'wörld'],
    ]);
    expect(await metric(registry, 'logrelay_sink_records_total', { sink: 'k1' })).toBe(2);
    expect(await metric(registry, 'logrelay_sink_bytes_total', { sink: 'k1' })).toBe(11);
    expect(await registry.getSingleMetricAsString('logrelay_sink_write_seconds')).toContain(
      'logrelay_sink_write_seconds_count{sink="k1"} 1',
    );
    await sink.stop();
  });

  it('passes RelayErrors through, wraps anything else, and counts errors by code', async () => {
    const { sink, fake, registry } = setup();
    await sink.start();
    fake.failWith = new RelayError('SINK_UNAVAILABLE', 'broker down', { retriable: true });
    const unavailable = await rejection(sink.write(batch));
    expect(unavailable.code).toBe('SINK_UNAVAILABLE');
    expect(unavailable.retriable).toBe(true);
    fake.failWith = new TypeError('bug');
    const internal = await rejection(sink.write(batch));
    expect(internal.code).toBe('SINK_INTERNAL');
    expect(internal.retriable).toBe(false);
    const illegal = await rejection(sink.write({ ...batch, topic: 'no spaces' }));
    expect(illegal.code).toBe('SINK_REJECTED');
    expect(await metric(registry, 'logrelay_sink_errors_total', { code: 'SINK_UNAVAILABLE' })).toBe(
      1,
    );
    expect(await metric(registry, 'logrelay_sink_errors_total', { code: 'SINK_INTERNAL' })).toBe(1);
    expect(await metric(registry, 'logrelay_sink_errors_total', { code: 'SINK_REJECTED' })).toBe(1);
    expect(await metric(registry, 'logrelay_sink_records_total', { sink: 'k1' })).toBe(0);
    await sink.stop();
  });

  it('stop waits for writes in flight, then disconnects; new writes are refused meanwhile', async () => {
    const { sink, fake } = setup();
    await sink.start();
    let open!: () => void;
    fake.gate = new Promise<void>((resolve) => (open = resolve));
    const write = sink.write(batch);
    let stopped = false;
    const stop = sink.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stopped).toBe(false);
    expect(fake.calls).not.toContain('disconnect');
    expect((await rejection(sink.write(batch))).code).toBe('SINK_NOT_RUNNING');
    open();
    await write;
    await stop;
    expect(fake.sent).toHaveLength(1);
    expect(fake.calls.at(-1)).toBe('disconnect');
  });

  it('shares the metrics of one registry between sinks, told apart by the sink label', async () => {
    const registry = new Registry();
    const a = setup({ name: 'a' }, registry);
    const b = setup({ name: 'b' }, registry);
    await Promise.all([a.sink.start(), b.sink.start()]);
    await a.sink.write(batch);
    await b.sink.write(batch);
    await b.sink.write(batch);
    expect(await metric(registry, 'logrelay_sink_records_total', { sink: 'a' })).toBe(2);
    expect(await metric(registry, 'logrelay_sink_records_total', { sink: 'b' })).toBe(4);
    await Promise.all([a.sink.stop(), b.sink.stop()]);
  });
});
