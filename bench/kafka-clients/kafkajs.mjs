// Client runner of the Kafka client bench (see bench/kafka-clients.ts for the contract): kafkajs
// 2.2.4 from the project's own dependencies, as released (BENCH_ENCODER=kafkajs) or with
// logrelay's produce encoder, linear grouping and caching partitioner (BENCH_ENCODER=logrelay,
// what the collector runs; needs `npm run build`). Env: those of common.mjs, and BENCH_PER_SEND
// (records per send, 1000) and BENCH_TXN_RETRY_MS (first retry delay of the transactional
// producer, 20 as in the collector).
import { createRequire } from 'node:module';
import { KEY_TEXT, SEND_SIZE, TXN_SIZE, report, reporter, settings, valueFor } from './common.mjs';

const encoder = process.env.BENCH_ENCODER ?? 'logrelay';
const CLIENT = encoder === 'logrelay' ? 'kafkajs+logrelay-encoder' : 'kafkajs';
const { fail } = reporter(CLIENT);
const { intEnv, broker, topic, records, mode, group } = settings('kafkajs', fail);
const perSend = intEnv('BENCH_PER_SEND', SEND_SIZE);

// The sink's kafkajs module must load kafkajs first, or its linear grouping cannot apply.
const { Kafka, Partitioners, logLevel } =
  encoder === 'logrelay'
    ? await import('../../dist/collector/sinks/kafka/kafkajs.js')
    : await import('kafkajs');
const createPartitioner =
  encoder === 'logrelay'
    ? (await import('../../dist/collector/sinks/kafka/partitioner.js')).cachingDefaultPartitioner
    : Partitioners.DefaultPartitioner;

function batch(from, n) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = { key: KEY_TEXT, value: valueFor(from + i) };
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
        retry: { initialRetryTime: intEnv('BENCH_TXN_RETRY_MS', 20), retries: 9 },
      }
    : { createPartitioner, idempotent: true, maxInFlightRequests: 1 },
);
const t0 = performance.now();
await producer.connect().catch((err) => fail(`connect to ${broker}`, err));
const connectSeconds = (performance.now() - t0) / 1000;
const start = performance.now();
let sent = 0;
try {
  while (sent < records) {
    const txn = mode === 'txn' ? await producer.transaction() : producer;
    const end = mode === 'txn' ? Math.min(records, sent + TXN_SIZE) : records;
    while (sent < end) {
      const n = Math.min(perSend, end - sent);
      await txn.send({ topic, acks: -1, messages: batch(sent, n) });
      sent += n;
    }
    if (mode === 'txn') {
      await txn.sendOffsets({
        consumerGroupId: group,
        topics: [{ topic, partitions: [{ partition: 0, offset: String(sent) }] }],
      });
      await txn.commit();
    }
  }
} catch (err) {
  fail(`producing (sent=${sent})`, err);
}
const seconds = (performance.now() - start) / 1000;
await producer.disconnect();
const version = createRequire(import.meta.url)('kafkajs/package.json').version;
report({ client: CLIENT, mode, records: sent, seconds, connectSeconds, version });
