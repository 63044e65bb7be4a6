export { formatCreateTime, NodeStore, Store, TailStore } from './store.js';
export type { AdminNode, AdminTail, NewNode, NewTail, StoreOptions } from './store.js';
export { parseMysqlUrl } from './mysql-url.js';
export type { MysqlTarget } from './mysql-url.js';
export {
  AdminInputError,
  columnLimits,
  defaultKeyPath,
  globProblem,
  validateId,
  validateIp,
  validateKeyPath,
  validateLogPath,
  validateServerName,
  validateStatus,
  validateTopic,
} from './validate.js';
export type { TailStatus } from './validate.js';
