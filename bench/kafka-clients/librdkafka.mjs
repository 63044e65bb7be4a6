// Client runner of the Kafka client bench for the two librdkafka bindings, which share one API
// (Producer.produce per record with delivery reports; sendOffsetsToTransaction with a
// KafkaConsumer as the source of the group metadata):
//   BENCH_CLIENT=node-rdkafka  node-rdkafka (its bundled librdkafka, built from source)
//   BENCH_CLIENT=confluent     @confluentinc/kafka-javascript through its native API (its
//                              KafkaJS-compatible API was slower here, an extra promise layer per
//                              send, and its sendOffsets / commit / abort have fixed 5 s timeouts)
// Each from its own install prefix (bench/kafka-clients/install.sh); never both in one process.
// Env: those of common.mjs, and BENCH_POLL (background | interval: how delivery reports are
//   served; librdkafka's background thread, Confluent's default, or a 1 ms poll timer,
//   node-rdkafka's).
// Prints exactly one JSON line on stdout; diagnostics go to stderr; exits non-zero on failure.
import { randomUUID } from 'node:crypto';
import {
  KEY,
  closeWithin,
  SEND_SIZE,
  TXN_SIZE,
  prefixRequire,
  report,
  reporter,
  settings,
  valueFor,
} from './common.mjs';

const PACKAGES = { 'node-rdkafka': 'node-rdkafka', confluent: '@confluentinc/kafka-javascript' };
const CLIENT = process.env.BENCH_CLIENT || 'node-rdkafka';
const { log, fail } = reporter(CLIENT);
const PKG =
  PACKAGES[CLIENT] ?? fail(`BENCH_CLIENT must be node-rdkafka or confluent, got '${CLIENT}'`);
const { broker, topic, records, mode, group, prefix, window, timeoutS } = settings(CLIENT, fail);
const pollMode = process.env.BENCH_POLL || (CLIENT === 'confluent' ? 'background' : 'interval');
if (pollMode !== 'background' && pollMode !== 'interval')
  fail(`BENCH_POLL must be background or interval`);

// A hung broker or client must not hang the benchmark. This ref'd timer also keeps the event loop
// alive while we wait for delivery reports (the client's poll timer is unref'd).
const watchdog = setTimeout(() => fail(`timed out after ${timeoutS}s`), timeoutS * 1000);

const require = prefixRequire(prefix);
let Kafka, version;
try {
  Kafka = require(PKG);
  version = String(require(`${PKG}/package.json`).version).replace(/^v/, '');
} catch (err) {
  fail(`cannot load ${PKG} from ${prefix} (run bash bench/kafka-clients/install.sh)`, err);
}

const cb2p = (fn) =>
  new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
const tick = () => new Promise((resolve) => setImmediate(resolve));

// --- delivery reports ---------------------------------------------------------------------------
let acked = 0;
let deliveryError = null;
let waiter = null; // { target, resolve, reject }
function onDelivery(err) {
  if (err) {
    deliveryError ??= err;
    if (waiter) waiter.reject(err);
    return;
  }
  acked++;
  if (waiter !== null && acked >= waiter.target) {
    const w = waiter;
    waiter = null;
    w.resolve();
  }
}
function waitAcked(target) {
  if (deliveryError) return Promise.reject(deliveryError);
  if (acked >= target) return Promise.resolve();
  return new Promise((resolve, reject) => {
    waiter = { target, resolve, reject };
  });
}

// --- clients ------------------------------------------------------------------------------------
const transactionalId = `bench-${CLIENT}-${randomUUID()}`;
const producerConf = {
  'client.id': `bench-${CLIENT}`,
  'metadata.broker.list': broker,
  'enable.idempotence': true,
  acks: 'all',
  'compression.codec': 'none',
  // Room for the bounded window plus librdkafka's own batching.
  'queue.buffering.max.messages': Math.max(100_000, window * 2),
  dr_cb: true, // delivery reports without copying the payloads back (dr_msg_cb would)
  ...(mode === 'txn' ? { 'transactional.id': transactionalId } : {}),
};
const producer = new Kafka.Producer(producerConf, {});
producer.on('delivery-report', onDelivery);
producer.on('event.error', (err) => log(`event.error: ${err.message || err}`));

let consumer = null; // txn mode: only a source of consumer-group metadata for sendOffsets

const connectStart = performance.now();
await cb2p((cb) => producer.connect({ topic, allTopics: false, timeout: 10_000 }, cb)).catch(
  (err) => fail(`producer connect to ${broker}`, err),
);
// Delivery reports reach JS only when the client's main queue is served: by librdkafka's
// background thread, or by poll() every 1 ms (plus once after each send).
if (pollMode === 'background') producer.setPollInBackground(true);
else producer.setPollInterval(1);
const poll = pollMode === 'background' ? () => {} : () => producer.poll();
if (mode === 'txn') {
  consumer = new Kafka.KafkaConsumer(
    {
      'client.id': `bench-${CLIENT}-offsets`,
      'metadata.broker.list': broker,
      'group.id': group,
      'enable.auto.commit': false,
    },
    {},
  );
  consumer.on('event.error', (err) => log(`consumer event.error: ${err.message || err}`));
  await cb2p((cb) => consumer.connect({ topic, allTopics: false, timeout: 10_000 }, cb)).catch(
    (err) => fail('consumer connect', err),
  );
  await cb2p((cb) => producer.initTransactions(30_000, cb)).catch((err) =>
    fail('initTransactions', err),
  );
}
const connectSeconds = (performance.now() - connectStart) / 1000;
log(
  `connected in ${connectSeconds.toFixed(3)}s; mode=${mode} records=${records} librdkafka=${Kafka.librdkafkaVersion}`,
);

// --- produce ------------------------------------------------------------------------------------
let sent = 0;
// Explicit partition 0; the key is passed as bytes (the same bytes as the key string).
function produceOne(i) {
  try {
    producer.produce(topic, 0, valueFor(i), KEY, null);
    return true;
  } catch (err) {
    if (err.code === Kafka.CODES.ERRORS.ERR__QUEUE_FULL) return false;
    throw err;
  }
}
// One send: SEND_SIZE produce() calls (librdkafka batches them), then keep at most `window`
// records unacknowledged.
async function send(count) {
  const end = sent + count;
  while (sent < end) {
    if (produceOne(sent)) {
      sent++;
    } else {
      poll();
      await waitAcked(Math.min(acked + 1, sent)); // local queue full: wait for some acks
    }
  }
  poll();
  if (sent - acked > window) await waitAcked(sent - window);
  else await tick();
}

const t0 = performance.now();
try {
  if (mode === 'plain') {
    while (sent < records) await send(Math.min(SEND_SIZE, records - sent));
    await waitAcked(records);
  } else {
    let transactions = 0;
    while (sent < records) {
      await cb2p((cb) => producer.beginTransaction(cb));
      const txnEnd = Math.min(sent + TXN_SIZE, records);
      while (sent < txnEnd) await send(Math.min(SEND_SIZE, txnEnd - sent));
      const offsets = [{ topic, partition: 0, offset: sent, metadata: 'bench' }];
      await cb2p((cb) => producer.sendOffsetsToTransaction(offsets, consumer, 30_000, cb));
      await cb2p((cb) => producer.commitTransaction(30_000, cb));
      transactions++;
    }
    await waitAcked(records); // commit flushed everything; the last reports may still be in flight
    log(`committed ${transactions} transactions`);
  }
} catch (err) {
  fail(`producing (sent=${sent}, acked=${acked})`, err);
}
const seconds = (performance.now() - t0) / 1000;
if (deliveryError) fail('delivery error', deliveryError);
if (acked !== records) fail(`acked ${acked} of ${records}`);
log(
  `${records} records acknowledged in ${seconds.toFixed(3)}s (${Math.round(records / seconds)} records/s)`,
);

// --- disconnect and report ------------------------------------------------------------------------
if (pollMode === 'interval') producer.setPollInterval(0);
const disconnect = (client) => cb2p((cb) => client.disconnect(cb));
await closeWithin(disconnect(producer), 'producer', log);
if (consumer) await closeWithin(disconnect(consumer), 'consumer', log);

clearTimeout(watchdog);
report({
  client: CLIENT,
  mode,
  records,
  seconds,
  connectSeconds,
  version,
  librdkafka: Kafka.librdkafkaVersion,
});
