export { fileSinkConfigSchema } from './config.js';
export type { FileSinkConfig } from './config.js';
export { FileSink } from './file-sink.js';
