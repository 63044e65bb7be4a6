/**
 * Issue 4, "Done when" 1: 3 collectors, 2 agents, 4 files, 500k unique lines; a random collector
 * is killed with SIGKILL every 10 s and restarted 5 s later. A read_committed consumer sees every
 * line exactly once, per-file order kept (Kafka sink with exactlyOnce); a reader of HDFS's closed
 * files (names not starting with `.` or `_`, as Hive reads them) sees every line exactly once
 * (issue 13: the HDFS sink's ledger in ZooKeeper, a killed collector's files cut back to their
 * committed length and closed by a live one).
 *
 * Everything runs as real processes (bin/logrelay.js): collectors find each other and agents
 * find collectors through ZooKeeper.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebHdfsClient } from '../../src/collector/sinks/hdfs/webhdfs-client.js';
import {
  consumeAll,
  createTestTopic,
  deleteTestTopics,
  duplicateRanges,
  orderViolations,
  testKafka,
} from '../helpers/kafka.js';
import {
  killAll,
  randomBetween,
  spawnLogrelay,
  type LogrelayProcess,
} from '../helpers/processes.js';
import { countLines } from '../helpers/relay.js';
import { readClosedFiles } from '../helpers/hdfs-read.js';
import { endpoint, requireService, services } from '../helpers/services.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { sleep } from '../helpers/wait-for.js';

const FILES_PER_AGENT = [
  ['a', 'b'],
  ['c', 'd'],
];
const LINES_PER_FILE = 125_000;
const WRITE_MS = 50_000;
const SESSION_MS = 4000;

const lineOf = (file: string, n: number): string =>
  `${file}#${String(n).padStart(6, '0')} ${'x'.repeat(10 + ((n * 7919) % 41))}`;

describe('collector cluster under SIGKILL (Kafka and HDFS exactly-once)', () => {
  const kafka = testKafka('logrelay-e2e-cluster-kill');
  const hdfsRoot = `/${uniqueName('logrelay-ckill')}`;
  const hdfs = new WebHdfsClient({
    namenodeUrl: `http://${endpoint('hdfs')}`,
    user: 'logrelay',
    requestTimeoutMs: 30_000,
  });
  const topics: string[] = [];

  beforeAll(async () => {
    await requireService('zookeeper');
    await requireService('kafka');
    await requireService('hdfs');
  });
  afterAll(async () => {
    await killAll();
    await deleteTestTopics(kafka, topics);
    await hdfs.delete(hdfsRoot, true).catch(() => undefined);
  });

  it('Kafka: every line exactly once and in order; HDFS: every line exactly once', async () => {
    const started = Date.now();
    const { dir, cleanup } = await tempDir('logrelay-e2e-ckill-');
    const topic = await createTestTopic(kafka, 'e2e_ckill', 2);
    topics.push(topic);
    const zookeeper = {
      connect: endpoint('zookeeper'),
      root: `/${uniqueName('lr_ckill')}`,
      sessionTimeoutMs: SESSION_MS,
    };
    const collectorConfig = (id: string) => ({
      id,
      listen: { host: '127.0.0.1', port: 0 },
      cluster: { zookeeper, rebalanceIntervalMs: 1000 },
      sinks: [
        {
          type: 'kafka',
          name: 'kafka',
          brokers: [endpoint('kafka')],
          clientId: 'ckill',
          exactlyOnce: {},
        },
        {
          type: 'hdfs',
          name: 'hdfs',
          namenodeUrl: `http://${services.hdfs.host}:${services.hdfs.port}`,
          pathTemplate: `${hdfsRoot}/{topic}/{collector}-{n}.log`,
          // Short rolls and recovery passes, so the closed files hold every line soon after
          // the last write (the defaults roll hourly).
          maxFileAgeMs: 5000,
          recoveryIntervalMs: 1000,
        },
      ],
      log: { level: 'info' },
    });
    const ids = ['k1', 'k2', 'k3'];
    const collectors = new Map<string, LogrelayProcess>();
    for (const id of ids)
      collectors.set(id, await spawnLogrelay('collector', id, collectorConfig(id), { dir }));

    const agents: LogrelayProcess[] = [];
    for (const [i, files] of FILES_PER_AGENT.entries()) {
      const logs = join(dir, `host-${i}`);
      await mkdir(logs);
      agents.push(
        await spawnLogrelay(
          'agent',
          `agent-${i}`,
          {
            id: `ckill-agent-${i}`,
            host: `host-${i}`,
            cluster: { zookeeper, reportIntervalMs: 500 },
            tails: files.map((f) => ({ paths: [join(logs, `${f}.log`)], topic })),
            scanIntervalMs: 100,
            pollIntervalMs: 20,
            ship: { retryInitialMs: 100, retryMaxMs: 1000 },
            checkpoint: { path: join(dir, `agent-${i}.registry.json`), flushIntervalMs: 50 },
            log: { level: 'info' },
          },
          { dir },
        ),
      );
    }

    const written: string[] = [];
    const writer = (async () => {
      const all = FILES_PER_AGENT.flatMap((files, i) => files.map((f) => ({ f, i })));
      const next = new Map(all.map(({ f }) => [f, 0]));
      const t0 = Date.now();
      for (;;) {
        const target = Math.min(
          LINES_PER_FILE,
          Math.ceil(((Date.now() - t0) / WRITE_MS) * LINES_PER_FILE),
        );
        for (const { f, i } of all) {
          const from = next.get(f) ?? 0;
          if (from >= target) continue;
          const lines: string[] = [];
          for (let n = from; n < target; n++) lines.push(lineOf(f, n));
          await appendFile(join(dir, `host-${i}`, `${f}.log`), lines.join('\n') + '\n');
          written.push(...lines);
          next.set(f, target);
        }
        if (target >= LINES_PER_FILE) return;
        await sleep(20);
      }
    })();

    const kills: string[] = [];
    let writing = true;
    const killer = (async () => {
      // A kill every 10 s (the first after 5 s), each collector back 5 s after its kill.
      while (writing) {
        await sleep(5000);
        if (!writing) return;
        const id = ids[randomBetween(0, ids.length - 1)]!;
        const exit = await collectors.get(id)!.kill('SIGKILL');
        kills.push(`${id}@${((Date.now() - started) / 1000).toFixed(1)}s(${exit.signal})`);
        await sleep(5000);
        collectors.set(id, await spawnLogrelay('collector', id, collectorConfig(id), { dir }));
      }
    })();
    await writer;
    writing = false;
    await killer;
    expect(written.length).toBe(4 * LINES_PER_FILE);

    const consumed = await consumeAll(kafka, topic, {
      expectedDistinct: written.length,
      timeoutMs: 180_000,
      settleMs: 3000,
      onProgress: (distinct, records) =>
        console.log(`[cluster-kill] consumed ${distinct} distinct / ${records} records`),
    });
    const values = consumed.records.map((r) => r.value);
    const kafkaCounts = countLines(written, values);
    const violations = orderViolations(consumed.records, () => 0);

    // HDFS: wait until every line is in a closed file (the sinks roll, and close the files of
    // killed collectors); hidden (in-progress) files are skipped, as Hive skips them.
    const readHdfs = () => readClosedFiles(hdfs, `${hdfsRoot}/${topic}`);
    // Until every line is visible and no file is left in progress (nothing more can appear).
    let inHdfs: string[] = [];
    let hiddenLeft = 0;
    const deadline = Date.now() + 120_000;
    do {
      ({ lines: inHdfs, hidden: hiddenLeft } = await readHdfs());
      if (countLines(written, inHdfs).missing === 0 && hiddenLeft === 0) break;
      await sleep(2000);
    } while (Date.now() < deadline);
    const hdfsCounts = countLines(written, inHdfs);

    console.log(
      `[cluster-kill] ${JSON.stringify(
        {
          kafka: {
            ...kafkaCounts,
            orderViolations: violations,
            duplicateRanges: duplicateRanges(values),
          },
          hdfs: { ...hdfsCounts, hiddenLeft, duplicateRanges: duplicateRanges(inHdfs) },
          kills,
          totalSec: +((Date.now() - started) / 1000).toFixed(1),
          dir,
        },
        null,
        1,
      )}`,
    );
    for (const a of agents) await a.kill('SIGTERM');
    for (const c of collectors.values()) await c.kill('SIGTERM');

    expect(kills.length).toBeGreaterThanOrEqual(5);
    expect({ ...kafkaCounts, orderViolations: violations }).toEqual({
      written: 500_000,
      delivered: 500_000,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
      orderViolations: 0,
    });
    expect(hdfsCounts).toEqual({
      written: 500_000,
      delivered: 500_000,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
    await cleanup();
  }, 600_000);
});
