import { Kafka, logLevel } from 'kafkajs';
import { endpoint } from './services.js';
import { uniqueName } from './unique.js';
import { sleep } from './wait-for.js';

/** A kafkajs client for the test bed's broker, quiet. */
export function testKafka(clientId = 'logrelay-test'): Kafka {
  return new Kafka({
    clientId,
    brokers: [endpoint('kafka')],
    logLevel: logLevel.NOTHING,
    retry: { retries: 5 },
  });
}

/** Creates a topic named `<prefix>_<unique>` with `partitions` partitions; returns its name. */
export async function createTestTopic(
  kafka: Kafka,
  prefix: string,
  partitions = 1,
): Promise<string> {
  const topic = uniqueName(prefix);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
  return topic;
}

/** Deletes topics, ignoring errors (cleanup). */
export async function deleteTestTopics(kafka: Kafka, topics: string[]): Promise<void> {
  if (topics.length === 0) return;
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteTopics({ topics });
  } catch {
    // best effort
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export interface ConsumedRecord {
  partition: number;
  /** The record's offset in its partition. */
  offset: number;
  key: string;
  value: string;
  /** The record's timestamp, ms (CreateTime: when the producer sent it). */
  timestamp: number;
}

export interface ConsumeResult {
  /** Every record read, duplicates included, in the order of each partition. */
  records: ConsumedRecord[];
  /** Distinct record values seen. */
  distinct: number;
  /** True when `expectedDistinct` values were not all seen before the timeout. */
  timedOut: boolean;
  /** From subscribing until every expected value was seen (or the timeout), in ms. */
  ms: number;
}

/**
 * Reads `topic` from the beginning with a read_committed consumer (a fresh group) until
 * `expectedDistinct` distinct values were seen or `timeoutMs` passed, then `settleMs` longer so
 * that late duplicates are counted too. Never throws on a timeout: the caller counts what is
 * missing.
 */
export async function consumeAll(
  kafka: Kafka,
  topic: string,
  {
    expectedDistinct,
    timeoutMs = 60_000,
    settleMs = 3000,
    onProgress,
  }: {
    expectedDistinct: number;
    timeoutMs?: number;
    settleMs?: number;
    onProgress?: (distinct: number, records: number) => void;
  },
): Promise<ConsumeResult> {
  const consumer = kafka.consumer({
    groupId: uniqueName('e2e'),
    readUncommitted: false,
    maxBytes: 16 * 1024 * 1024,
  });
  const records: ConsumedRecord[] = [];
  const seen = new Set<string>();
  const started = Date.now();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const value = m.value?.toString('utf8') ?? '<null>';
          records.push({
            partition: batch.partition,
            offset: Number(m.offset),
            key: m.key?.toString('utf8') ?? '',
            value,
            timestamp: Number(m.timestamp),
          });
          seen.add(value);
        }
      },
    });
    const deadline = started + timeoutMs;
    let lastReport = started;
    while (seen.size < expectedDistinct && Date.now() < deadline) {
      await sleep(100);
      if (onProgress && Date.now() - lastReport >= 5000) {
        lastReport = Date.now();
        onProgress(seen.size, records.length);
      }
    }
    const ms = Date.now() - started;
    await sleep(settleMs);
    return { records, distinct: seen.size, timedOut: seen.size < expectedDistinct, ms };
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

/** The id of a test line `<file>#<n> ...`: its file and number. */
export function parseLineId(value: string): { file: string; n: number } {
  const id = value.split(' ', 1)[0] ?? '';
  const hash = id.lastIndexOf('#');
  return { file: id.slice(0, hash), n: Number(id.slice(hash + 1)) };
}

/**
 * Per-stream order: the test lines of one physical file (file name and rotation segment,
 * `segmentOf(n)`) must appear in each partition with increasing numbers. Returns how many records
 * follow a record of their stream with a higher or equal number (a duplicate is such a step back).
 */
export function orderViolations(
  records: readonly ConsumedRecord[],
  segmentOf: (n: number) => number,
): number {
  const last = new Map<string, number>();
  let violations = 0;
  for (const r of [...records].sort((x, y) => x.partition - y.partition || x.offset - y.offset)) {
    const { file, n } = parseLineId(r.value);
    const stream = `${r.partition}|${file}|${segmentOf(n)}`;
    const previous = last.get(stream);
    if (previous !== undefined && n <= previous) violations++;
    last.set(stream, n);
  }
  return violations;
}

/**
 * The test lines seen more than once, as ranges of consecutive numbers per file, e.g.
 * `a#041000..a#041999 x2 (1000 lines)`, at most `max` of them: tells a chunk re-sent whole from
 * scattered lines.
 */
export function duplicateRanges(values: readonly string[], max = 10): string[] {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  const dups = [...counts]
    .filter(([, c]) => c > 1)
    .map(([v, c]) => ({ ...parseLineId(v), c }))
    .sort((x, y) => (x.file === y.file ? x.n - y.n : x.file < y.file ? -1 : 1));
  const ranges: { file: string; from: number; to: number; c: number }[] = [];
  for (const d of dups) {
    const last = ranges.at(-1);
    if (last && last.file === d.file && last.to === d.n - 1 && last.c === d.c) last.to = d.n;
    else ranges.push({ file: d.file, from: d.n, to: d.n, c: d.c });
  }
  const pad = (n: number) => String(n).padStart(6, '0');
  return ranges
    .slice(0, max)
    .map(
      (r) =>
        `${r.file}#${pad(r.from)}..${r.file}#${pad(r.to)} x${r.c} (${r.to - r.from + 1} lines)`,
    )
    .concat(ranges.length > max ? [`... ${ranges.length - max} more ranges`] : []);
}
