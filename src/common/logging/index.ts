export { childLogger, createLogger, logConfigSchema, logLevels } from './logger.js';
export type { LogConfig, Logger } from './logger.js';
