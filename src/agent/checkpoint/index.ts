export {
  checkpointConfigSchema,
  DEFAULT_CLEAN_INACTIVE_AFTER_MS,
  DEFAULT_CLEAN_REMOVED_AFTER_MS,
  DEFAULT_FLUSH_INTERVAL_MS,
} from './config.js';
export type { CheckpointConfig, CheckpointConfigInput } from './config.js';
export { CHECKPOINT_FORMAT_VERSION, CheckpointRegistry, checkpointErrorCodes } from './registry.js';
export type {
  CheckpointEntry,
  CheckpointFiles,
  CheckpointFs,
  CheckpointLoadReport,
  CheckpointLoadSource,
  CheckpointRegistryOptions,
  CheckpointStats,
  CheckpointUpdate,
} from './registry.js';
