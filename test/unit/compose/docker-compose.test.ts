import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// No Docker engine runs where the tests run, so the compose file is checked here for what can
// drift: its structure and its consistency with the test bed's scripts (ports, versions).
const root = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

interface ComposeService {
  image?: string;
  ports?: string[];
  healthcheck?: { test: string[] };
  environment?: Record<string, string>;
  restart?: string;
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, ComposeService>;
};

/** The default of `LOGRELAY_<NAME>_PORT` in scripts/services/lib.sh. */
function scriptPort(name: string): number {
  const match = new RegExp(`LOGRELAY_${name}="\\$\\{LOGRELAY_${name}:-(\\d+)\\}"`).exec(
    read('scripts/services/lib.sh'),
  );
  if (!match) throw new Error(`no default for LOGRELAY_${name} in lib.sh`);
  return Number(match[1]);
}

function published(service: string): number[] {
  return (compose.services[service]?.ports ?? []).map((p) => Number(p.split(':')[0]));
}

describe('docker-compose.yml', () => {
  it('defines every service of the test bed, each with an image and a healthcheck', () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining([
        'datanode',
        'etcd',
        'hive-metastore',
        'hbase',
        'kafka',
        'mongodb',
        'mysql',
        'namenode',
        'redis',
        'zookeeper',
      ]),
    );
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.image, `${name}.image`).toMatch(/^[\w./-]+:[\w.-]+$/);
      // A one-shot (restart: 'no', admin-migrate) has no healthcheck: what follows it waits for
      // service_completed_successfully (test/unit/compose-configs.test.ts checks that).
      if (service.restart !== 'no') {
        expect(service.healthcheck?.test.length, `${name}.healthcheck`).toBeGreaterThan(0);
      }
    }
  });

  it('publishes the same ports as scripts/services', () => {
    expect(published('zookeeper')).toEqual([scriptPort('ZK_PORT')]);
    expect(published('etcd')).toEqual([scriptPort('ETCD_PORT')]);
    expect(published('mysql')).toEqual([scriptPort('MYSQL_PORT')]);
    expect(published('kafka')).toEqual([scriptPort('KAFKA_PORT')]);
    expect(published('redis')).toEqual([scriptPort('REDIS_PORT')]);
    expect(published('namenode')).toEqual([
      scriptPort('HDFS_HTTP_PORT'),
      scriptPort('HDFS_RPC_PORT'),
    ]);
    expect(published('datanode')).toContain(scriptPort('HDFS_DN_HTTP_PORT'));
    expect(published('hive-metastore')).toEqual([scriptPort('HIVE_METASTORE_PORT')]);
    expect(published('mongodb')).toEqual([scriptPort('MONGODB_PORT')]);
    expect(published('hbase')).toEqual([scriptPort('HBASE_REST_PORT')]);
  });

  it('runs the Kafka release the scripts resolve from Maven, with transactions on one broker', () => {
    const version = /<kafka\.version>([^<]+)</.exec(read('scripts/services/kafka/pom.xml'))?.[1];
    const kafka = compose.services['kafka'];
    expect(kafka?.image).toBe(`apache/kafka:${version}`);
    expect(kafka?.environment?.['KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR']).toBe('1');
    expect(kafka?.environment?.['KAFKA_TRANSACTION_STATE_LOG_MIN_ISR']).toBe('1');
    expect(kafka?.environment?.['KAFKA_PROCESS_ROLES']).toBe('broker,controller');
  });

  it('runs the Hadoop release the scripts resolve from Maven', () => {
    const version = /<hadoop\.version>([^<]+)</.exec(read('scripts/services/hdfs/pom.xml'))?.[1];
    expect(compose.services['namenode']?.image).toBe(`apache/hadoop:${version}`);
    expect(compose.services['datanode']?.image).toBe(`apache/hadoop:${version}`);
  });

  it('runs the Hive Metastore release the scripts resolve from Maven', () => {
    const version = /<hive\.version>([^<]+)</.exec(read('scripts/services/hive/pom.xml'))?.[1];
    expect(compose.services['hive-metastore']?.image).toBe(`apache/hive:${version}`);
  });

  it('gives ZooKeeper the same minimum session timeout as the scripts (2 s failover tests)', () => {
    expect(read('scripts/services/zookeeper.sh')).toContain('minSessionTimeout=2000');
    expect(compose.services['zookeeper']?.environment?.['ZOO_CFG_EXTRA']).toContain(
      'minSessionTimeout=2000',
    );
  });

  it('sets up HDFS with one replica, WebHDFS on and appends allowed on a single DataNode', () => {
    const env = compose.services['namenode']?.environment ?? {};
    expect(env['HDFS-SITE.XML_dfs.replication']).toBe('1');
    expect(env['HDFS-SITE.XML_dfs.webhdfs.enabled']).toBe('true');
    expect(env['HDFS-SITE.XML_dfs.client.block.write.replace-datanode-on-failure.enable']).toBe(
      'false',
    );
    expect(compose.services['datanode']?.environment).toEqual(env);
  });
});
