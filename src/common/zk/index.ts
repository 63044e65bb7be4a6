export { CreateMode, ZkError, ZkSession } from './zk-session.js';
export type { ZkEvent, ZkOp, ZkSessionOptions, ZkStat } from './zk-session.js';
export { zookeeperConfigSchema } from './zk-config.js';
export type { ZookeeperConfig } from './zk-config.js';
export { openZkSession } from './open-session.js';
