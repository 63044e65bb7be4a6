import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayError } from '../../src/common/errors/relay-error.js';
import { validateConfig } from '../../src/common/config/load-config.js';
import {
  createRedisSink,
  redisSinkConfigSchema,
  type RedisSink,
  type RedisSinkConfigInput,
} from '../../src/collector/sinks/redis/index.js';
import { uniqueName } from '../helpers/unique.js';
import { sinkBatch } from '../helpers/batches.js';

const REDIS_PORT = Number(process.env.LOGRELAY_REDIS_PORT ?? 6379);
const REDIS_URL = `redis://127.0.0.1:${REDIS_PORT}`;

/** A line that is not valid UTF-8, with a NUL and a CR in it. */
const BINARY = Buffer.from([0x00, 0xff, 0xfe, 0x41, 0x0d, 0xc3, 0x28]);

const batch = sinkBatch;

/** XRANGE with binary values, as an object of fields per entry. */
async function streamEntries(redis: Redis, key: string): Promise<Record<string, Buffer>[]> {
  const entries = await redis.xrangeBuffer(key, '-', '+');
  return entries.map(([, fields]) => {
    const out: Record<string, Buffer> = {};
    for (let i = 0; i < fields.length; i += 2) {
      out[(fields[i] as Buffer).toString()] = fields[i + 1] as Buffer;
    }
    return out;
  });
}

async function counterValue(registry: Registry, name: string, labels: Record<string, string>) {
  const metric = registry.getSingleMetric(name);
  if (!metric) return undefined;
  const { values } = await metric.get();
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

describe('Redis sink (real server)', () => {
  const prefix = uniqueName('it_redis');
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  const closers: (() => Promise<void>)[] = [];
  let n = 0;

  beforeAll(async () => {
    try {
      await redis.connect();
      expect(await redis.ping()).toBe('PONG');
    } catch (err) {
      throw new Error(
        `Redis is not reachable on ${REDIS_URL} (${String(err)}): run \`npm run services:up\``,
      );
    }
  });

  afterAll(async () => {
    for (const close of closers.splice(0)) await close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  /** A started sink with its own key namespace; returns the key of topic `app`. */
  const sinkWith = async (config: Partial<RedisSinkConfigInput> = {}) => {
    const registry = new Registry();
    const name = `r${n++}`;
    const sink: RedisSink = createRedisSink(
      validateConfig(redisSinkConfigSchema, {
        type: 'redis',
        name,
        url: REDIS_URL,
        keyTemplate: `${prefix}:${name}:{topic}`,
        ...config,
      }),
      { log: pino({ level: 'silent' }), registry, collectorId: 'it' },
    );
    closers.push(() => sink.stop());
    await sink.start();
    return { sink, registry, name, key: `${prefix}:${name}:app` };
  };

  it('stores a batch retransmitted 3 times exactly once, byte for byte', async () => {
    const { sink, registry, name, key } = await sinkWith();
    const first = batch(['hello', BINARY, 'émoji ✓']);
    await sink.write(first);
    for (let i = 0; i < 3; i++) await sink.write(batch(['hello', BINARY, 'émoji ✓']));

    expect(await redis.xlen(key)).toBe(3);
    const entries = await streamEntries(redis, key);
    expect(entries.map((e) => e.line)).toEqual([
      Buffer.from('hello'),
      BINARY,
      Buffer.from('émoji ✓'),
    ]);
    expect(entries[1]).toEqual({
      line: BINARY,
      agent: Buffer.from('agent-1'),
      host: Buffer.from('web-1'),
      path: Buffer.from('/var/log/app.log'),
      offset: Buffer.from('6'),
      time: Buffer.from('2026-01-02T03:04:05.678Z'),
    });
    expect(await redis.hget(`${key}:marks`, first.streamKey)).toBe(String(first.endOffset));
    expect(await counterValue(registry, 'logrelay_redis_sink_lines_total', { sink: name })).toBe(3);
    expect(
      await counterValue(registry, 'logrelay_redis_sink_duplicate_lines_total', { sink: name }),
    ).toBe(9);
  });

  it('stores concurrent retransmissions of a batch once (the script is atomic)', async () => {
    const { sink, key } = await sinkWith();
    const lines = Array.from({ length: 200 }, (_, i) => `line ${i}`);
    await Promise.all([1, 2, 3, 4].map(() => sink.write(batch(lines))));
    expect(await redis.xlen(key)).toBe(200);
    const entries = await streamEntries(redis, key);
    expect(entries.map((e) => e.line.toString())).toEqual(lines);
  });

  it('writes only the new lines of an overlapping batch, per stream', async () => {
    const { sink, key } = await sinkWith();
    await sink.write(batch(['a', 'b', 'c']));
    // Lines b and c again (offsets 2 and 4), then d and e.
    await sink.write(batch(['b', 'c', 'd', 'e'], 2));
    // Another stream of the same topic has its own mark.
    await sink.write(batch(['other'], 0, { streamKey: 'agent-2:1:7:beef', agentId: 'agent-2' }));
    const entries = await streamEntries(redis, key);
    expect(entries.map((e) => `${e.agent?.toString()}@${e.offset?.toString()}:${e.line}`)).toEqual([
      'agent-1@0:a',
      'agent-1@2:b',
      'agent-1@4:c',
      'agent-1@6:d',
      'agent-1@8:e',
      'agent-2@0:other',
    ]);
  });

  it('adds the batch’s fields to stream entries (fields.<key>) and JSON list elements, once', async () => {
    const fields = { service: 'checkout', 'k8s.pod': 'checkout-7d9f' };
    const stream = await sinkWith();
    for (let i = 0; i < 3; i++) await stream.sink.write({ ...batch(['s1', 's2'], 0), fields });
    await stream.sink.write(batch(['s3'], 6));
    const entries = await streamEntries(redis, stream.key);
    expect(entries.map((e) => e.line?.toString())).toEqual(['s1', 's2', 's3']);
    expect(entries[1]).toEqual({
      line: Buffer.from('s2'),
      agent: Buffer.from('agent-1'),
      host: Buffer.from('web-1'),
      path: Buffer.from('/var/log/app.log'),
      offset: Buffer.from('3'),
      time: Buffer.from('2026-01-02T03:04:05.678Z'),
      'fields.service': Buffer.from('checkout'),
      'fields.k8s.pod': Buffer.from('checkout-7d9f'),
    });
    expect(Object.keys(entries[2] ?? {})).toEqual([
      'line',
      'agent',
      'host',
      'path',
      'offset',
      'time',
    ]);

    const list = await sinkWith({ mode: 'list', maxLen: 100 });
    for (let i = 0; i < 2; i++) await list.sink.write({ ...batch(['l1'], 0), fields });
    const elements = (await redis.lrange(list.key, 0, -1)).map(
      (e) => JSON.parse(e) as Record<string, unknown>,
    );
    expect(elements.map((e) => [e['line'], e['fields']])).toEqual([['l1', fields]]);
  });

  it('trims the stream approximately with maxLen', async () => {
    const { sink, key } = await sinkWith({ maxLen: 10 });
    await sink.write(batch(Array.from({ length: 1000 }, (_, i) => `l${i}`)));
    const length = await redis.xlen(key);
    expect(length).toBeGreaterThanOrEqual(10);
    expect(length).toBeLessThan(1000);
  });

  it('list mode, json: one element per line with the metadata, once', async () => {
    const { sink, key } = await sinkWith({ mode: 'list' });
    for (let i = 0; i < 4; i++) await sink.write(batch(['first', BINARY]));
    expect(await redis.llen(key)).toBe(2);
    const elements = (await redis.lrange(key, 0, -1)).map((e) => JSON.parse(e) as unknown);
    expect(elements).toEqual([
      {
        agent: 'agent-1',
        host: 'web-1',
        path: '/var/log/app.log',
        offset: 0,
        time: '2026-01-02T03:04:05.678Z',
        line: 'first',
      },
      {
        agent: 'agent-1',
        host: 'web-1',
        path: '/var/log/app.log',
        offset: 6,
        time: '2026-01-02T03:04:05.678Z',
        line: BINARY.toString('utf8'),
      },
    ]);
  });

  it('list mode, raw: the exact bytes, once', async () => {
    const { sink, key } = await sinkWith({ mode: 'list', format: 'raw' });
    for (let i = 0; i < 4; i++) await sink.write(batch(['first', BINARY, '']));
    await sink.write(batch(['', 'last'], 14));
    expect(await redis.llen(key)).toBe(4);
    expect(await redis.lrangeBuffer(key, 0, -1)).toEqual([
      Buffer.from('first'),
      BINARY,
      Buffer.alloc(0),
      Buffer.from('last'),
    ]);
  });

  it('rejects a key of another type, non-retriable, writing nothing', async () => {
    const { sink, registry, name, key } = await sinkWith();
    await redis.set(key, 'not a stream');
    const error = await sink.write(batch(['x'])).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RelayError);
    expect(error).toMatchObject({ code: 'SINK_REJECTED', retriable: false });
    expect((error as Error).message).toMatch(/WRONGTYPE/);
    expect(await redis.get(key)).toBe('not a stream');
    expect(await redis.exists(`${key}:marks`)).toBe(0);
    expect(
      await counterValue(registry, 'logrelay_redis_sink_errors_total', {
        sink: name,
        code: 'SINK_REJECTED',
      }),
    ).toBe(1);
  });

  it('sends the script again when the server lost it', async () => {
    const { sink, key } = await sinkWith();
    await sink.write(batch(['a']));
    await redis.script('FLUSH');
    await sink.write(batch(['a', 'b']));
    expect((await streamEntries(redis, key)).map((e) => e.line.toString())).toEqual(['a', 'b']);
  });

  it('fails retriable, in bounded time, when Redis is unreachable', async () => {
    const { sink, registry, name } = await sinkWith({
      url: 'redis://127.0.0.1:1',
      connectTimeoutMs: 500,
      commandTimeoutMs: 1000,
    });
    const started = Date.now();
    const error = await sink.write(batch(['x'])).catch((err: unknown) => err);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(error).toBeInstanceOf(RelayError);
    expect(error).toMatchObject({ code: 'SINK_UNAVAILABLE', retriable: true });
    expect(
      await counterValue(registry, 'logrelay_redis_sink_errors_total', {
        sink: name,
        code: 'SINK_UNAVAILABLE',
      }),
    ).toBe(1);
    const stopping = Date.now();
    await sink.stop();
    expect(Date.now() - stopping).toBeLessThan(3000);
  });

  it('stops before start and twice, waits for in-flight writes, then refuses writes', async () => {
    const idle = createRedisSink(
      validateConfig(redisSinkConfigSchema, { type: 'redis', name: 'idle', url: REDIS_URL }),
      { log: pino({ level: 'silent' }), registry: new Registry(), collectorId: 'it' },
    );
    await idle.stop();
    await idle.stop();
    expect(idle.state).toBe('new');

    const { sink, key } = await sinkWith();
    const lines = Array.from({ length: 5000 }, (_, i) => `in flight ${i}`);
    const write = sink.write(batch(lines));
    await Promise.all([sink.stop(), sink.stop()]);
    await write;
    expect(sink.state).toBe('stopped');
    expect(await redis.xlen(key)).toBe(5000);
    await sink.stop();
    await expect(sink.write(batch(['late'], 1_000_000))).rejects.toMatchObject({
      code: 'SINK_NOT_RUNNING',
      retriable: true,
    });
  });
});
