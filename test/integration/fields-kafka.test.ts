import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel, type IHeaders } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonRecordValue } from '../../src/collector/sinks/kafka/index.js';
import { createTestTopic, deleteTestTopics } from '../helpers/kafka.js';
import { countLines, exactlyOnce, startAgent, startCollector } from '../helpers/relay.js';
import { endpoint, requireService } from '../helpers/services.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

// Issue 15 item 3: a tail's static `fields` end to end — agent → gRPC → collector → Kafka with
// `format: json` and `headers: true`. Every line is unique and counted exactly; every record
// carries its tail's fields in the envelope and as `fields.<key>` headers, and a tail without
// fields gives the envelope and headers exactly as before.

interface Received {
  key: string;
  value: JsonRecordValue;
  headers: Record<string, string>;
}

const SERVICE_FIELDS = { service: 'checkout', env: 'prod', 'team.owner': 'payments' };

describe('tail fields through a real agent, collector and Kafka', () => {
  const kafka = new Kafka({
    clientId: 'logrelay-it-fields',
    brokers: [endpoint('kafka')],
    logLevel: logLevel.NOTHING,
    retry: { retries: 3 },
  });
  const topics: string[] = [];
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    await requireService('kafka');
  });

  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    await deleteTestTopics(kafka, topics);
  });

  /** Every record of `topic`, read until `expected` arrived, then 1 s more for duplicates. */
  async function readTopic(topic: string, expected: number): Promise<Received[]> {
    const consumer = kafka.consumer({ groupId: uniqueName('g'), readUncommitted: false });
    await consumer.connect();
    const out: Received[] = [];
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          out.push({
            key: message.key?.toString() ?? '',
            value: JSON.parse(message.value?.toString() ?? 'null') as JsonRecordValue,
            headers: stringHeaders(message.headers),
          });
        },
      });
      await waitFor(() => out.length >= expected, {
        timeoutMs: 60_000,
        what: `${expected} records on ${topic}`,
      });
      await sleep(1000);
    } finally {
      await consumer.disconnect();
    }
    return out;
  }

  it('delivers each of 3,000 lines once, with the fields in the JSON envelope and the headers', async () => {
    const withFields = await createTestTopic(kafka, 'it_fields', 2);
    const without = await createTestTopic(kafka, 'it_nofields', 1);
    topics.push(withFields, without);
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const svcLogs = join(dir, 'svc');
    const plainLogs = join(dir, 'plain');
    await mkdir(svcLogs);
    await mkdir(plainLogs);

    const collector = await startCollector({
      id: 'c1',
      sinks: [
        {
          type: 'kafka',
          name: 'kafka',
          brokers: [endpoint('kafka')],
          format: 'json',
          headers: true,
        },
      ],
    });
    stops.push(() => collector.stop());
    const agent = await startAgent({
      id: 'fields-agent',
      host: 'web-7',
      collectors: [collector.address],
      tails: [
        { paths: [join(svcLogs, '*.log')], topic: withFields, fields: SERVICE_FIELDS },
        { paths: [join(plainLogs, '*.log')], topic: without },
      ],
      checkpoint: { path: join(dir, 'registry.json'), flushIntervalMs: 50 },
    });
    stops.push(() => agent.stop());

    // Two files in the tail with fields (one set for both), one in the tail without.
    const written = { svc: [] as string[], plain: [] as string[] };
    const files = [join(svcLogs, 'orders.log'), join(svcLogs, 'payments.log')];
    for (let round = 0; round < 10; round++) {
      for (const [f, file] of files.entries()) {
        const lines = Array.from(
          { length: 125 },
          (_, i) => `svc f${f} r${round} n${i} GET /cart/${round * 1000 + i} 200`,
        );
        written.svc.push(...lines);
        await appendFile(file, lines.map((l) => `${l}\n`).join(''));
      }
      const plain = Array.from({ length: 50 }, (_, i) => `plain r${round} n${i} healthcheck ok`);
      written.plain.push(...plain);
      await appendFile(join(plainLogs, 'health.log'), plain.map((l) => `${l}\n`).join(''));
      await sleep(20);
    }
    expect(written.svc).toHaveLength(2500);
    expect(written.plain).toHaveLength(500);

    const svc = await readTopic(withFields, 2500);
    expect(
      countLines(
        written.svc,
        svc.map((r) => r.value.line),
      ),
    ).toEqual(exactlyOnce(2500));
    // Every record: the envelope with the fields last, and a header per field after the four.
    const envelopeKeys = ['agent', 'host', 'path', 'offset', 'time', 'line', 'fields'];
    const fieldHeaders = {
      'fields.service': 'checkout',
      'fields.env': 'prod',
      'fields.team.owner': 'payments',
    };
    const badRecords = svc.filter(
      (r) =>
        JSON.stringify(Object.keys(r.value)) !== JSON.stringify(envelopeKeys) ||
        JSON.stringify(r.value.fields) !== JSON.stringify(SERVICE_FIELDS) ||
        r.value.agent !== 'fields-agent' ||
        r.value.host !== 'web-7' ||
        JSON.stringify(r.headers) !==
          JSON.stringify({
            host: 'web-7',
            path: r.value.path,
            offset: String(r.value.offset),
            agent: 'fields-agent',
            ...fieldHeaders,
          }),
    );
    expect(badRecords).toEqual([]);
    expect(new Set(svc.map((r) => r.value.path))).toEqual(new Set(files));
    expect(svc.filter((r) => r.key === `fields-agent:${files[0]}`)).toHaveLength(1250);

    const plain = await readTopic(without, 500);
    expect(
      countLines(
        written.plain,
        plain.map((r) => r.value.line),
      ),
    ).toEqual(exactlyOnce(500));
    // No fields: the envelope and the headers exactly as before fields existed.
    const changed = plain.filter(
      (r) =>
        JSON.stringify(Object.keys(r.value)) !== JSON.stringify(envelopeKeys.slice(0, 6)) ||
        JSON.stringify(Object.keys(r.headers)) !==
          JSON.stringify(['host', 'path', 'offset', 'agent']),
    );
    expect(changed).toEqual([]);
  });
});

function stringHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(',') : value.toString();
  }
  return out;
}
