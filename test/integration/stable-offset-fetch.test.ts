/**
 * The takeover's mark read against the real broker: OffsetFetch v7 with require_stable through
 * kafkajs's connections waits while a transaction's offsets are pending, and then returns what
 * the transaction committed (offset and metadata) — never the value from before it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StableOffsetFetcher } from '../../src/collector/sinks/kafka/stable-offset-fetch.js';
import { createTestTopic, deleteTestTopics, testKafka } from '../helpers/kafka.js';
import { requireService } from '../helpers/services.js';
import { uniqueName } from '../helpers/unique.js';
import { sleep } from '../helpers/wait-for.js';

describe('StableOffsetFetcher (real broker)', () => {
  const kafka = testKafka('stable-fetch-it');
  const topics: string[] = [];
  let fetcher: StableOffsetFetcher;
  /** A connected transactional producer with a transactional id of its own. */
  const txnProducer = async () => {
    const producer = kafka.producer({
      transactionalId: uniqueName('stable_txn'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    return producer;
  };

  beforeAll(async () => {
    await requireService('kafka');
    topics.push(await createTestTopic(kafka, 'stable_fetch', 3));
    fetcher = new StableOffsetFetcher(kafka);
  });
  afterAll(async () => {
    await fetcher.disconnect();
    await deleteTestTopics(kafka, topics);
  });

  it('answers -1 for a group without offsets, and waits for a pending transactional commit', async () => {
    const topic = topics[0]!;
    const group = uniqueName('stable_group');
    expect(await fetcher.fetch(group, topic, [0, 1, 2], 5000)).toEqual([
      { partition: 0, offset: -1, metadata: '' },
      { partition: 1, offset: -1, metadata: '' },
      { partition: 2, offset: -1, metadata: '' },
    ]);

    const producer = await txnProducer();
    try {
      // A committed value first, then a second transaction left open for a while.
      const commitOffsets = async (offset: string, metadata: string) => {
        const txn = await producer.transaction();
        // kafkajs does not retry AddOffsetsToTxn while the previous commit completes.
        for (let attempt = 0; ; attempt++) {
          try {
            await txn.sendOffsets({
              consumerGroupId: group,
              topics: [
                {
                  topic,
                  partitions: [
                    { partition: 1, offset, metadata } as { partition: number; offset: string },
                  ],
                },
              ],
            });
            return { txn };
          } catch (err) {
            if ((err as { type?: string }).type !== 'CONCURRENT_TRANSACTIONS' || attempt > 50)
              throw err;
            await sleep(20);
          }
        }
      };
      const first = await commitOffsets('10', 'm1;a=a');
      await first.txn.commit();

      const second = await commitOffsets('20', 'm1;a=k');
      let answeredAt = 0;
      const read = fetcher.fetch(group, topic, [1], 10_000).then((offsets) => {
        answeredAt = Date.now();
        return offsets;
      });
      await sleep(800);
      expect(answeredAt, 'no answer while the commit is pending').toBe(0);
      const committedAt = Date.now();
      await second.txn.commit();
      expect(await read).toEqual([{ partition: 1, offset: 20, metadata: 'm1;a=k' }]);
      expect(answeredAt).toBeGreaterThanOrEqual(committedAt);

      // An aborted transaction leaves the committed value.
      const third = await commitOffsets('30', 'm1;a=u');
      await third.txn.abort();
      expect(await fetcher.fetch(group, topic, [1], 10_000)).toEqual([
        { partition: 1, offset: 20, metadata: 'm1;a=k' },
      ]);
    } finally {
      await producer.disconnect();
    }
  });

  it('gives up retriably, naming the pending state, when a transaction stays open past the timeout', async () => {
    const topic = topics[0]!;
    const group = uniqueName('stable_group');
    const producer = await txnProducer();
    try {
      const txn = await producer.transaction();
      await txn.sendOffsets({
        consumerGroupId: group,
        topics: [{ topic, partitions: [{ partition: 0, offset: '5' }] }],
      });
      await expect(fetcher.fetch(group, topic, [0], 1000)).rejects.toMatchObject({
        code: 'SINK_UNAVAILABLE',
        retriable: true,
        message: expect.stringContaining('UNSTABLE_OFFSET_COMMIT'),
      });
      await txn.abort();
    } finally {
      await producer.disconnect();
    }
  });
});
