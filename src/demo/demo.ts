import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  appendFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  writeFile,
} from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent } from '../agent/agent.js';
import { agentConfigSchema } from '../agent/config.js';
import { validateConfig } from '../common/config/load-config.js';
import { createLogger } from '../common/logging/logger.js';
import type { Batch } from '../common/wire/index.js';
import { Progress } from '../common/progress/progress.js';

/** What `logrelay demo` measured; printed as one JSON object with `--json`. */
export interface DemoSummary {
  written: number;
  delivered: number;
  missing: number;
  duplicated: number;
  p50Ms: number;
  p99Ms: number;
  output: string;
  seconds: number;
}

export interface DemoOptions {
  /** Lines each simulated application writes. Default 25000. */
  linesPerFile: number;
  /** Keep the working folder (logs, output). Default: kept, so the output can be looked at. */
  dir?: string;
  /** Print progress while running (to stderr). */
  progress: boolean;
}

const bin = fileURLToPath(new URL('../../bin/logrelay.js', import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`collector on port ${port} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startCollector(
  dir: string,
  id: string,
  out: string,
): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const config = join(dir, `${id}.yaml`);
  await writeFile(
    config,
    [
      `id: ${id}`,
      `listen: { host: 127.0.0.1, port: ${port}, drainTimeoutMs: 5000 }`,
      `sinks: [{ type: file, name: out, directory: ${JSON.stringify(out)}, fsync: true }]`,
      `log: { level: warn }`,
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [bin, 'collector', '-c', config], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForPort(port, 15_000);
  return { port, child };
}

/** Every line of every file under `dir`. */
async function outputLines(dir: string): Promise<string[]> {
  const lines: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (!e.isFile()) continue;
    const text = await readFile(join(e.parentPath, e.name), 'utf8');
    const parts = text.split('\n');
    parts.pop();
    for (const line of parts) lines.push(line);
  }
  return lines;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/**
 * The embedded default: simulated applications write unique lines to log files (with rename
 * rotation), two agents ship them to two collector processes writing to the file sink; midway
 * the first collector is stopped (SIGTERM) and the agents fail over to the second. At the end
 * the output is compared with what was written, line by line.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const started = Date.now();
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'logrelay-demo-')));
  const out = join(dir, 'out');
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const progress = new Progress(process.stderr, options.progress && process.stderr.isTTY === true);
  const say = (msg: string) => {
    if (options.progress) progress.log(msg);
  };

  say(`logrelay demo in ${dir}`);
  const c1 = await startCollector(dir, 'collector-1', out);
  const c2 = await startCollector(dir, 'collector-2', out);
  say(`collectors on 127.0.0.1:${c1.port} and 127.0.0.1:${c2.port}`);

  // Failover warnings are expected here; the summary tells the story.
  const log = createLogger({ level: 'error' });
  const latencies: number[] = [];
  const agents: Agent[] = [];
  const files: string[] = [];
  for (const name of ['web-1', 'web-2']) {
    const logs = join(dir, 'logs', name);
    await rm(logs, { recursive: true, force: true });
    await mkdir(logs, { recursive: true });
    files.push(join(logs, 'app.log'), join(logs, 'access.log'));
    const agent = new Agent(
      validateConfig(agentConfigSchema, {
        id: name,
        host: name,
        collectors: [`127.0.0.1:${c1.port}`, `127.0.0.1:${c2.port}`],
        tails: [{ paths: [join(logs, '*.log'), join(logs, '*.log.[0-9]')], topic: 'demo' }],
        scanIntervalMs: 250,
        pollIntervalMs: 20,
        batch: { maxWaitMs: 50 },
        lines: { partialFlushMs: 1000 },
        ship: { retryInitialMs: 100, retryMaxMs: 2000 },
        checkpoint: { path: join(dir, `${name}.registry.json`), flushIntervalMs: 200 },
        log: { level: 'error' },
      }),
      log,
    );
    agent.onCommitted = (batch: Batch) => {
      const now = Date.now();
      let at = 0;
      for (const length of batch.lineLengths) {
        const line = batch.lines.subarray(at, at + length).toString('latin1');
        at += length;
        const t = Number(/ t=(\d+)/.exec(line)?.[1]);
        if (t) latencies.push(now - t);
      }
    };
    await agent.start();
    agents.push(agent);
  }

  // Simulated applications: each writes its lines in bursts, rotating (rename) every 5000 lines.
  let written = 0;
  const writtenLines: string[] = [];
  const rotateEvery = 5000;
  let stoppedCollector = false;
  const total = options.linesPerFile * files.length;
  const writer = async (file: string) => {
    for (let i = 0; i < options.linesPerFile; i += 250) {
      const chunk: string[] = [];
      for (let j = i; j < Math.min(i + 250, options.linesPerFile); j++) {
        chunk.push(
          `${file.split('/').slice(-2).join('/')} #${j} t=${Date.now()} ${'payload '.repeat(j % 8)}`,
        );
      }
      await appendFile(file, `${chunk.join('\n')}\n`);
      writtenLines.push(...chunk);
      written += chunk.length;
      if ((i + 250) % rotateEvery === 0) await rename(file, `${file}.1`).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  // Counted for the status line only: the summary reads the output again at the end.
  let shown = 0;
  progress.tick(
    () =>
      `written ${written}/${total}, delivered ${shown}` +
      (stoppedCollector ? ' (collector-1 stopped; agents failed over)' : ''),
  );
  // Reading the output costs the run some CPU: only done while someone watches.
  const counting = progress.live
    ? setInterval(() => void outputLines(out).then((lines) => (shown = lines.length)), 1000)
    : undefined;
  const writing = Promise.all(files.map(writer));
  // Midway, the first collector goes away; agents must move to the second without losing lines.
  while (written < total / 2) await new Promise((r) => setTimeout(r, 50));
  c1.child.kill('SIGTERM');
  stoppedCollector = true;
  say('stopping collector-1 (SIGTERM) midway');
  await writing;

  // Wait until every line is in the output (or give up after 60 s and report what is missing).
  const deadline = Date.now() + 60_000;
  let delivered: string[] = [];
  while (Date.now() < deadline) {
    delivered = await outputLines(out);
    if (delivered.length >= written) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  clearInterval(counting);
  progress.done();
  await new Promise((r) => setTimeout(r, 300));
  delivered = await outputLines(out);
  for (const agent of agents) await agent.stop();
  c2.child.kill('SIGTERM');
  await Promise.all(
    [c1.child, c2.child].map((c) => (c.exitCode === null ? once(c, 'exit') : undefined)),
  );

  const seen = new Map<string, number>();
  for (const l of delivered) seen.set(l, (seen.get(l) ?? 0) + 1);
  let missing = 0;
  let duplicated = 0;
  for (const l of writtenLines) {
    const n = seen.get(l) ?? 0;
    if (n === 0) missing++;
    else duplicated += n - 1;
  }
  latencies.sort((a, b) => a - b);
  return {
    written: writtenLines.length,
    delivered: delivered.length,
    missing,
    duplicated,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    output: out,
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
}
