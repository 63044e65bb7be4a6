import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { cachingDefaultPartitioner } from '../../../../../src/collector/sinks/kafka/partitioner.js';

function metadata(n: number) {
  return Array.from({ length: n }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    partitionErrorCode: 0,
    replicas: [1],
    isr: [1],
  }));
}

describe('caching default partitioner', () => {
  it('answers as the default partitioner while keys, topics and partition counts change', () => {
    const cached = cachingDefaultPartitioner();
    const reference = Partitioners.DefaultPartitioner();
    const calls: { topic: string; n: number; key: string | Buffer; partition?: number }[] = [
      ...Array.from({ length: 20 }, () => ({ topic: 'a', n: 6, key: 'agent-1:/var/log/app.log' })),
      { topic: 'a', n: 6, key: 'agent-2:/var/log/app.log' },
      { topic: 'a', n: 12, key: 'agent-2:/var/log/app.log' },
      { topic: 'b', n: 12, key: 'agent-2:/var/log/app.log' },
      { topic: 'b', n: 12, key: Buffer.from('agent-2:/var/log/app.log') },
      { topic: 'b', n: 12, key: 'agent-2:/var/log/app.log', partition: 5 },
      { topic: 'b', n: 12, key: 'agent-3:/x' },
    ];
    const seen = new Set<number>();
    for (const { topic, n, key, partition } of calls) {
      const args = {
        topic,
        partitionMetadata: metadata(n),
        message: { key, value: 'v', partition },
      };
      const answer = cached(args);
      seen.add(answer);
      expect(answer).toBe(reference(args));
    }
    expect(seen.size).toBeGreaterThan(2);
  });
});
