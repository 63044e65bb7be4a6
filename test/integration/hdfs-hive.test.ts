/**
 * The HDFS sink with `hive`, against the real HDFS, ZooKeeper and Hive Metastore: a table per
 * topic is created, each hour folder becomes a partition as soon as its first file is closed
 * (before the sink stops), and the partitions' locations hold exactly the lines sent.
 */
import { gunzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/common/config/load-config.js';
import { createLogger } from '../../src/common/logging/logger.js';
import { hdfsSinkConfigSchema } from '../../src/collector/sinks/hdfs/config.js';
import { HdfsSink } from '../../src/collector/sinks/hdfs/hdfs-sink.js';
import { HiveCatalog } from '../../src/collector/sinks/hdfs/hive/hive-catalog.js';
import { WebHdfsClient } from '../../src/collector/sinks/hdfs/webhdfs-client.js';
import type { SinkBatch } from '../../src/collector/sinks/sink.js';
import { endpoint, requireService, services } from '../helpers/services.js';
import { uniqueName } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait-for.js';

const log = createLogger(process.env['LOGRELAY_LOG_LEVEL'] ? {} : { level: 'silent' });
const root = `/${uniqueName('logrelay-hive').replaceAll('_', '-')}`;
const table = uniqueName('lr_it').toLowerCase();
const filesystem = `hdfs://${services.hdfs.host}:${services.hdfs.rpcPort}`;
const hdfs = new WebHdfsClient({
  namenodeUrl: `http://${endpoint('hdfs')}`,
  user: 'logrelay',
  requestTimeoutMs: 30_000,
});

function batch(topic: string, from: number, count: number): SinkBatch {
  const lines: Buffer[] = [];
  const offsets: number[] = [];
  let offset = from * 100;
  for (let i = from; i < from + count; i++) {
    lines.push(Buffer.from(`${topic}-${String(i).padStart(5, '0')}`));
    offsets.push(offset);
    offset += 100;
  }
  return {
    streamKey: `agent-hive:${topic}`,
    agentId: 'agent-hive',
    host: 'host-hive',
    path: `/var/log/${topic}.log`,
    topic,
    lines,
    offsets,
    endOffset: offset,
    readTimeMs: Date.now(),
  };
}

describe('HDFS sink registering Hive partitions (real metastore)', () => {
  beforeAll(async () => {
    await requireService('zookeeper');
    await requireService('hdfs');
    await requireService('hive');
  });
  afterAll(async () => {
    await hdfs.delete(root, true).catch(() => undefined);
    hdfs.close();
  });

  it('creates a table per topic and adds each partition when its first file closes', async () => {
    const config = validateConfig(hdfsSinkConfigSchema, {
      type: 'hdfs',
      name: 'hdfs-hive',
      namenodeUrl: `http://${endpoint('hdfs')}`,
      pathTemplate: `${root}/{topic}/dt={yyyy-MM-dd}/hour={HH}/{collector}-{n}.log`,
      compression: 'gzip',
      flushIntervalMs: 20,
      maxFileAgeMs: 1500,
      zookeeper: { connect: endpoint('zookeeper'), root: `/${uniqueName('lr_hive_it')}` },
      hive: {
        metastoreUri: `thrift://${endpoint('hive')}`,
        table: `${table}_{topic}`,
        filesystem,
      },
    });
    // Not across an hour boundary: every file of a topic lands in one partition.
    const toNextHour = 3_600_000 - (Date.now() % 3_600_000);
    if (toNextHour < 15_000) await new Promise((r) => setTimeout(r, toNextHour + 100));
    const registry = new Registry();
    const sink = new HdfsSink(config, { log, registry, collectorId: 'c-hive' });
    const topics = ['web', 'db'];
    const sent = new Map<string, string[]>();
    await sink.start();
    try {
      for (const topic of topics) {
        const lines: string[] = [];
        for (let b = 0; b < 5; b++) {
          const one = batch(topic, b * 200, 200);
          await sink.write(one);
          lines.push(...one.lines.map((l) => l.toString()));
        }
        sent.set(topic, lines);
      }
      // Closed by age while the sink runs: the partitions appear without a stop.
      for (const topic of topics) {
        const catalog = new HiveCatalog(
          {
            metastoreUri: `thrift://${endpoint('hive')}`,
            database: 'default',
            table: `${table}_${topic}`,
            requestTimeoutMs: 30_000,
            createTable: false,
          },
          log,
        );
        await catalog.start();
        try {
          await waitFor(async () => (await catalog.partitions().catch(() => [])).length === 1, {
            timeoutMs: 30_000,
            what: `the partition of ${topic}`,
          });
          const [partition] = await catalog.partitions();
          const now = new Date();
          expect(partition?.values).toEqual([
            now.toISOString().slice(0, 10),
            String(now.getUTCHours()).padStart(2, '0'),
          ]);
          const location = partition?.location ?? '';
          expect(location.startsWith(`${filesystem}${root}/${topic}/dt=`)).toBe(true);
          const folder = location.slice(filesystem.length);
          const read: string[] = [];
          for (const s of (await hdfs.listStatus(folder)) ?? []) {
            if (/^[._]/.test(s.pathSuffix)) continue;
            expect(s.pathSuffix).toMatch(/\.log\.gz$/);
            const content = gunzipSync(
              (await hdfs.read(`${folder}/${s.pathSuffix}`)) ?? Buffer.alloc(0),
            );
            read.push(...content.toString().split('\n').slice(0, -1));
          }
          expect(read.sort()).toEqual([...(sent.get(topic) ?? [])].sort());
          const described = await catalog.describeTable();
          expect(described?.tableType).toBe('EXTERNAL_TABLE');
        } finally {
          await catalog.stop();
        }
      }
    } finally {
      await sink.stop();
    }
    const added = (
      await registry.getSingleMetric('logrelay_hdfs_sink_hive_partitions_total')?.get()
    )?.values
      .filter((v) => v.labels['result'] === 'added')
      .reduce((n, v) => n + v.value, 0);
    expect(added).toBe(2);
  }, 120_000);
});
