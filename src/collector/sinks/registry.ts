import { z } from 'zod';
import { fileSinkConfigSchema } from './file/config.js';
import { FileSink } from './file/file-sink.js';
import { hbaseSinkConfigSchema } from './hbase/config.js';
import { createHbaseSink } from './hbase/index.js';
import { hdfsSinkConfigSchema } from './hdfs/config.js';
import { HdfsSink } from './hdfs/hdfs-sink.js';
import { kafkaSinkConfigSchema } from './kafka/config.js';
import { createKafkaSink } from './kafka/index.js';
import { mongodbSinkConfigSchema } from './mongodb/config.js';
import { createMongodbSink } from './mongodb/index.js';
import { mysqlSinkConfigSchema } from './mysql/config.js';
import { MysqlSink } from './mysql/mysql-sink.js';
import { NullSink, nullSinkConfigSchema } from './null/null-sink.js';
import { redisSinkConfigSchema } from './redis/config.js';
import { createRedisSink } from './redis/index.js';
import type { Sink, SinkContext } from './sink.js';

/**
 * Every sink type the collector knows, by its `type` key. A new destination is a folder under
 * sinks/ with a config schema and a class, plus one line here.
 */
export const sinkConfigSchema = z.discriminatedUnion('type', [
  fileSinkConfigSchema,
  hbaseSinkConfigSchema,
  hdfsSinkConfigSchema,
  kafkaSinkConfigSchema,
  mongodbSinkConfigSchema,
  mysqlSinkConfigSchema,
  nullSinkConfigSchema,
  redisSinkConfigSchema,
]);

export type SinkConfig = z.output<typeof sinkConfigSchema>;

/**
 * What a sink promises about duplicates, as `logrelay status` and the dashboard show it:
 * `exactly-once` when a retransmitted batch is stored once across collectors (Kafka with
 * `exactlyOnce`, HDFS by its ledger in ZooKeeper, Redis and MySQL by their stored marks, MongoDB
 * and HBase by `_id`s / row keys derived from stream and offset), `at-least-once` when a batch
 * can repeat across a failed write or a collector crash.
 */
export function sinkGuarantee(config: SinkConfig): 'exactly-once' | 'at-least-once' | 'none' {
  switch (config.type) {
    case 'kafka':
      return config.exactlyOnce ? 'exactly-once' : 'at-least-once';
    case 'hdfs':
      return config.exactlyOnce ? 'exactly-once' : 'at-least-once';
    case 'redis':
    case 'mysql':
    case 'mongodb':
    case 'hbase':
      return 'exactly-once';
    case 'file':
      return 'at-least-once';
    case 'null':
      return 'none';
  }
}

export function createSink(config: SinkConfig, ctx: SinkContext): Sink {
  switch (config.type) {
    case 'file':
      return new FileSink(config, ctx);
    case 'hbase':
      return createHbaseSink(config, ctx);
    case 'hdfs':
      return new HdfsSink(config, ctx);
    case 'kafka':
      return createKafkaSink(config, ctx);
    case 'mongodb':
      return createMongodbSink(config, ctx);
    case 'mysql':
      return new MysqlSink(config, ctx);
    case 'redis':
      return createRedisSink(config, ctx);
    case 'null':
      return new NullSink(config, ctx);
  }
}
