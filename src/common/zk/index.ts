export { CreateMode, ZkError, ZkSession } from './zk-session.js';
export type { ZkEvent, ZkSessionOptions, ZkStat } from './zk-session.js';
