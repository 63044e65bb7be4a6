export { DEFAULT_METASTORE_PORT, hiveConfigSchema, parseMetastoreUri } from './config.js';
export type { HiveConfig, MetastoreAddress } from './config.js';
export { HiveCatalog } from './hive-catalog.js';
export type { CatalogPartition, TableSpec } from './hive-catalog.js';
export { MetastoreClient, metastoreExceptionError } from './metastore-client.js';
export type { HiveErrorCode, MetastoreClientOptions } from './metastore-client.js';
export {
  PARTITION_KEYS,
  checkLocation,
  checkPartitionValues,
  externalTable,
  hasLogrelayPartitionKeys,
  partitionName,
  tablePartition,
  textStorage,
} from './table-definition.js';
export type {
  HiveCompression,
  HiveDatabase,
  HivePartition,
  HiveTable,
  PartitionValues,
  StorageDescriptor,
} from './table-definition.js';
