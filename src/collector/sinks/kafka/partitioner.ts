import type { ICustomPartitioner } from 'kafkajs';
import { Partitioners } from './kafkajs.js';

/**
 * Java's murmur2 partitioner (a key lands where other clients put it), remembering its last
 * answer. kafkajs calls the partitioner once per record, and its default filters the partition
 * list and hashes the key every time: a fifth of the collector's CPU, for a key that is the same
 * for every record of a batch (`<agent>:<path>`). The answer is reused while the topic, the key
 * and the partition count stay the same.
 */
export const cachingDefaultPartitioner: ICustomPartitioner = () => {
  const partition = Partitioners.DefaultPartitioner();
  let lastTopic: string | undefined;
  let lastKey: unknown;
  let lastCount = -1;
  let lastPartition = 0;
  return (args) => {
    const { topic, partitionMetadata, message } = args;
    const key = message.key;
    if ((message.partition !== undefined && message.partition !== null) || key == null) {
      return partition(args);
    }
    if (key === lastKey && topic === lastTopic && partitionMetadata.length === lastCount) {
      return lastPartition;
    }
    lastPartition = partition(args);
    lastTopic = topic;
    lastKey = key;
    lastCount = partitionMetadata.length;
    return lastPartition;
  };
};
