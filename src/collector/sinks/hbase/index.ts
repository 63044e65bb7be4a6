import type { SinkContext } from '../sink.js';
import type { HbaseSinkConfig } from './config.js';
import { HbaseSink } from './hbase-sink.js';

export {
  DEFAULT_MAX_CELL_BYTES,
  HBASE_FAMILY_PATTERN,
  HBASE_NAMESPACE_PATTERN,
  HBASE_TABLE_CHARS,
  HBASE_TABLE_MAX_LENGTH,
  TOPIC_TOKEN,
  hbaseSinkConfigSchema,
} from './config.js';
export type { HbaseSinkConfig, HbaseSinkConfigInput } from './config.js';
export { HbaseSink, toRelayError } from './hbase-sink.js';
export { HbaseHttpError, HbaseRestClient, HbaseTimeoutError } from './rest-client.js';
export { buildRows, chunkRows, putBody, rowKeyConfig, schemaBody, tableName } from './records.js';
export type { HbaseRow } from './records.js';
export {
  MAX_ROW_KEY_BYTES,
  OFFSET_DIGITS,
  SALT_BLOCK_BYTES,
  paddedOffset,
  rowKey,
  rowKeyBuilder,
  saltBucket,
  saltSplitKeys,
  streamHash,
} from './row-key.js';
export type { RowKeyConfig } from './row-key.js';

/** Builds an HBase sink from its validated config entry (see `hbaseSinkConfigSchema`). */
export function createHbaseSink(config: HbaseSinkConfig, ctx: SinkContext): HbaseSink {
  return new HbaseSink(config, ctx);
}
