// Candidate runner (see bench/kafka-clients.ts for the contract): kafkajs 2.2.4, stock
// (BENCH_ENCODER=kafkajs) or with logrelay's Produce encoder and caching partitioner
// (BENCH_ENCODER=logrelay, what the collector runs). Needs `npm run build` for the latter.
import { createRequire } from 'node:module';

const env = process.env;
const broker = env.BENCH_BROKER ?? '127.0.0.1:9092';
const topic = env.BENCH_TOPIC;
const total = Number(env.BENCH_RECORDS ?? 1_000_000);
const mode = env.BENCH_MODE ?? 'plain';
const group = env.BENCH_GROUP ?? `bench-group-${Date.now()}`;
const encoder = env.BENCH_ENCODER ?? 'logrelay';
if (!topic) throw new Error('BENCH_TOPIC is required');

// The sink's kafkajs module must load kafkajs first, or its linear grouping cannot apply.
const { Kafka, Partitioners, logLevel } =
  encoder === 'logrelay'
    ? await import('../../dist/collector/sinks/kafka/kafkajs.js')
    : await import('kafkajs');
let createPartitioner = Partitioners.DefaultPartitioner;
if (encoder === 'logrelay') {
  const { cachingDefaultPartitioner } =
    await import('../../dist/collector/sinks/kafka/partitioner.js');
  createPartitioner = cachingDefaultPartitioner;
}

const KEY = 'bench-agent:/var/log/app.log';
const PER_SEND = Number(env.BENCH_PER_SEND ?? 1000);
const PER_TXN = 10_000;
function records(from, n) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const value = Buffer.alloc(100, 0x2e);
    value.write(String(from + i).padStart(12, '0'), 0, 'latin1');
    out[i] = { key: KEY, value };
  }
  return out;
}

const kafka = new Kafka({
  clientId: 'bench-kafkajs',
  brokers: [broker],
  logLevel: logLevel.NOTHING,
});
const producer = kafka.producer(
  mode === 'txn'
    ? {
        createPartitioner,
        idempotent: true,
        maxInFlightRequests: 1,
        transactionalId: `bench-${Date.now()}`,
        // As the collector: CONCURRENT_TRANSACTIONS right after a commit is retried from 20 ms,
        // not kafkajs's default 300 ms.
        retry: { initialRetryTime: Number(env.BENCH_TXN_RETRY_MS ?? 20), retries: 9 },
      }
    : { createPartitioner, idempotent: true, maxInFlightRequests: 1 },
);
const t0 = performance.now();
await producer.connect();
const connectSeconds = (performance.now() - t0) / 1000;
const cpu0 = process.cpuUsage();
const start = performance.now();
let sent = 0;
if (mode === 'txn') {
  while (sent < total) {
    const txn = await producer.transaction();
    const end = Math.min(total, sent + PER_TXN);
    while (sent < end) {
      const n = Math.min(PER_SEND, end - sent);
      await txn.send({ topic, acks: -1, messages: records(sent, n) });
      sent += n;
    }
    await txn.sendOffsets({
      consumerGroupId: group,
      topics: [{ topic, partitions: [{ partition: 0, offset: String(sent) }] }],
    });
    await txn.commit();
  }
} else {
  while (sent < total) {
    const n = Math.min(PER_SEND, total - sent);
    await producer.send({ topic, acks: -1, messages: records(sent, n) });
    sent += n;
  }
}
const seconds = (performance.now() - start) / 1000;
const cpu = process.cpuUsage(cpu0);
await producer.disconnect();
const require = createRequire(import.meta.url);
const version = require('kafkajs/package.json').version;
process.stdout.write(
  JSON.stringify({
    client: encoder === 'logrelay' ? 'kafkajs+logrelay-encoder' : 'kafkajs',
    mode,
    records: sent,
    seconds: Number(seconds.toFixed(3)),
    connectSeconds: Number(connectSeconds.toFixed(3)),
    cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
    maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    version,
  }) + '\n',
);
