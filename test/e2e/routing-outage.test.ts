import { appendFile, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebHdfsClient } from '../../src/collector/sinks/hdfs/webhdfs-client.js';
import { countLines, startAgent, startCollector } from '../helpers/relay.js';
import { endpoint, requireService, services } from '../helpers/services.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

// Issue 6, "Done when" 2: with the HDFS sink down, topics routed only to Kafka keep flowing;
// topics routed to both wait and then arrive exactly once in each.
describe('routing while one sink is down', () => {
  const onlyKafka = uniqueName('ronly');
  const both = uniqueName('rboth');
  const hdfsRoot = `/${uniqueName('logrelay-route')}`;
  const hdfs = new WebHdfsClient({
    namenodeUrl: `http://${endpoint('hdfs')}`,
    user: 'logrelay',
    requestTimeoutMs: 30_000,
  });
  const kafka = new Kafka({
    clientId: 'route-e2e',
    brokers: [endpoint('kafka')],
    logLevel: logLevel.NOTHING,
  });
  const proxy = new TcpProxy(services.hdfs);
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    await requireService('zookeeper');
    await requireService('kafka');
    await requireService('hdfs');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: onlyKafka }, { topic: both }],
      waitForLeaders: true,
    });
    await admin.disconnect();
  });

  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    await proxy.down();
    await hdfs.delete(hdfsRoot, true).catch(() => undefined);
  });

  it('keeps Kafka-only topics flowing and delivers the held-back ones once HDFS is back', async () => {
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    await proxy.up();
    const collector = await startCollector({
      id: 'router',
      retryAfterMs: 300,
      sinks: [
        { type: 'kafka', name: 'kafka', brokers: [endpoint('kafka')] },
        // The collector reaches the NameNode through the proxy: taking the proxy down is an
        // HDFS outage for this collector only.
        {
          type: 'hdfs',
          name: 'hdfs',
          namenodeUrl: `http://127.0.0.1:${proxy.port}`,
          pathTemplate: `${hdfsRoot}/{topic}/{collector}-{n}.log`,
          maxAttempts: 2,
          zookeeper: { connect: endpoint('zookeeper'), root: `/${uniqueName('lr_route')}` },
        },
      ],
      routes: [
        { topics: [onlyKafka], sinks: ['kafka'] },
        { topics: [both], sinks: ['kafka', 'hdfs'] },
      ],
    });
    stops.push(() => collector.stop());
    const logs = join(dir, 'logs');
    await mkdir(logs);
    const agent = await startAgent({
      id: 'route-agent',
      collectors: [collector.address],
      tails: [
        { paths: [join(logs, 'k.log')], topic: onlyKafka },
        { paths: [join(logs, 'b.log')], topic: both },
      ],
      checkpoint: { path: join(dir, 'registry.json'), flushIntervalMs: 50 },
      ship: { retryInitialMs: 100, retryMaxMs: 1000 },
    });
    stops.push(() => agent.stop());

    const written = { k: [] as string[], b: [] as string[] };
    const write = async (f: 'k' | 'b', from: number, n: number) => {
      const lines = Array.from({ length: n }, (_, i) => `${f}#${from + i}`);
      written[f].push(...lines);
      await appendFile(join(logs, `${f}.log`), lines.map((l) => `${l}\n`).join(''));
    };

    const consumer = kafka.consumer({ groupId: uniqueName('g') });
    await consumer.connect();
    stops.push(() => consumer.disconnect());
    const inKafka = { k: [] as string[], b: [] as string[] };
    await consumer.subscribe({ topics: [onlyKafka, both], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        (topic === onlyKafka ? inKafka.k : inKafka.b).push(message.value?.toString() ?? '');
      },
    });

    await write('k', 0, 1000);
    await write('b', 0, 1000);
    await waitFor(() => inKafka.k.length >= 1000 && inKafka.b.length >= 1000, {
      timeoutMs: 60_000,
      what: 'first lines in Kafka',
    });

    // HDFS down: the Kafka-only topic keeps flowing; the topic routed to both is held back.
    await proxy.down();
    await write('b', 1000, 1000);
    await sleep(500);
    await write('k', 1000, 2000);
    await waitFor(() => inKafka.k.length >= 3000, {
      timeoutMs: 30_000,
      what: 'Kafka-only lines during the HDFS outage',
    });
    // Held back: the lines routed to both are not acknowledged while HDFS cannot commit them.
    const bSize = (await stat(join(logs, 'b.log'))).size;
    expect(agent.streams.find((s) => s.path.endsWith('b.log'))?.acked).toBeLessThan(bSize);
    const retries = await agent.registry.getSingleMetric('logrelay_agent_retries_total')?.get();
    expect(retries?.values.reduce((n, v) => n + v.value, 0)).toBeGreaterThan(0);

    // HDFS back: the held-back lines arrive, once in each sink.
    await proxy.up();
    await waitFor(() => inKafka.b.length >= 2000, {
      timeoutMs: 60_000,
      what: 'held-back lines in Kafka',
    });
    await sleep(1500);
    await agent.stop();
    await collector.stop();
    const inHdfs: string[] = [];
    for (const status of (await hdfs.listStatus(`${hdfsRoot}/${both}`)) ?? []) {
      const data = await hdfs.read(`${hdfsRoot}/${both}/${status.pathSuffix}`);
      for (const line of (data?.toString() ?? '').split('\n').slice(0, -1)) inHdfs.push(line);
    }
    const counts = {
      kafkaOnly: countLines(written.k, inKafka.k),
      bothInKafka: countLines(written.b, inKafka.b),
      bothInHdfs: countLines(written.b, inHdfs),
    };
    console.log('routing with HDFS down:', JSON.stringify(counts));
    expect(counts.kafkaOnly).toEqual({
      written: 3000,
      delivered: 3000,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
    expect(counts.bothInKafka).toEqual({
      written: 2000,
      delivered: 2000,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
    expect(counts.bothInHdfs).toEqual({
      written: 2000,
      delivered: 2000,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
  });
});
