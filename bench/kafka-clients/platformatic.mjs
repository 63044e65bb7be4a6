// Kafka client benchmark runner: @platformatic/kafka (pure JavaScript). It needs Node >= 22.22 or
// >= 24.6: run it with the Node 24 binary that bench/kafka-clients/install.sh installs, e.g.
//   .bench/node24/node_modules/node/bin/node bench/kafka-clients/platformatic.mjs
// The client is resolved from its own install prefix, never from the project's node_modules.
// Env: BENCH_BROKER (127.0.0.1:9092), BENCH_TOPIC (required: an existing 1-partition topic),
//   BENCH_RECORDS (1000000), BENCH_MODE (plain | txn), BENCH_GROUP (group id for the txn offset
//   commits), BENCH_PREFIX (install dir override), BENCH_WINDOW (max records sent but not yet
//   acknowledged, 50000), BENCH_TIMEOUT_S (watchdog, 600), BENCH_TXN_RETRY_DELAY_MS (retry delay
//   of the transaction-coordinator requests, 20; the client's default for every retry is 1000).
// Prints exactly one JSON line on stdout; diagnostics go to stderr; exits non-zero on failure.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const CLIENT = 'platformatic';
const PKG = '@platformatic/kafka';
const SEND_SIZE = 1000; // records per send (the relay's batch)
const TXN_SIZE = 10_000; // records per transaction in txn mode
const KEY = Buffer.from('bench-agent:/var/log/app.log'); // one stream's key, like the relay
const VALUE_SIZE = 100;

const log = (msg) => process.stderr.write(`[${CLIENT}] ${msg}\n`);
function fail(msg, err) {
  log(`FAILED: ${msg}${err ? `: ${err.stack || err.message || err}` : ''}`);
  if (err?.errors) for (const e of err.errors) log(`  caused by: ${e.stack || e.message || e}`);
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
const maxSends = Math.max(1, Math.ceil(intEnv('BENCH_WINDOW', 50_000) / SEND_SIZE));
const timeoutS = intEnv('BENCH_TIMEOUT_S', 600);
const txnRetryDelayMs = intEnv('BENCH_TXN_RETRY_DELAY_MS', 20);

const [major, minor] = process.versions.node.split('.').map(Number);
if (!((major === 22 && minor >= 22) || (major === 24 && minor >= 6) || major > 24)) {
  const node24 = path.join(here, '../../.bench/node24/node_modules/node/bin/node');
  fail(`${PKG} needs Node >= 22.22 or >= 24.6, this is ${process.version}; run it with ${node24}`);
}

const watchdog = setTimeout(() => fail(`timed out after ${timeoutS}s`), timeoutS * 1000);

let Producer, Consumer, ProduceAcks, version;
try {
  const require = createRequire(path.join(prefix, 'package.json'));
  ({ Producer, Consumer, ProduceAcks } = await import(pathToFileURL(require.resolve(PKG)).href));
  version = JSON.parse(
    readFileSync(path.join(prefix, 'node_modules', PKG, 'package.json'), 'utf8'),
  ).version;
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
const tick = () => new Promise((resolve) => setImmediate(resolve));

// --- clients ------------------------------------------------------------------------------------
const TXN_OPERATIONS = new Set([
  'addPartitionsToTransaction',
  'addOffsetsToTransaction',
  'commit',
  'endTransaction',
]);
const transactionalId = `bench-${CLIENT}-${randomUUID()}`;
const producer = new Producer({
  clientId: `bench-${CLIENT}`,
  bootstrapBrokers: [broker],
  idempotent: true,
  acks: ProduceAcks.ALL, // the default without idempotence would be acks=1; set explicitly
  compression: 'none',
  ...(mode === 'txn' ? { transactionalId } : {}),
  // Right after a commit the coordinator is still writing the previous transaction's markers and
  // answers the next transaction's first AddPartitionsToTxn with CONCURRENT_TRANSACTIONS (about
  // every other transaction here). With the client's one retry delay for everything (1000 ms)
  // that alone costs 0.3-0.5 s per transaction (1M records: 20-38k records/s instead of
  // 140-155k). The Java client and librdkafka retry that case after ~20 ms; do the same for the
  // transaction requests (AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit = 'commit', EndTxn)
  // and keep 1000 ms for everything else.
  retryDelay: (_client, operationId) => (TXN_OPERATIONS.has(operationId) ? txnRetryDelayMs : 1000),
});
let consumer = null; // txn mode: only a source of consumer-group identity for the offset commits
let offsetOwner = null; // what addOffset needs of a consumed message's metadata

const connectStart = performance.now();
let transaction = null;
try {
  await producer.metadata({ topics: [topic] });
  if (mode === 'plain') {
    await producer.initIdempotentProducer({});
  } else {
    consumer = new Consumer({
      clientId: `bench-${CLIENT}-offsets`,
      bootstrapBrokers: [broker],
      groupId: group,
    });
    const coordinatorId = await consumer.findGroupCoordinator();
    // Not a group member: commit as a "simple" (standalone) committer, generation -1, no member id.
    offsetOwner = { consumer: { groupId: group, generationId: -1, memberId: '', coordinatorId } };
    // The first beginTransaction finds the transaction coordinator and runs InitProducerId (the
    // equivalent of librdkafka's initTransactions); later ones are local.
    transaction = await producer.beginTransaction();
  }
} catch (err) {
  fail(`connect to ${broker}`, err);
}
const connectSeconds = (performance.now() - connectStart) / 1000;
log(
  `connected in ${connectSeconds.toFixed(3)}s; mode=${mode} records=${records} node=${process.version}`,
);

// --- produce ------------------------------------------------------------------------------------
let sent = 0;
let acked = 0;
const pending = []; // in-flight sends, oldest first (they complete in order on one connection)
function makeMessages(count) {
  const messages = new Array(count);
  for (let j = 0; j < count; j++)
    messages[j] = { topic, partition: 0, key: KEY, value: valueFor(sent + j) };
  return messages;
}
async function send(target, count) {
  const p = target.send({ messages: makeMessages(count) }).then(() => {
    acked += count;
  });
  sent += count;
  pending.push(p);
  if (pending.length >= maxSends) await pending.shift();
  else await tick();
}
async function drain() {
  while (pending.length > 0) await pending.shift();
}

const t0 = performance.now();
try {
  if (mode === 'plain') {
    while (sent < records) await send(producer, Math.min(SEND_SIZE, records - sent));
    await drain();
  } else {
    let transactions = 0;
    while (sent < records) {
      transaction ??= await producer.beginTransaction();
      const txnEnd = Math.min(sent + TXN_SIZE, records);
      while (sent < txnEnd) await send(transaction, Math.min(SEND_SIZE, txnEnd - sent));
      await drain();
      await transaction.addConsumer(consumer);
      // addOffset commits message.offset + 1: the next record to read = records sent so far.
      // The client sends no offset metadata string (it passes null).
      await transaction.addOffset({
        topic,
        partition: 0,
        offset: BigInt(sent - 1),
        metadata: offsetOwner,
      });
      await transaction.commit();
      transaction = null;
      transactions++;
    }
    log(`committed ${transactions} transactions`);
  }
} catch (err) {
  fail(`producing (sent=${sent}, acked=${acked})`, err);
}
const seconds = (performance.now() - t0) / 1000;
if (acked !== records) fail(`acked ${acked} of ${records}`);
log(
  `${records} records acknowledged in ${seconds.toFixed(3)}s (${Math.round(records / seconds)} records/s)`,
);

// --- close and report ---------------------------------------------------------------------------
const closeWithin = (client, name) =>
  Promise.race([
    client.close(),
    new Promise((resolve) =>
      setTimeout(() => (log(`${name} close timed out`), resolve()), 10_000).unref(),
    ),
  ]).catch((err) => log(`${name} close: ${err.message || err}`));
await closeWithin(producer, 'producer');
if (consumer) await closeWithin(consumer, 'consumer');

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
  librdkafka: null,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
clearTimeout(watchdog);
process.exitCode = 0;
setTimeout(() => {
  log('event loop still alive 3s after the report; exiting');
  process.exit(0);
}, 3000).unref();
