import { execFile } from 'node:child_process';
import { appendFile, mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  consumeAll,
  createTestTopic,
  deleteTestTopics,
  testKafka,
  duplicateRanges,
  orderViolations,
} from '../helpers/kafka.js';
import {
  killAll,
  logProblems,
  metricSum,
  repoRoot,
  scrape,
  spawnLogrelay,
  type LogrelayProcess,
} from '../helpers/processes.js';
import { countLines } from '../helpers/relay.js';
import { endpoint, requireService } from '../helpers/services.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sleep } from '../helpers/wait-for.js';

// Kafka stopped for 60 s mid-run, then started, with each mode of the Kafka sink: 0 missing
// (no sink failure may make an agent skip lines), per-file order kept; exactly-once: 0
// duplicated; plain (idempotent producer, at-least-once across a failed write): duplicates
// counted and bounded by the batches in flight when the broker went away. Agents got
// retry-after meanwhile; delivery resumed by itself; collector RSS stayed bounded (reported).
const FILES = ['a', 'b'];
const LINES_PER_FILE = 100_000;
/**
 * Lines per file written at once when Kafka is being stopped: the agent is then shipping full
 * batches (1 MiB, several produce requests each) when the broker goes away, as after any burst
 * of logs or an agent catching up — the moment a sink write can fail half done.
 */
const BURST_LINES = 30_000;
/** Rename rotation `<f>.log` → `<f>.log.1` halfway: it happens while Kafka is down. */
const ROTATE_EVERY = 50_000;
const WRITE_MS = 60_000;
const OUTAGE_AT_MS = 10_000;
const OUTAGE_MS = 60_000;
/** The collector must not hold the backlog (it waits in the agent's files): a generous bound. */
const RSS_LIMIT = 1024 * 1024 * 1024;

/** `<file>#<n> <padding>`: unique per line; 60–260 bytes. */
const lineOf = (file: string, n: number): string =>
  `${file}#${String(n).padStart(6, '0')} ${'o'.repeat(50 + ((n * 7919) % 201))}`;

/**
 * Appends LINES_PER_FILE lines per file: LINES_PER_FILE - BURST_LINES evenly over `durationMs`,
 * plus BURST_LINES at once when `burst.now` becomes true; with rename rotation.
 */
async function writeLogs(
  dir: string,
  durationMs: number,
  written: string[],
  burst: { now: boolean },
): Promise<void> {
  const next = new Map(FILES.map((f) => [f, 0]));
  const started = Date.now();
  const steady = LINES_PER_FILE - BURST_LINES;
  for (;;) {
    const target = Math.min(
      LINES_PER_FILE,
      Math.ceil(Math.min(1, (Date.now() - started) / durationMs) * steady) +
        (burst.now ? BURST_LINES : 0),
    );
    for (const file of FILES) {
      let n = next.get(file) ?? 0;
      while (n < target) {
        if (n > 0 && n % ROTATE_EVERY === 0) {
          await rename(join(dir, `${file}.log`), join(dir, `${file}.log.${n / ROTATE_EVERY}`));
        }
        const end = Math.min(target, (Math.floor(n / ROTATE_EVERY) + 1) * ROTATE_EVERY);
        const lines: string[] = [];
        for (let i = n; i < end; i++) lines.push(lineOf(file, i));
        await appendFile(join(dir, `${file}.log`), lines.join('\n') + '\n');
        written.push(...lines);
        n = end;
        next.set(file, n);
      }
    }
    if (target >= LINES_PER_FILE) return;
    await sleep(20);
  }
}

const exec = promisify(execFile);

/**
 * `bash scripts/services.sh <up|down> kafka`, timed; `down` with `SIGKILL` kills the broker
 * instead (no controlled shutdown: leaders and the transaction coordinator vanish mid-request).
 */
async function kafkaService(
  command: 'up' | 'down',
  signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
): Promise<number> {
  const t0 = Date.now();
  if (command === 'down' && signal === 'SIGKILL') {
    const { stdout } = await exec('bash', ['scripts/services.sh', 'status', 'kafka'], {
      cwd: repoRoot,
    }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
    const pid = Number(/running\s+pid (\d+)/.exec(stdout)?.[1]);
    if (!pid) throw new Error(`no running Kafka broker to kill: ${stdout}`);
    process.kill(pid, 'SIGKILL');
    while (Date.now() - t0 < 10_000) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await sleep(50);
    }
    return Date.now() - t0;
  }
  await exec('bash', ['scripts/services.sh', command, 'kafka'], {
    cwd: repoRoot,
    timeout: 180_000,
  });
  return Date.now() - t0;
}

const mib = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

/** The sink modes under test, with what each promises about duplicates. */
const MODES = [
  { mode: 'exactly-once', stop: 'SIGKILL', sink: { exactlyOnce: {} }, maxDuplicated: 0 },
  { mode: 'exactly-once', stop: 'SIGTERM', sink: { exactlyOnce: {} }, maxDuplicated: 0 },
  // At-least-once across a failed write: at most the batches in flight when the broker went
  // away are written again, one per file (the agent's batches are at most 10,000 lines).
  { mode: 'plain', stop: 'SIGTERM', sink: {}, maxDuplicated: FILES.length * 10_000 },
] as const;

describe.each(MODES)(
  'Kafka stopped ($stop) for 60 s mid-run, then started again ($mode)',
  ({ mode, stop, sink, maxDuplicated }) => {
    const kafka = testKafka('logrelay-e2e-kafka-outage');
    const topics: string[] = [];
    /** Set while this test has Kafka stopped: afterAll then starts it again, whatever happened. */
    let kafkaStopped = false;

    beforeAll(async () => {
      await requireService('kafka');
    });

    afterAll(async () => {
      await killAll();
      if (kafkaStopped) {
        await kafkaService('up');
        kafkaStopped = false;
      }
      await deleteTestTopics(kafka, topics);
    }, 200_000);

    it('loses no line, keeps per-file order, duplicates only as the mode allows; resumes by itself', async () => {
      const started = Date.now();
      const since = () => Date.now() - started;
      const { dir, cleanup } = await tempDir('logrelay-e2e-outage-');
      const logs = join(dir, 'logs');
      await mkdir(logs);
      const topic = await createTestTopic(kafka, 'e2e_outage', 2);
      topics.push(topic);

      const collector: LogrelayProcess = await spawnLogrelay(
        'collector',
        'collector',
        {
          id: 'outage-collector',
          listen: { host: '127.0.0.1', port: 0 },
          sinks: [{ type: 'kafka', name: 'kafka', brokers: [endpoint('kafka')], ...sink }],
          log: { level: 'info' },
        },
        { dir },
      );
      const collectorAddress = String(
        (
          await collector.waitForLog((e) => e['msg'] === 'collector started', {
            what: 'collector started',
          })
        )['address'],
      );
      const collectorOps = await collector.opsUrl();

      const agent: LogrelayProcess = await spawnLogrelay(
        'agent',
        'agent',
        {
          id: 'outage-agent',
          host: 'e2e-host',
          collectors: [collectorAddress],
          tails: [{ paths: [join(logs, '*.log*')], topic }],
          scanIntervalMs: 100,
          pollIntervalMs: 20,
          lines: { partialFlushMs: 500 },
          checkpoint: { path: join(dir, 'agent.registry.json'), flushIntervalMs: 100 },
          log: { level: 'info' },
        },
        { dir },
      );
      const agentOps = await agent.opsUrl();

      // Collector RSS once a second, by phase (until the end, or the collector is gone).
      let phase: 'before' | 'during' | 'after' = 'before';
      const rss = { before: 0, during: 0, after: 0 };
      let sampling = true;
      const sampler = (async () => {
        while (sampling && collector.alive) {
          const bytes = await collector.rssBytes();
          if (bytes !== undefined) rss[phase] = Math.max(rss[phase], bytes);
          await sleep(1000);
        }
      })();

      const metrics = async () => {
        const [a, c] = await Promise.all([scrape(agentOps), scrape(collectorOps)]);
        return {
          agentRetries: metricSum(a, 'logrelay_agent_retries_total'),
          agentRetryAnswers: metricSum(a, 'logrelay_agent_batches_total', { result: 'retry' }),
          agentLinesAcked: metricSum(a, 'logrelay_agent_lines_acked_total'),
          agentLinesRejected: metricSum(a, 'logrelay_agent_lines_rejected_total'),
          collectorRetryAnswers: metricSum(c, 'logrelay_collector_batches_total', {
            result: 'retry',
          }),
          collectorSinkErrors: metricSum(c, 'logrelay_collector_sink_errors_total'),
          collectorDedupedLines: metricSum(c, 'logrelay_collector_deduplicated_lines_total'),
        };
      };

      const written: string[] = [];
      const burst = { now: false };
      const writer = writeLogs(logs, WRITE_MS, written, burst);
      const timeline: Record<string, number> = {};
      let resumedAfterUpSec = Number.POSITIVE_INFINITY;
      let before: Awaited<ReturnType<typeof metrics>>;
      let atDown: Awaited<ReturnType<typeof metrics>>;
      let endOfOutage: Awaited<ReturnType<typeof metrics>>;
      try {
        await sleep(OUTAGE_AT_MS);
        before = await metrics();
        expect(before.agentLinesAcked, 'lines flowed before the outage').toBeGreaterThan(0);
        burst.now = true;
        // Stop Kafka once the burst is being shipped (its first full batch committed), so the
        // broker goes away in the middle of multi-request writes.
        const burstFrom = Date.now();
        atDown = before;
        while (Date.now() - burstFrom < 15_000) {
          atDown = await metrics();
          if (atDown.agentLinesAcked >= before.agentLinesAcked + BURST_LINES / 5) break;
          await sleep(50);
        }
        timeline['burstShippingForSec'] = (Date.now() - burstFrom) / 1000;
        timeline['downAtSec'] = since() / 1000;
        phase = 'during';
        kafkaStopped = true;
        timeline['downTookSec'] = (await kafkaService('down', stop)) / 1000;
        await sleep(OUTAGE_MS);
        endOfOutage = await metrics();
        timeline['upAtSec'] = since() / 1000;
        timeline['upTookSec'] = (await kafkaService('up')) / 1000;
        kafkaStopped = false;
        phase = 'after';
        // How long after the broker answers again the first line is acknowledged.
        const upAt = Date.now();
        const ackedAtUp = (await metrics()).agentLinesAcked;
        while (Date.now() - upAt < 60_000 && (await metrics()).agentLinesAcked <= ackedAtUp)
          await sleep(100);
        resumedAfterUpSec = (Date.now() - upAt) / 1000;
      } finally {
        if (kafkaStopped) {
          await kafkaService('up').catch((err: unknown) => console.error(err));
          kafkaStopped = false;
        }
      }
      await writer;
      timeline['writingDoneSec'] = since() / 1000;

      const consumeFrom = since();
      const consumed = await consumeAll(kafka, topic, {
        expectedDistinct: written.length,
        timeoutMs: 120_000,
        settleMs: 3000,
        onProgress: (distinct, records) =>
          console.log(
            `[kafka-outage ${mode} ${stop}] consumed ${distinct} distinct / ${records} records so far`,
          ),
      });
      timeline['allDeliveredSec'] = (consumeFrom + consumed.ms) / 1000;
      const end = await metrics();
      sampling = false;
      await sampler;

      // The plain sink may write a failed request's stored part again (bounded below): order is
      // then the order of first deliveries, and the copies count as duplicates.
      const violations = orderViolations(consumed.records, (n) => Math.floor(n / ROTATE_EVERY), {
        firstDeliveries: maxDuplicated > 0,
      });
      const values = consumed.records.map((r) => r.value);
      const counts = countLines(written, values);
      const summary = {
        written: counts.written,
        delivered: counts.delivered,
        missing: counts.missing,
        duplicated: counts.duplicated,
        unexpected: counts.unexpected,
        orderViolations: violations,
        duplicateRanges: duplicateRanges(values),
        consumerTimedOut: consumed.timedOut,
        resumedAfterUpSec,
        timeline: Object.fromEntries(Object.entries(timeline).map(([k, v]) => [k, +v.toFixed(1)])),
        // From the moment `services.sh down kafka` was run to the moment `up` was.
        duringOutage: {
          agentRetries: endOfOutage.agentRetries - atDown.agentRetries,
          agentRetryAnswers: endOfOutage.agentRetryAnswers - atDown.agentRetryAnswers,
          agentLinesAcked: endOfOutage.agentLinesAcked - atDown.agentLinesAcked,
          collectorRetryAnswers: endOfOutage.collectorRetryAnswers - atDown.collectorRetryAnswers,
          collectorSinkErrors: endOfOutage.collectorSinkErrors - atDown.collectorSinkErrors,
        },
        beforeOutage: before,
        atEnd: end,
        collectorMaxRssMiB: {
          before: mib(rss.before),
          during: mib(rss.during),
          after: mib(rss.after),
        },
        collectorLogProblems: await logProblems(collector.logFile),
        agentLogProblems: await logProblems(agent.logFile),
        dir,
        totalSec: +(since() / 1000).toFixed(1),
      };
      console.log(`[kafka-outage ${mode} ${stop}] ${JSON.stringify(summary, null, 1)}`);

      expect(agent.alive, 'the agent survived the outage').toBe(true);
      expect(collector.alive, 'the collector survived the outage').toBe(true);
      await agent.kill('SIGTERM');
      await collector.kill('SIGTERM');

      expect({
        written: counts.written,
        missing: counts.missing,
        unexpected: counts.unexpected,
        orderViolations: violations,
        rejectedByCollector: end.agentLinesRejected,
      }).toEqual({
        written: 200_000,
        missing: 0,
        unexpected: 0,
        orderViolations: 0,
        rejectedByCollector: 0,
      });
      expect(counts.duplicated, 'lines written twice').toBeLessThanOrEqual(maxDuplicated);
      expect(counts.delivered).toBe(200_000 + counts.duplicated);
      // Delivery resumed by itself soon after the broker answered again.
      expect(summary.resumedAfterUpSec, 'first commit after the broker was back').toBeLessThan(15);
      expect(
        summary.duringOutage.agentRetryAnswers,
        'retry-after answers during the outage',
      ).toBeGreaterThan(0);
      expect(summary.duringOutage.agentRetries, 'agent retries during the outage').toBeGreaterThan(
        0,
      );
      expect(Math.max(rss.before, rss.during, rss.after)).toBeGreaterThan(0);
      expect(Math.max(rss.before, rss.during, rss.after)).toBeLessThan(RSS_LIMIT);
      // Only cleaned up on success: on failure the logs and registry stay for inspection.
      await cleanup();
    });
  },
);
