/**
 * The Kafka client comparison (issue 11, step 2): each candidate client produces the same
 * 1,000,000 records of 100 B (one key, one partition, acks=all) into a fresh topic of the test
 * bed's broker, plain (idempotent) and transactional (10,000 records and an offset commit per
 * transaction, as the exactly-once sink does), beside `kcat -P` in the same run.
 *
 * Each candidate runs in a process of its own (`bench/kafka-clients/<runner>.mjs`, one JSON line
 * on stdout): the two librdkafka bindings must never share a process, and @platformatic/kafka
 * needs Node ≥ 22.22. The candidates are not dependencies of logrelay: `install.sh` builds them
 * into `.bench/` (from the npm registry and Debian's -dev packages) the first time.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchBroker, benchTopic } from './kafka.js';

export interface ClientRun {
  client: string;
  mode: 'plain' | 'txn';
  records: number;
  seconds: number;
  connectSeconds?: number;
  cpuSeconds: number;
  maxRssMb: number;
  version?: string;
  /** Records a read_committed consumer finds in the topic afterwards. */
  landed: number;
}

export interface ClientFailure {
  client: string;
  mode: 'plain' | 'txn';
  error: string;
}

interface Candidate {
  /** Shown in the table. */
  name: string;
  runner: string;
  env?: Record<string, string>;
  /** The node binary to run it with; undefined = this process's. */
  node?: () => string | undefined;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const runners = join(root, 'bench', 'kafka-clients');

/** Node 24 from the npm package `node@24`, as install.sh puts it. */
function node24(): string | undefined {
  const candidates = [
    join(root, '.bench', 'node24', 'node_modules', 'node', 'bin', 'node'),
    join(root, '.bench', 'node24', 'bin', 'node'),
  ];
  return candidates.find((p) => existsSync(p));
}

export const CANDIDATES: readonly Candidate[] = [
  { name: 'kafkajs', runner: 'kafkajs.mjs', env: { BENCH_ENCODER: 'kafkajs' } },
  { name: 'kafkajs+encoder', runner: 'kafkajs.mjs', env: { BENCH_ENCODER: 'logrelay' } },
  { name: 'node-rdkafka', runner: 'librdkafka.mjs', env: { BENCH_CLIENT: 'node-rdkafka' } },
  { name: 'confluent', runner: 'librdkafka.mjs', env: { BENCH_CLIENT: 'confluent' } },
  { name: 'platformatic', runner: 'platformatic.mjs', node: node24 },
];

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr
      .setEncoding('utf8')
      .on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: String(err) });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Builds the candidates into .bench/ when missing; false (with the reason said) on failure. */
export async function installCandidates(say: (msg: string) => void): Promise<boolean> {
  const started = Date.now();
  const out = await run('bash', [join(runners, 'install.sh')], process.env, 30 * 60_000);
  if (out.code !== 0) {
    say(
      `candidate install failed (${out.code}): ${out.stderr.trim().split('\n').slice(-5).join(' | ')}`,
    );
    return false;
  }
  say(`candidates ready in ${Math.round((Date.now() - started) / 1000)} s`);
  return true;
}

/** Records a read_committed consumer reads from `topic` (kcat). */
async function landed(topic: string): Promise<number> {
  const out = await run(
    'bash',
    [
      '-c',
      `kcat -C -b '${benchBroker}' -t '${topic}' -o beginning -e -q -X isolation.level=read_committed -f 'x\\n' | wc -l`,
    ],
    process.env,
    120_000,
  );
  return Number(out.stdout.trim());
}

/** One candidate in one mode, into a fresh one-partition topic. */
export async function runCandidate(
  candidate: Candidate,
  mode: 'plain' | 'txn',
  records: number,
  topics: string[],
  timeoutMs: number,
): Promise<ClientRun | ClientFailure> {
  const node = candidate.node ? candidate.node() : process.execPath;
  if (!node) return { client: candidate.name, mode, error: 'its Node runtime is not installed' };
  const topic = await benchTopic(`client-${candidate.name.replace(/[^a-z0-9]/gi, '')}-${mode}`);
  topics.push(topic);
  const env = {
    ...process.env,
    ...candidate.env,
    BENCH_BROKER: benchBroker,
    BENCH_TOPIC: topic,
    BENCH_RECORDS: String(records),
    BENCH_MODE: mode,
    BENCH_GROUP: `${topic}-group`,
  };
  const out = await run(node, [join(runners, candidate.runner)], env, timeoutMs);
  const last = out.stdout.trim().split('\n').pop() ?? '';
  if (out.code !== 0 || !last.startsWith('{')) {
    const why = out.stderr.trim().split('\n').slice(-3).join(' | ');
    return { client: candidate.name, mode, error: `exit ${out.code}: ${why}` };
  }
  const result = JSON.parse(last) as Omit<ClientRun, 'landed' | 'client'>;
  return { ...result, client: candidate.name, mode, landed: await landed(topic) };
}
