export { etcdClientOptions, etcdConnectionFields } from './etcd-connection.js';
export type { EtcdConnection } from './etcd-connection.js';
