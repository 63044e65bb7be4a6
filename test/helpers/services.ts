import { connect } from 'node:net';

/**
 * Where the test bed's services listen: the same defaults and environment variables as
 * scripts/services/lib.sh.
 */
const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

export const services = {
  zookeeper: { host: '127.0.0.1', port: env('LOGRELAY_ZK_PORT', 2181) },
  etcd: { host: '127.0.0.1', port: env('LOGRELAY_ETCD_PORT', 2379) },
  mysql: { host: '127.0.0.1', port: env('LOGRELAY_MYSQL_PORT', 3306), user: 'root', password: '' },
  redis: { host: '127.0.0.1', port: env('LOGRELAY_REDIS_PORT', 6379) },
  kafka: { host: '127.0.0.1', port: env('LOGRELAY_KAFKA_PORT', 9092) },
  /** `port`: the NameNode's HTTP port (WebHDFS); `rpcPort`: its RPC port (hdfs:// URIs). */
  hdfs: {
    host: '127.0.0.1',
    port: env('LOGRELAY_HDFS_HTTP_PORT', 9870),
    rpcPort: env('LOGRELAY_HDFS_RPC_PORT', 8020),
  },
  /** The Hive Metastore's Thrift port. */
  hive: { host: '127.0.0.1', port: env('LOGRELAY_HIVE_METASTORE_PORT', 9083) },
  /** A MongoDB wire-protocol server (see scripts/services/mongodb.sh for which). */
  mongodb: { host: '127.0.0.1', port: env('LOGRELAY_MONGODB_PORT', 27017) },
  /** HBase's REST gateway (Stargate). */
  hbase: { host: '127.0.0.1', port: env('LOGRELAY_HBASE_REST_PORT', 8090) },
} as const;

export type ServiceName = keyof typeof services;

export const endpoint = (name: ServiceName): string =>
  `${services[name].host}:${services[name].port}`;

/**
 * Fails (never skips) with a message that says how to start the service when it does not accept
 * TCP connections. Call it in `beforeAll` of every integration test file.
 */
export async function requireService(name: ServiceName, timeoutMs = 3000): Promise<void> {
  const { host, port } = services[name];
  const reachable = await new Promise<boolean>((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
  if (!reachable) {
    throw new Error(
      `${name} is not reachable at ${host}:${port}; start the test bed with \`npm run services:up\``,
    );
  }
}
