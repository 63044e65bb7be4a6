// What every client runner of the Kafka client bench shares: its settings (from the
// environment), failing loudly, the records, loading a candidate from its own install prefix,
// and the one JSON line of the result. See bench/kafka-clients.ts for the contract.
//
// Env: BENCH_BROKER (127.0.0.1:9092), BENCH_TOPIC (required: an existing 1-partition topic),
//   BENCH_RECORDS (1000000), BENCH_MODE (plain | txn), BENCH_GROUP (group id for the txn offset
//   commits), BENCH_PREFIX (install dir override), BENCH_WINDOW (max records produced but not
//   yet acknowledged, 50000), BENCH_TIMEOUT_S (watchdog, 600).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SEND_SIZE = 1000; // records per send (the relay's request of those days)
export const TXN_SIZE = 10_000; // records per transaction in txn mode (an agent batch)
export const KEY_TEXT = 'bench-agent:/var/log/app.log'; // one stream's key, like the relay
export const KEY = Buffer.from(KEY_TEXT);
export const VALUE_SIZE = 100;

export const here = path.dirname(fileURLToPath(import.meta.url));

/** Logging to stderr and failing (exit 1) for the runner of `client`. */
export function reporter(client) {
  const log = (msg) => process.stderr.write(`[${client}] ${msg}\n`);
  const fail = (msg, err) => {
    log(`FAILED: ${msg}${err ? `: ${err.stack || err.message || err}` : ''}`);
    if (err?.errors) for (const e of err.errors) log(`  caused by: ${e.stack || e.message || e}`);
    process.exit(1);
  };
  process.on('unhandledRejection', (err) => fail('unhandled rejection', err));
  process.on('uncaughtException', (err) => fail('uncaught exception', err));
  return { log, fail };
}

/** The run's settings; `client` names the default install prefix and consumer group. */
export function settings(client, fail) {
  const intEnv = (name, def) => {
    const raw = process.env[name];
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n <= 0) fail(`${name} must be a positive integer, got '${raw}'`);
    return n;
  };
  const mode = process.env.BENCH_MODE || 'plain';
  if (mode !== 'plain' && mode !== 'txn') fail(`BENCH_MODE must be plain or txn, got '${mode}'`);
  return {
    intEnv,
    broker: process.env.BENCH_BROKER || '127.0.0.1:9092',
    topic:
      process.env.BENCH_TOPIC || fail('BENCH_TOPIC is required (an existing 1-partition topic)'),
    records: intEnv('BENCH_RECORDS', 1_000_000),
    mode,
    group: process.env.BENCH_GROUP || `bench-clients-${client}`,
    prefix: path.resolve(
      process.env.BENCH_PREFIX || path.join(here, '../../.bench/kafka-clients', client),
    ),
    window: intEnv('BENCH_WINDOW', 50_000),
    timeoutS: intEnv('BENCH_TIMEOUT_S', 600),
  };
}

/** A `require` resolving from the candidate's install prefix, never the project's modules. */
export function prefixRequire(prefix) {
  return createRequire(path.join(prefix, 'package.json'));
}

// 100-byte ASCII values: a fixed pattern with the record index written into its first 10 bytes.
const TEMPLATE = Buffer.from(
  '0000000000 logrelay bench record '.padEnd(VALUE_SIZE, 'abcdefghijklmnopqrstuvwxyz0123456789'),
  'latin1',
);

export function valueFor(i) {
  const b = Buffer.allocUnsafe(VALUE_SIZE);
  TEMPLATE.copy(b);
  b.write(String(i).padStart(10, '0'), 0, 10, 'latin1');
  return b;
}

/** Prints the result line (CPU and peak RSS of this process added) and leaves. */
export function report(result) {
  const cpu = process.cpuUsage();
  process.stdout.write(
    `${JSON.stringify({
      ...result,
      seconds: +result.seconds.toFixed(3),
      connectSeconds: +result.connectSeconds.toFixed(3),
      cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(2),
      maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    })}\n`,
  );
  process.exitCode = 0;
  // If a native handle or socket keeps the loop alive after disconnect, leave anyway.
  setTimeout(() => process.exit(0), 3000).unref();
}

/** Waits for `closing` (a client's disconnect) at most 10 s, logging a timeout or failure. */
export function closeWithin(closing, name, log) {
  return Promise.race([
    closing,
    new Promise((resolve) =>
      setTimeout(() => (log(`${name} close timed out`), resolve()), 10_000).unref(),
    ),
  ]).catch((err) => log(`${name} close: ${err.message || err}`));
}
