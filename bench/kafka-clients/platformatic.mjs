// Client runner of the Kafka client bench: @platformatic/kafka (pure JavaScript). It needs Node
// >= 22.22 or >= 24.6: run it with the Node 24 binary that bench/kafka-clients/install.sh
// installs, e.g. .bench/node24/node_modules/node/bin/node bench/kafka-clients/platformatic.mjs.
// Env: those of common.mjs, and BENCH_TXN_RETRY_DELAY_MS (retry delay of the transaction
//   coordinator's requests, 20; the client's default for every retry is 1000).
// Prints exactly one JSON line on stdout; diagnostics go to stderr; exits non-zero on failure.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  KEY,
  closeWithin,
  SEND_SIZE,
  TXN_SIZE,
  here,
  prefixRequire,
  report,
  reporter,
  settings,
  valueFor,
} from './common.mjs';

const CLIENT = 'platformatic';
const PKG = '@platformatic/kafka';
const { log, fail } = reporter(CLIENT);
const { intEnv, broker, topic, records, mode, group, prefix, window, timeoutS } = settings(
  CLIENT,
  fail,
);
const maxSends = Math.max(1, Math.ceil(window / SEND_SIZE));
const txnRetryDelayMs = intEnv('BENCH_TXN_RETRY_DELAY_MS', 20);

const [major, minor] = process.versions.node.split('.').map(Number);
if (!((major === 22 && minor >= 22) || (major === 24 && minor >= 6) || major > 24)) {
  const node24 = path.join(here, '../../.bench/node24/node_modules/node/bin/node');
  fail(`${PKG} needs Node >= 22.22 or >= 24.6, this is ${process.version}; run it with ${node24}`);
}

const watchdog = setTimeout(() => fail(`timed out after ${timeoutS}s`), timeoutS * 1000);

let Producer, Consumer, ProduceAcks, version;
try {
  const require = prefixRequire(prefix);
  ({ Producer, Consumer, ProduceAcks } = await import(pathToFileURL(require.resolve(PKG)).href));
  version = JSON.parse(
    readFileSync(path.join(prefix, 'node_modules', PKG, 'package.json'), 'utf8'),
  ).version;
} catch (err) {
  fail(`cannot load ${PKG} from ${prefix} (run bash bench/kafka-clients/install.sh)`, err);
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
await closeWithin(producer.close(), 'producer', log);
if (consumer) await closeWithin(consumer.close(), 'consumer', log);

clearTimeout(watchdog);
report({ client: CLIENT, mode, records, seconds, connectSeconds, version, librdkafka: null });
