import { appendFile, mkdir, rename, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebHdfsClient } from '../../src/collector/sinks/hdfs/webhdfs-client.js';
import type { Agent } from '../../src/agent/agent.js';
import type { Collector } from '../../src/collector/collector.js';
import { countLines, startAgent, startCollector } from '../helpers/relay.js';
import { endpoint, requireService, services } from '../helpers/services.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait-for.js';

// Issue 3, "Done when" 1: 2 agents × 3 files × N unique lines, rename rotation every 20k lines
// and one copytruncate, through one collector to Kafka and HDFS.
const linesPerFile = Number(process.env['RELAY_LINES_PER_FILE'] ?? 100_000);
const rotateEvery = 20_000;

describe('relay to Kafka and HDFS with rotation and copytruncate', () => {
  const topic = uniqueName('relay');
  const hdfsRoot = `/${uniqueName('logrelay-e2e')}`;
  const hdfs = new WebHdfsClient({
    namenodeUrl: `http://${endpoint('hdfs')}`,
    user: 'logrelay',
    requestTimeoutMs: 30_000,
  });
  const kafka = new Kafka({
    clientId: 'relay-e2e',
    brokers: [endpoint('kafka')],
    logLevel: logLevel.NOTHING,
  });
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    await requireService('zookeeper');
    await requireService('kafka');
    await requireService('hdfs');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    await admin.disconnect();
  });

  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    await hdfs.delete(hdfsRoot, true).catch(() => undefined);
  });

  it('delivers every line exactly once to each sink, per-file order kept in Kafka', async () => {
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const collector: Collector = await startCollector({
      id: 'c1',
      sinks: [
        { type: 'kafka', name: 'kafka', brokers: [endpoint('kafka')] },
        {
          type: 'hdfs',
          name: 'hdfs',
          namenodeUrl: `http://${services.hdfs.host}:${services.hdfs.port}`,
          pathTemplate: `${hdfsRoot}/{topic}/{collector}-{n}.log`,
          zookeeper: { connect: endpoint('zookeeper'), root: `/${uniqueName('lr_rkh')}` },
        },
      ],
    });
    stops.push(() => collector.stop());

    const written: string[] = [];
    const agents: Agent[] = [];
    const files: string[] = [];
    for (const name of ['web-1', 'web-2']) {
      const logs = join(dir, name);
      await mkdir(logs);
      for (const f of ['app', 'access', 'error']) files.push(join(logs, `${f}.log`));
      const agent = await startAgent({
        id: name,
        collectors: [collector.address],
        tails: [{ paths: [join(logs, '*.log'), join(logs, '*.log.[0-9]*')], topic }],
        checkpoint: { path: join(dir, `${name}.registry.json`), flushIntervalMs: 100 },
        lines: { partialFlushMs: 500 },
      });
      agents.push(agent);
      stops.push(() => agent.stop());
    }

    // Writers: bursts of 1000 lines; rename rotation every 20k; one copytruncate on one file.
    const started = Date.now();
    const copyTruncated = files[1] as string;
    await Promise.all(
      files.map(async (file) => {
        let generation = 0;
        for (let i = 0; i < linesPerFile; i += 1000) {
          const chunk = Array.from(
            { length: Math.min(1000, linesPerFile - i) },
            (_, j) => `${file}#${String(i + j).padStart(7, '0')}`,
          );
          await appendFile(file, `${chunk.join('\n')}\n`);
          written.push(...chunk);
          if ((i + 1000) % rotateEvery === 0 && i + 1000 < linesPerFile) {
            if (file === copyTruncated && generation === 1) {
              // copytruncate: wait until the agent has read what is there, then truncate in place.
              // copytruncate loses what the agent had not read yet; here the agent has shipped
              // the file to its end first, so nothing may be lost (the race is measured apart).
              // The stream of this very file (device + inode in its key; the rotated-away
              // predecessor has the same name).
              const st = await stat(file);
              const id = `:${st.dev}:${st.ino}:`;
              await waitFor(
                () =>
                  agents.some((a) =>
                    a.streams.some((s) => s.key.includes(id) && s.acked >= st.size),
                  ),
                {
                  timeoutMs: 120_000,
                  what: `${file} acked to ${st.size} before the truncate`,
                },
              );
              await truncate(file, 0);
            } else {
              await rename(file, `${file}.${generation}`);
            }
            generation++;
          }
          await new Promise((r) => setTimeout(r, 5));
        }
      }),
    );

    // Kafka: read everything back with read_committed.
    const consumer = kafka.consumer({
      groupId: uniqueName('g'),
      readUncommitted: false,
      maxBytes: 16 * 1024 * 1024,
    });
    await consumer.connect();
    stops.push(() => consumer.disconnect());
    const inKafka: string[] = [];
    const orderViolations: string[] = [];
    const lastByFile = new Map<string, number>();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const line = m.value?.toString() ?? '';
          inKafka.push(line);
          const [file = '', seq = ''] = line.split('#');
          const n = Number(seq);
          const last = lastByFile.get(file) ?? -1;
          if (n <= last && orderViolations.length < 10)
            orderViolations.push(`${line} after #${last}`);
          lastByFile.set(file, Math.max(last, n));
        }
      },
    });
    await waitFor(() => inKafka.length >= written.length, {
      timeoutMs: 240_000,
      intervalMs: 500,
      what: `${written.length} records in Kafka`,
    }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 2000));

    // Stop the agents and the collector: HDFS files are closed (renamed to their final names).
    for (const agent of agents) await agent.stop();
    await collector.stop();
    const inHdfs: string[] = [];
    for (const status of (await hdfs.listStatus(`${hdfsRoot}/${topic}`)) ?? []) {
      const data = await hdfs.read(`${hdfsRoot}/${topic}/${status.pathSuffix}`);
      for (const line of (data?.toString() ?? '').split('\n').slice(0, -1)) inHdfs.push(line);
    }

    const kafkaCounts = countLines(written, inKafka);
    const hdfsCounts = countLines(written, inHdfs);
    let lostToTruncation = 0;
    for (const agent of agents) {
      const metric = await agent.registry
        .getSingleMetric('logrelay_agent_truncation_lost_bytes_total')
        ?.get();
      lostToTruncation += metric?.values[0]?.value ?? 0;
    }
    const missingByFile = new Map<string, number>();
    const inKafkaSet = new Set(inKafka);
    for (const line of written) {
      if (!inKafkaSet.has(line)) {
        const file = line.split('#')[0] ?? '';
        missingByFile.set(file, (missingByFile.get(file) ?? 0) + 1);
      }
    }
    if (missingByFile.size > 0)
      console.log('missing in Kafka by file', Object.fromEntries(missingByFile));
    if (orderViolations.length > 0) console.log('order violations', orderViolations);
    console.log(
      JSON.stringify({
        seconds: (Date.now() - started) / 1000,
        kafka: kafkaCounts,
        hdfs: hdfsCounts,
        orderViolations: orderViolations.length,
        lostToTruncation,
      }),
    );
    expect(kafkaCounts).toEqual({
      written: 6 * linesPerFile,
      delivered: 6 * linesPerFile,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
    expect(orderViolations).toEqual([]);
    expect(hdfsCounts).toEqual({
      written: 6 * linesPerFile,
      delivered: 6 * linesPerFile,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
  });
});
