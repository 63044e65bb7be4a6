export { hdfsSinkConfigSchema } from './config.js';
export type { HdfsSinkConfig } from './config.js';
export {
  HdfsSink,
  createWebHdfsClient,
  hdfsFilePaths,
  inProgressPattern,
  matchSegment,
  partitionKey,
  periodEnd,
  reconcileAppend,
} from './hdfs-sink.js';
export type {
  AppendDecision,
  DateParts,
  HdfsFilePaths,
  RecoveryReport,
  TemplateSegment,
  WebHdfsClientFactory,
} from './hdfs-sink.js';
export { WebHdfsClient, responseError } from './webhdfs-client.js';
export type { HdfsFileStatus, WebHdfsApi, WebHdfsClientOptions } from './webhdfs-client.js';
