import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebHdfsClient } from '../../src/collector/sinks/hdfs/webhdfs-client.js';
import type { Agent } from '../../src/agent/agent.js';
import type { Collector } from '../../src/collector/collector.js';
import { dropTable, hbaseRestUrl, scanTable } from '../helpers/hbase.js';
import { readClosedFiles } from '../helpers/hdfs-read.js';
import { countLines, exactlyOnce, startAgent, startCollector } from '../helpers/relay.js';
import { writeRotating } from '../helpers/rotating-writer.js';
import { endpoint, requireService, services } from '../helpers/services.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait-for.js';

// Issue 14, "Tests": one collector routes topics to Kafka, HDFS, MongoDB and HBase at once;
// each sink gets a topic of its own plus one topic routed to all four (a batch of it is
// acknowledged once every sink committed it). Files rotate by rename while they are written.
// Every line is unique; each sink's lines are counted exactly against what was written.
const linesPerFile = Number(process.env['FOUR_SINKS_LINES_PER_FILE'] ?? 20_000);
const SINKS = ['kafka', 'hdfs', 'mongodb', 'hbase'] as const;
type SinkName = (typeof SINKS)[number];

describe('one collector routing to Kafka, HDFS, MongoDB and HBase at once', () => {
  const run = uniqueName('four');
  // Topics of [a-z0-9_] only, so that they name collections and tables unchanged.
  const topicOf = (s: SinkName | 'all') => `${run}_${s}`;
  const hdfsRoot = `/${run}`;
  const database = run;
  const hdfs = new WebHdfsClient({
    namenodeUrl: `http://${endpoint('hdfs')}`,
    user: 'logrelay',
    requestTimeoutMs: 30_000,
  });
  const kafka = new Kafka({
    clientId: 'four-sinks-e2e',
    brokers: [endpoint('kafka')],
    logLevel: logLevel.NOTHING,
  });
  const mongo = new MongoClient(`mongodb://${endpoint('mongodb')}`);
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    for (const s of ['zookeeper', 'kafka', 'hdfs', 'mongodb', 'hbase'] as const) {
      await requireService(s);
    }
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [topicOf('kafka'), topicOf('all')].map((topic) => ({ topic, numPartitions: 2 })),
      waitForLeaders: true,
    });
    await admin.disconnect();
    await mongo.connect();
  });

  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    await hdfs.delete(hdfsRoot, true).catch(() => undefined);
    await mongo
      .db(database)
      .dropDatabase()
      .catch(() => undefined);
    await mongo.close();
    for (const topic of [topicOf('hbase'), topicOf('all')]) {
      await dropTable(topic).catch(() => undefined);
    }
  });

  it('stores every line of each routed topic exactly once in each of its sinks', async () => {
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const collector: Collector = await startCollector({
      id: 'c1',
      sinks: [
        {
          type: 'kafka',
          name: 'kafka',
          brokers: [endpoint('kafka')],
          clientId: run,
          exactlyOnce: {},
        },
        {
          type: 'hdfs',
          name: 'hdfs',
          namenodeUrl: `http://${services.hdfs.host}:${services.hdfs.port}`,
          pathTemplate: `${hdfsRoot}/{topic}/{collector}-{n}.log`,
          zookeeper: { connect: endpoint('zookeeper'), root: `/${run}` },
        },
        {
          type: 'mongodb',
          name: 'mongodb',
          url: `mongodb://${endpoint('mongodb')}`,
          database,
          collectionTemplate: '{topic}',
        },
        { type: 'hbase', name: 'hbase', url: hbaseRestUrl, tableTemplate: '{topic}' },
      ],
      routes: [
        ...SINKS.map((s) => ({ topics: [topicOf(s)], sinks: [s] })),
        { topics: [topicOf('all')], sinks: [...SINKS] },
      ],
    });
    stops.push(() => collector.stop());

    // One folder, agent and file pair per topic: the lines say which topic they belong to.
    const written = new Map<SinkName | 'all', string[]>();
    const agents: Agent[] = [];
    const writers: Promise<number>[] = [];
    for (const t of [...SINKS, 'all'] as const) {
      const logs = join(dir, t);
      await mkdir(logs);
      const lines: string[] = [];
      written.set(t, lines);
      const agent = await startAgent({
        id: `agent-${t}`,
        collectors: [collector.address],
        tails: [{ paths: [join(logs, '*.log'), join(logs, '*.log.[0-9]*')], topic: topicOf(t) }],
        checkpoint: { path: join(dir, `${t}.registry.json`), flushIntervalMs: 100 },
        lines: { partialFlushMs: 500 },
      });
      agents.push(agent);
      stops.push(() => agent.stop());
      writers.push(
        writeRotating(
          {
            dir: logs,
            files: [`${t}-a`, `${t}-b`],
            linesPerFile,
            rotateEvery: Math.ceil(linesPerFile / 3),
            style: 'rename',
            durationMs: 8000,
          },
          lines,
        ),
      );
    }
    await Promise.all(writers);
    const total = (t: SinkName | 'all') => written.get(t)?.length ?? 0;
    expect(total('all')).toBe(2 * linesPerFile);

    // Every agent had all its lines acknowledged: each of their sinks committed them.
    const acked = async (agent: Agent) =>
      (await agent.registry.getSingleMetric('logrelay_agent_lines_acked_total')?.get())?.values[0]
        ?.value ?? 0;
    const topics = [...SINKS, 'all'] as const;
    let ackedLines: number[] = [];
    await waitFor(
      async () => {
        ackedLines = await Promise.all(agents.map(acked));
        return topics.every((t, i) => (ackedLines[i] ?? 0) >= total(t));
      },
      { timeoutMs: 180_000, intervalMs: 500, what: 'every line acknowledged to the agents' },
    ).catch(() => console.log('lines acked per agent', ackedLines, topics.map(total)));
    for (const agent of agents) await agent.stop();
    // Stopping the collector closes the HDFS files (their final names).
    await collector.stop();

    const delivered = new Map<SinkName, Map<string, string[]>>();
    const own = (s: SinkName) => [topicOf(s), topicOf('all')];

    // Kafka, read_committed.
    const consumer = kafka.consumer({ groupId: uniqueName('g'), readUncommitted: false });
    await consumer.connect();
    stops.push(() => consumer.disconnect());
    const inKafka = new Map<string, string[]>(own('kafka').map((t) => [t, []]));
    await consumer.subscribe({ topics: own('kafka'), fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        inKafka.get(topic)?.push(message.value?.toString() ?? '');
      },
    });
    const kafkaExpected = total('kafka') + total('all');
    await waitFor(() => [...inKafka.values()].reduce((n, l) => n + l.length, 0) >= kafkaExpected, {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: `${kafkaExpected} records in Kafka`,
    }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1000));
    await consumer.disconnect();
    delivered.set('kafka', inKafka);

    // HDFS: the closed files of each topic's folder.
    const inHdfs = new Map<string, string[]>();
    for (const t of own('hdfs')) {
      inHdfs.set(t, (await readClosedFiles(hdfs, `${hdfsRoot}/${t}`)).lines);
    }
    delivered.set('hdfs', inHdfs);

    // MongoDB: one collection per topic.
    const inMongo = new Map<string, string[]>();
    for (const t of own('mongodb')) {
      const docs = await mongo
        .db(database)
        .collection(t)
        .find({}, { projection: { line: 1 } })
        .toArray();
      inMongo.set(
        t,
        docs.map((d) => String(d['line'])),
      );
    }
    delivered.set('mongodb', inMongo);

    // HBase: one table per topic, the d:line cell of each row.
    const inHbase = new Map<string, string[]>();
    for (const t of own('hbase')) {
      const rows = (await scanTable(t)) ?? new Map();
      inHbase.set(
        t,
        [...rows.values()].map((cells) => cells.get('d:line')?.toString('utf8') ?? ''),
      );
    }
    delivered.set('hbase', inHbase);

    const counts = Object.fromEntries(
      SINKS.map((s) => [
        s,
        {
          own: countLines(written.get(s) ?? [], delivered.get(s)?.get(topicOf(s)) ?? []),
          all: countLines(written.get('all') ?? [], delivered.get(s)?.get(topicOf('all')) ?? []),
        },
      ]),
    );
    console.log(JSON.stringify(counts));
    for (const s of SINKS) {
      expect({ sink: s, ...counts[s] }).toEqual({
        sink: s,
        own: exactlyOnce(total(s)),
        all: exactlyOnce(total('all')),
      });
    }
  });
});
