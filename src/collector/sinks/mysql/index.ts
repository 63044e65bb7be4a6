import type { SinkContext } from '../sink.js';
import type { MysqlSinkConfig } from './config.js';
import { MysqlSink } from './mysql-sink.js';

export {
  MYSQL_TABLE_MAX_LENGTH,
  MYSQL_TABLE_PATTERN,
  TOPIC_TOKEN,
  mysqlSinkConfigSchema,
} from './config.js';
export type { MysqlSinkConfig, MysqlSinkConfigInput } from './config.js';
export { MysqlSink, connectionOptions, toRelayError } from './mysql-sink.js';
export {
  checkedIdentifier,
  createTableSql,
  insertSql,
  quoteIdentifier,
  tableName,
} from './table.js';

/** Builds a MySQL sink from its validated config entry (see `mysqlSinkConfigSchema`). */
export function createMysqlSink(config: MysqlSinkConfig, ctx: SinkContext): MysqlSink {
  return new MysqlSink(config, ctx);
}
