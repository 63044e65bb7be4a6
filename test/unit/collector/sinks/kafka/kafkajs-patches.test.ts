// The sink's kafkajs module must be this file's first import: the linear grouping only takes
// effect when it loads kafkajs before anything else does.
import {
  groupMessagesPerPartition,
  hotPathPatches,
} from '../../../../../src/collector/sinks/kafka/kafkajs.js';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

describe('kafkajs hot-path patches', () => {
  it('groups records per partition as kafkajs does, in order, and is what kafkajs now uses', () => {
    const partitionMetadata = [0, 1, 2].map((partitionId) => ({
      partitionId,
      leader: 1,
      partitionErrorCode: 0,
      replicas: [1],
      isr: [1],
    }));
    const messages = Array.from({ length: 50 }, (_, i) => ({
      key: `k${i % 7}`,
      value: Buffer.from(`v${i}`),
    }));
    const partitioner = ({ message }: { message: { key?: unknown } }) =>
      Number(String(message.key).slice(1)) % 3;
    const args = { topic: 't', partitionMetadata, messages, partitioner };
    // kafkajs's own version, read from its file rather than the (replaced) cached module.
    const source = require('node:fs').readFileSync(
      require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js'),
      'utf8',
    ) as string;
    const original = new Function('module', `${source}; return module.exports;`)({}) as (
      a: typeof args,
    ) => unknown;
    expect(groupMessagesPerPartition(args)).toEqual(original(args));
    expect(groupMessagesPerPartition({ ...args, partitionMetadata: [] })).toEqual({});
    expect(hotPathPatches).toEqual({ produceEncoder: true, linearGrouping: true });
    expect(require('kafkajs/src/producer/groupMessagesPerPartition.js')).toBe(
      groupMessagesPerPartition,
    );
  });
});
