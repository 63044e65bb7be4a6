/**
 * kafkajs as the sink loads it: with logrelay's Produce encoder (see produce-encoder.ts) and a
 * linear `groupMessagesPerPartition`. Import kafkajs's values from here, never from 'kafkajs'.
 *
 * kafkajs groups a send's records by partition with `[...current, message]` for each record:
 * quadratic in the records per request. In a profile of 1,000-record requests it was a quarter
 * of the CPU, and a third of the garbage collection besides; it is why larger requests made the
 * relay slower. Its module is captured by kafkajs's `sendMessages` when that loads, so the
 * replacement goes into Node's module cache before kafkajs is first required. When something
 * else loaded kafkajs first (a test importing it directly), the original stays: the same
 * result, only slower — `hotPathPatches` says which.
 */
import { createRequire } from 'node:module';
import type * as Kafkajs from 'kafkajs';
import { installProduceEncoder } from './produce-encoder.js';

type Message = Kafkajs.Message;
type Partitioner = (args: Kafkajs.PartitionerArgs) => number;

/** kafkajs's groupMessagesPerPartition, linear: the same object, records in their order. */
export function groupMessagesPerPartition({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: {
  topic: string;
  partitionMetadata: Kafkajs.PartitionMetadata[];
  messages: Message[];
  partitioner: Partitioner;
}): Record<number, Message[]> {
  const result: Record<number, Message[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

const require = createRequire(import.meta.url);
const groupModule = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
const linearGrouping = !(require.resolve('kafkajs/src/producer/sendMessages.js') in require.cache);
if (linearGrouping) {
  require(groupModule);
  const cached = require.cache[groupModule];
  if (cached) cached.exports = groupMessagesPerPartition;
}
const kafkajs = require('kafkajs') as typeof Kafkajs;
installProduceEncoder();

/** Which of the hot-path replacements this process runs with. */
export const hotPathPatches = { produceEncoder: true, linearGrouping } as const;

export const Kafka = kafkajs.Kafka;
export type Kafka = Kafkajs.Kafka;
export const Partitioners = kafkajs.Partitioners;
export const logLevel = kafkajs.logLevel;
export type logLevel = Kafkajs.logLevel;
