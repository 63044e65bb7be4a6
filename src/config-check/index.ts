export { checkConfigFile } from './check-config.js';
export type { ConfigCheckOptions, ConfigCheckResult } from './check-config.js';
export { detectConfigKind } from './detect-kind.js';
export type { ConfigKind } from './detect-kind.js';
export { agentFileIssues, collectorFileIssues } from './referenced-files.js';
export { collectorWarnings, defaultAgentBatch } from './warnings.js';
export type { ConfigWarning } from './warnings.js';
