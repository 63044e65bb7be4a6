import type { SinkContext } from '../sink.js';
import type { KafkaSinkConfig } from './config.js';
import { KafkaSink } from './kafka-sink.js';

export { KAFKA_TOPIC_MAX_LENGTH, KAFKA_TOPIC_PATTERN, kafkaSinkConfigSchema } from './config.js';
export type { KafkaSinkConfig, KafkaSinkConfigInput } from './config.js';
export { KafkaSink, createKafkajsProducer } from './kafka-sink.js';
export type { RecordProducerFactory } from './kafka-sink.js';
export { KafkajsProducer, pinoLogCreator, toRelayError } from './producer.js';
export type { KafkajsProducerOptions, RecordProducer } from './producer.js';
export {
  FIELD_HEADER_PREFIX,
  buildRecords,
  chunkRecords,
  estimateRecordBytes,
  kafkaTopic,
  recordKey,
} from './records.js';
export type { JsonRecordValue, KafkaRecord, RecordFormat } from './records.js';

/** Builds a Kafka sink from its validated config entry (see `kafkaSinkConfigSchema`). */
export function createKafkaSink(config: KafkaSinkConfig, ctx: SinkContext): KafkaSink {
  return new KafkaSink(config, ctx);
}
