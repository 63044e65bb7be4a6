export { findAliasBomb, maxAliasCount } from './alias-bomb.js';
export { ConfigError } from './config-error.js';
export type { ConfigIssue } from './config-error.js';
export {
  formatKeyPath,
  loadConfigFile,
  parseConfig,
  parseConfigText,
  readConfigText,
  validateConfig,
} from './load-config.js';
