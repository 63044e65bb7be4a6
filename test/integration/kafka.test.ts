import { Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpoint, requireService } from '../helpers/services.js';
import { uniqueName } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait-for.js';

describe('Kafka (real broker)', () => {
  const kafka = new Kafka({
    clientId: 'logrelay-it',
    brokers: [endpoint('kafka')],
    logLevel: logLevel.NOTHING,
    retry: { retries: 3 },
  });
  const closers: (() => Promise<void>)[] = [];
  let admin: Admin;

  const createTopic = async () => {
    const topic = uniqueName('it');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    return topic;
  };

  const producer = async (options: Parameters<Kafka['producer']>[0] = {}): Promise<Producer> => {
    const p = kafka.producer(options);
    await p.connect();
    closers.push(() => p.disconnect());
    return p;
  };

  /** Reads the topic from the beginning until `expected` values arrived, returning all values seen. */
  const consumeAll = async (topic: string, expected: number, readUncommitted = false) => {
    const consumer: Consumer = kafka.consumer({ groupId: uniqueName('g'), readUncommitted });
    await consumer.connect();
    closers.push(() => consumer.disconnect());
    const values: string[] = [];
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value?.toString() ?? '');
      },
    });
    await waitFor(() => values.length >= expected, {
      timeoutMs: 60_000,
      what: `${expected} records`,
    });
    return values;
  };

  beforeAll(async () => {
    await requireService('kafka');
    admin = kafka.admin();
    await admin.connect();
    closers.push(() => admin.disconnect());
  });

  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  });

  it('produces with acks=all and consumes every record back in order', async () => {
    const topic = await createTopic();
    const p = await producer();
    const sent = Array.from({ length: 1000 }, (_, i) => `line-${i}`);
    for (let i = 0; i < sent.length; i += 250) {
      await p.send({
        topic,
        acks: -1,
        messages: sent.slice(i, i + 250).map((value) => ({ key: 'agent-1:/var/log/a.log', value })),
      });
    }
    const got = await consumeAll(topic, sent.length);
    expect(got).toEqual(sent);
  });

  it('shows committed transactions to read_committed consumers and hides aborted ones', async () => {
    const topic = await createTopic();
    const p = await producer({
      transactionalId: uniqueName('tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    });

    const committed = await p.transaction();
    await committed.send({ topic, messages: [{ value: 'c1' }, { value: 'c2' }] });
    await committed.commit();

    const aborted = await p.transaction();
    await aborted.send({ topic, messages: [{ value: 'a1' }, { value: 'a2' }] });
    await aborted.abort();

    const after = await p.transaction();
    await after.send({ topic, messages: [{ value: 'c3' }] });
    await after.commit();

    const readCommitted = await consumeAll(topic, 3);
    expect(readCommitted).toEqual(['c1', 'c2', 'c3']);

    // The aborted records are in the log: a read_uncommitted consumer sees them.
    const readUncommitted = await consumeAll(topic, 5, true);
    expect(readUncommitted).toEqual(['c1', 'c2', 'a1', 'a2', 'c3']);
  });
});
