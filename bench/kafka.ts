/**
 * The Kafka path, end to end, beside kcat on the same broker and file: `kcat -P` producing the
 * file's lines (acks=all, idempotent) is the reference; then file → agent → collector (child
 * process) → Kafka with the plain sink and with `exactlyOnce`. Each run writes to a topic of its
 * own (one partition: the case of one busy file), and its record count is checked afterwards.
 */
import { Kafka, logLevel } from 'kafkajs';
import { benchRelay, type RelayResult } from './relay.js';
import { runTool } from './reference.js';

export interface KcatResult {
  seconds: number;
  /** user + system CPU seconds of kcat (bash's `time`). */
  cpuSeconds: number | undefined;
  /** Records the topic holds afterwards. */
  records: number;
}

export interface KafkaRelayResult extends RelayResult {
  /** Records the topic holds afterwards (committed and not). */
  records: number;
}

/** The test bed's broker, or LOGRELAY_KAFKA_BROKER. */
export const benchBroker = process.env['LOGRELAY_KAFKA_BROKER'] ?? '127.0.0.1:9092';

function client(): Kafka {
  return new Kafka({
    clientId: 'logrelay-bench',
    brokers: [benchBroker],
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
  });
}

/** True when the broker answers (the phase is skipped, with a note, when it does not). */
export async function kafkaReachable(): Promise<boolean> {
  const admin = client().admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Creates a one-partition topic named `logrelay-bench-<what>-<time>`. */
export async function benchTopic(what: string): Promise<string> {
  const topic = `logrelay-bench-${what}-${Date.now().toString(36)}`;
  const admin = client().admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  return topic;
}

/** Records in `topic` (end offset minus start offset, over its partitions). */
export async function topicRecords(topic: string): Promise<number> {
  const admin = client().admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

export async function deleteBenchTopics(topics: readonly string[]): Promise<void> {
  if (topics.length === 0) return;
  const admin = client().admin();
  try {
    await admin.connect();
    await admin.deleteTopics({ topics: [...topics] });
  } catch {
    // best effort
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * `kcat -P -l FILE`: every line one record, acks=all, idempotent, librdkafka's defaults
 * otherwise; timed from spawn to exit (kcat waits for every delivery report before exiting).
 */
export async function timeKcat(path: string, topic: string): Promise<KcatResult> {
  const kcat = [
    'kcat',
    '-P',
    '-b',
    benchBroker,
    '-t',
    topic,
    '-X',
    'acks=all',
    '-X',
    'enable.idempotence=true',
    '-l',
    path,
  ]
    .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
    .join(' ');
  const started = process.hrtime.bigint();
  const stderr = await runTool('kcat', 'bash', ['-c', `TIMEFORMAT='cpu %3U %3S'; time ${kcat}`]);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const m = /cpu (\d+\.\d+) (\d+\.\d+)/.exec(stderr);
  return {
    seconds,
    cpuSeconds: m ? Number(m[1]) + Number(m[2]) : undefined,
    records: await topicRecords(topic),
  };
}

/** The file through agent → collector → Kafka, plain or exactly-once, into a topic of its own. */
export async function benchKafkaRelay(
  path: string,
  size: number,
  dir: string,
  timeoutMs: number,
  exactlyOnce: boolean,
  topics: string[],
): Promise<KafkaRelayResult> {
  const topic = await benchTopic(exactlyOnce ? 'eos' : 'plain');
  topics.push(topic);
  const result = await benchRelay(path, size, dir, timeoutMs, {
    topic,
    sink: {
      type: 'kafka',
      name: 'kafka',
      brokers: [benchBroker],
      clientId: 'logrelay-bench',
      ...(exactlyOnce ? { exactlyOnce: true } : {}),
      ...sinkOverrides(),
    },
  });
  return { ...result, records: await topicRecords(topic) };
}

/**
 * Extra Kafka sink settings for tuning runs (BENCH_KAFKA_SINK, a JSON object), e.g.
 * `{"maxRecordsPerRequest":2000}`; the figures then say what the knob buys.
 */
function sinkOverrides(): Record<string, unknown> {
  const raw = process.env['BENCH_KAFKA_SINK'];
  if (!raw) return {};
  const parsed: unknown = JSON.parse(raw);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error('BENCH_KAFKA_SINK must be a JSON object of Kafka sink settings');
  return parsed as Record<string, unknown>;
}
