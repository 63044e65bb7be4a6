export { hdfsSinkConfigSchema } from './config.js';
export type { HdfsSinkConfig } from './config.js';
export { HdfsSink, createWebHdfsClient, reconcileAppend } from './hdfs-sink.js';
export type { AppendDecision, RecoveryReport, WebHdfsClientFactory } from './hdfs-sink.js';
export {
  finalPathOf,
  hdfsFilePaths,
  inProgressPattern,
  matchSegment,
  partitionKey,
  periodEnd,
} from './file-layout.js';
export type { DateParts, HdfsFilePaths, InProgressNaming, TemplateSegment } from './file-layout.js';
export { HdfsCommitStore, ledgerPaths } from './exactly-once/commit-store.js';
export { recoverDeadWriters } from './exactly-once/recovery.js';
export { WebHdfsClient, responseError } from './webhdfs-client.js';
export type { HdfsFileStatus, WebHdfsApi, WebHdfsClientOptions } from './webhdfs-client.js';
