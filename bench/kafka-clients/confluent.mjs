// Kafka client benchmark runner: @confluentinc/kafka-javascript, through its native
// (node-rdkafka-like, callback) API: Producer.produce per record + delivery reports, and
// sendOffsetsToTransaction with a KafkaConsumer as the source of the group metadata. Its
// KafkaJS-compatible API is slower here (an extra promise layer per send) and its sendOffsets /
// commit / abort have fixed 5 s timeouts.
// Standalone: `node bench/kafka-clients/node-rdkafka.mjs`; the client is resolved from its own
// install prefix (bench/kafka-clients/install.sh), never from the project's node_modules.
// Env: BENCH_BROKER (127.0.0.1:9092), BENCH_TOPIC (required: an existing 1-partition topic),
//   BENCH_RECORDS (1000000), BENCH_MODE (plain | txn), BENCH_GROUP (group id for the txn offset
//   commits), BENCH_PREFIX (install dir override), BENCH_WINDOW (max records produced but not yet
//   acknowledged, 50000), BENCH_TIMEOUT_S (watchdog, 600), BENCH_POLL (background | interval:
//   how delivery reports are served; default background = librdkafka's background thread, the
//   same as the client's KafkaJS-compatible API; interval = a 1 ms poll timer, like node-rdkafka).
// Prints exactly one JSON line on stdout; diagnostics go to stderr; exits non-zero on failure.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CLIENT = 'confluent';
const PKG = '@confluentinc/kafka-javascript';
const SEND_SIZE = 1000; // records per send (the relay's batch)
const TXN_SIZE = 10_000; // records per transaction in txn mode
const KEY = Buffer.from('bench-agent:/var/log/app.log'); // one stream's key, like the relay
const VALUE_SIZE = 100;

const log = (msg) => process.stderr.write(`[${CLIENT}] ${msg}\n`);
function fail(msg, err) {
  log(`FAILED: ${msg}${err ? `: ${err.stack || err.message || err}` : ''}`);
  process.exit(1);
}
process.on('unhandledRejection', (err) => fail('unhandled rejection', err));
process.on('uncaughtException', (err) => fail('uncaught exception', err));

function intEnv(name, def) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) fail(`${name} must be a positive integer, got '${raw}'`);
  return n;
}
const here = path.dirname(fileURLToPath(import.meta.url));
const broker = process.env.BENCH_BROKER || '127.0.0.1:9092';
const topic =
  process.env.BENCH_TOPIC || fail('BENCH_TOPIC is required (an existing 1-partition topic)');
const records = intEnv('BENCH_RECORDS', 1_000_000);
const mode = process.env.BENCH_MODE || 'plain';
if (mode !== 'plain' && mode !== 'txn') fail(`BENCH_MODE must be plain or txn, got '${mode}'`);
const group = process.env.BENCH_GROUP || `bench-clients-${CLIENT}`;
const prefix = path.resolve(
  process.env.BENCH_PREFIX || path.join(here, '../../.bench/kafka-clients', CLIENT),
);
const window = intEnv('BENCH_WINDOW', 50_000);
const timeoutS = intEnv('BENCH_TIMEOUT_S', 600);
const pollMode = process.env.BENCH_POLL || 'background';
if (pollMode !== 'background' && pollMode !== 'interval')
  fail(`BENCH_POLL must be background or interval`);

// A hung broker or client must not hang the benchmark. This ref'd timer also keeps the event loop
// alive while we wait for delivery reports (the client's poll timer is unref'd).
const watchdog = setTimeout(() => fail(`timed out after ${timeoutS}s`), timeoutS * 1000);

const require = createRequire(path.join(prefix, 'package.json'));
let Kafka, version;
try {
  Kafka = require(PKG);
  version = String(require(`${PKG}/package.json`).version).replace(/^v/, '');
} catch (err) {
  fail(`cannot load ${PKG} from ${prefix} (run bash bench/kafka-clients/install.sh)`, err);
}

// 100-byte ASCII values: a fixed pattern with the record index written into its first 10 bytes.
const TEMPLATE = Buffer.from(
  '0000000000 logrelay bench record '.padEnd(VALUE_SIZE, 'abcdefghijklmnopqrstuvwxyz0123456789'),
  'latin1',
);
if (TEMPLATE.length !== VALUE_SIZE) fail('bad value template');
function valueFor(i) {
  const b = Buffer.allocUnsafe(VALUE_SIZE);
  TEMPLATE.copy(b);
  b.write(String(i).padStart(10, '0'), 0, 10, 'latin1');
  return b;
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
const disconnectWithin = (client, name) =>
  Promise.race([
    cb2p((cb) => client.disconnect(cb)),
    new Promise((resolve) =>
      setTimeout(() => (log(`${name} disconnect timed out`), resolve()), 10_000).unref(),
    ),
  ]).catch((err) => log(`${name} disconnect: ${err.message || err}`));
await disconnectWithin(producer, 'producer');
if (consumer) await disconnectWithin(consumer, 'consumer');

const cpu = process.cpuUsage();
const result = {
  client: CLIENT,
  mode,
  records,
  seconds: +seconds.toFixed(3),
  connectSeconds: +connectSeconds.toFixed(3),
  cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(2),
  maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  version,
  librdkafka: Kafka.librdkafkaVersion,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
clearTimeout(watchdog);
process.exitCode = 0;
// If a native handle keeps the loop alive after disconnect, leave anyway.
setTimeout(() => {
  log('event loop still alive 3s after the report; exiting');
  process.exit(0);
}, 3000).unref();
