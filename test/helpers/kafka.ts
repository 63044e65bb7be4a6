import { spawn } from 'node:child_process';
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
 * Reads `topic` from the beginning with a read_committed consumer until `expectedDistinct`
 * distinct values were seen or `timeoutMs` passed, then `settleMs` longer so that late
 * duplicates are counted too. Never throws on a timeout: the caller counts what is missing.
 *
 * The reader is kcat (librdkafka), not kafkajs: an independent client, and kafkajs's consumer
 * lets records of aborted transactions through when an aborted transaction began before the
 * fetched range (its filter marks one aborted producer per record), which a fault test would
 * count as duplicates the product never committed.
 */
export async function consumeAll(
  _kafka: Kafka,
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
  const started = Date.now();
  const deadline = started + timeoutMs;
  let lastReport = started;
  let records: ConsumedRecord[] = [];
  let distinct = 0;
  for (;;) {
    records = await kcatReadCommitted(topic);
    distinct = new Set(records.map((r) => r.value)).size;
    if (distinct >= expectedDistinct || Date.now() >= deadline) break;
    if (onProgress && Date.now() - lastReport >= 5000) {
      lastReport = Date.now();
      onProgress(distinct, records.length);
    }
    await sleep(250);
  }
  const ms = Date.now() - started;
  await sleep(settleMs);
  records = await kcatReadCommitted(topic);
  distinct = new Set(records.map((r) => r.value)).size;
  return { records, distinct, timedOut: distinct < expectedDistinct, ms };
}

/**
 * Every committed record of `topic` (all partitions, from the beginning up to each partition's
 * last stable offset) as kcat reads them with `isolation.level=read_committed`, in partition
 * order. Keys and values are read by their lengths, so any bytes pass.
 */
export async function kcatReadCommitted(topic: string): Promise<ConsumedRecord[]> {
  return kcatRead(topic, 'read_committed');
}

/**
 * Where written lines are missing from what a read_committed consumer got: the missing ranges
 * (like duplicateRanges), and how many of them are in the log all the same, visible to a
 * read_uncommitted reader (written in a transaction that is still open or was aborted) — the
 * first thing to know when a fault test misses lines.
 */
export async function missingReport(
  topic: string,
  written: readonly string[],
  delivered: readonly string[],
): Promise<{ ranges: string[]; inLogUncommitted: number } | undefined> {
  const got = new Set(delivered);
  const missing = written.filter((l) => !got.has(l));
  if (missing.length === 0) return undefined;
  const uncommitted = new Set((await kcatRead(topic, 'read_uncommitted')).map((r) => r.value));
  return {
    ranges: duplicateRanges([...missing, ...missing]).map((r) => r.replace(/ x2 /, ' ')),
    inLogUncommitted: missing.filter((l) => uncommitted.has(l)).length,
  };
}

async function kcatRead(
  topic: string,
  isolation: 'read_committed' | 'read_uncommitted',
): Promise<ConsumedRecord[]> {
  const child = spawn(
    'kcat',
    [
      '-C',
      '-b',
      endpoint('kafka'),
      '-t',
      topic,
      '-o',
      'beginning',
      '-e',
      '-q',
      '-X',
      `isolation.level=${isolation}`,
      '-f',
      '%p\t%o\t%T\t%K\t%S\t%k%s\n',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0)
    throw new Error(`kcat exited with ${code}: ${Buffer.concat(err).toString('utf8').trim()}`);
  return parseKcat(Buffer.concat(out));
}

/** Parses kcat's `%p\t%o\t%T\t%K\t%S\t%k%s\n` records. */
function parseKcat(buf: Buffer): ConsumedRecord[] {
  const records: ConsumedRecord[] = [];
  let at = 0;
  const field = (): string => {
    const tab = buf.indexOf(9, at);
    if (tab < 0) throw new Error(`kcat output cut at byte ${at}`);
    const text = buf.toString('latin1', at, tab);
    at = tab + 1;
    return text;
  };
  while (at < buf.length) {
    const partition = Number(field());
    const offset = Number(field());
    const timestamp = Number(field());
    const keyLength = Number(field());
    const valueLength = Number(field());
    const key = keyLength > 0 ? buf.toString('utf8', at, at + keyLength) : '';
    at += Math.max(0, keyLength);
    const value = valueLength >= 0 ? buf.toString('utf8', at, at + valueLength) : '<null>';
    at += Math.max(0, valueLength);
    if (buf[at] !== 10) throw new Error(`kcat output: no newline after record at byte ${at}`);
    at++;
    records.push({ partition, offset, key, value, timestamp });
  }
  return records.sort((x, y) => x.partition - y.partition || x.offset - y.offset);
}

export function parseLineId(value: string): { file: string; n: number } {
  const id = value.split(' ', 1)[0] ?? '';
  const hash = id.lastIndexOf('#');
  return { file: id.slice(0, hash), n: Number(id.slice(hash + 1)) };
}

/**
 * Per-stream order: the test lines of one physical file (file name and rotation segment,
 * `segmentOf(n)`) must appear in each partition with increasing numbers. Returns how many records
 * follow a record of their stream with a higher or equal number (a duplicate is such a step back).
 *
 * `firstDeliveries`: only each line's first record counts, for an at-least-once sink whose
 * duplicates are counted and bounded on their own: a failed request's stored part written again
 * necessarily comes after later lines of its stream, and it is a duplicate, not a reordering.
 */
export function orderViolations(
  records: readonly ConsumedRecord[],
  segmentOf: (n: number) => number,
  { firstDeliveries = false }: { firstDeliveries?: boolean } = {},
): number {
  const last = new Map<string, number>();
  const seen = new Set<string>();
  let violations = 0;
  for (const r of [...records].sort((x, y) => x.partition - y.partition || x.offset - y.offset)) {
    if (firstDeliveries) {
      if (seen.has(r.value)) continue;
      seen.add(r.value);
    }
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
