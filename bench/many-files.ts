/**
 * Many files (issue 15 item 5): one agent tailing 10,000 files, 1,000 of them receiving appends
 * at a steady rate, into a collector child process with a null sink (as the relay phase runs
 * it, from dist/). The agent runs in this process; the appends come from a writer child process,
 * so this process's descriptors and memory are the agent's (and the bench's small harness).
 *
 * A run: the files are made with a small backlog each (their first line names the file, so no
 * two files look like copies of each other); the agent starts and reads every backlog (the
 * pickup: until every line is acknowledged); then the writer appends to the active files at the
 * given rate for a while, and the run ends when every line written is acknowledged. Sampled
 * every 100 ms: resident memory, this process's descriptors (all, and those on the log files),
 * the agent's open-files and waiting gauges. The same run on one file (the whole backlog in it,
 * every append to it) is the single-file figure beside it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent } from '../src/agent/agent.js';
import { agentConfigSchema } from '../src/agent/config.js';
import { validateConfig } from '../src/common/config/load-config.js';
import { createLogger } from '../src/common/logging/logger.js';
import { LINE_BYTES } from './file.js';
import { liveChildren, startCollector, stopChild } from './relay.js';

export interface ManyFilesOptions {
  files: number;
  /** Files receiving appends during the steady part. */
  active: number;
  /** Lines in each file before the agent starts. */
  linesPerFile: number;
  /** Lines per second appended, over all active files. */
  linesPerSec: number;
  /** How long the writer appends, in seconds. */
  seconds: number;
  /** files.maxOpenFiles (undefined: the default). */
  maxOpenFiles: number | undefined;
  /** ship.window (undefined: the default). */
  window?: number | undefined;
  /** Cap on the run after the agent's start, in ms. */
  timeoutMs: number;
}

export interface ManyFilesResult {
  files: number;
  active: number;
  maxOpenFiles: number;
  backlogLines: number;
  /** Agent start → every backlog line acknowledged (every file picked up and read), s. */
  pickupSeconds: number;
  pickupLinesPerSec: number;
  /** Lines the writer appended, and how long it took, s. */
  written: number;
  writeSeconds: number;
  /** Lines acknowledged while the writer ran, per second. */
  steadyLinesPerSec: number;
  /** Writer done → every appended line acknowledged, s. */
  catchUpSeconds: number;
  peakRssBytes: number;
  /** RSS at the end of the steady part. */
  endRssBytes: number;
  /** Descriptors of this process: peak, and median while the writer ran. */
  peakFds: number;
  steadyFds: number;
  /** Descriptors of this process on the log files (the agent's reads): peak and steady median. */
  peakLogFds: number;
  steadyLogFds: number;
  /** Most files waiting for a descriptor at once (the agent's gauge). */
  peakWaiting: number;
  complete: boolean;
}

/** Appends `perRound` 100-byte lines to each file every 100 ms for `seconds`; prints the count. */
const WRITER = `
const { appendFileSync } = require('node:fs');
const [paths, perSec, seconds, lineBytes] = JSON.parse(process.argv[1]);
const line = (p, n) => { const s = p.slice(-24) + ' seq=' + n + ' '; return s + 'x'.repeat(lineBytes - 1 - s.length) + '\\n'; };
let written = 0, seq = 0;
const started = Date.now();
const round = () => {
  const elapsed = (Date.now() - started) / 1000;
  if (elapsed >= seconds) { process.stdout.write(JSON.stringify({ written, seconds: elapsed })); return; }
  const due = perSec * Math.min(elapsed + 0.1, seconds) - written;
  const each = Math.floor(due / paths.length);
  if (each > 0) {
    for (const p of paths) {
      let text = '';
      for (let i = 0; i < each; i++) text += line(p, seq++);
      appendFileSync(p, text);
    }
    written += each * paths.length;
  }
  setTimeout(round, 100);
};
round();
`;

let runs = 0;

function fdCounts(logs: string): { all: number; logs: number } {
  let all = 0;
  let onLogs = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    all++;
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${logs}/`)) onLogs++;
    } catch {
      // closed meanwhile
    }
  }
  return { all, logs: onLogs };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.floor(s.length / 2)] as number);
}

export async function benchManyFiles(dir: string, o: ManyFilesOptions): Promise<ManyFilesResult> {
  const run = ++runs;
  const logs = join(dir, `many-${run}`);
  await mkdir(logs, { recursive: true });
  const paths = Array.from({ length: o.files }, (_, i) =>
    join(logs, `f${String(i).padStart(5, '0')}.log`),
  );
  for (const p of paths) {
    let text = '';
    for (let i = 0; i < o.linesPerFile; i++) {
      const s = `${p} backlog ${i} `;
      text += `${s}${'x'.repeat(Math.max(0, LINE_BYTES - 1 - s.length))}\n`;
    }
    writeFileSync(p, text);
  }
  const backlogLines = o.files * o.linesPerFile;
  const { child, address } = await startCollector(dir, 30_000, {
    sink: { type: 'null', name: 'discard' },
    topic: 'bench',
  });
  let agent: Agent | undefined;
  let sampler: NodeJS.Timeout | undefined;
  try {
    agent = new Agent(
      validateConfig(
        agentConfigSchema,
        {
          id: `bench-many-${process.pid}-${run}`,
          host: 'bench-host',
          collectors: [address],
          tails: [{ paths: [join(logs, '*.log')], topic: 'bench' }],
          checkpoint: { path: join(dir, `many-${run}.registry.json`) },
          ...(o.maxOpenFiles !== undefined ? { files: { maxOpenFiles: o.maxOpenFiles } } : {}),
          ...(o.window !== undefined ? { ship: { window: o.window } } : {}),
        },
        'bench agent',
      ),
      createLogger({ level: 'warn', name: 'bench-agent' }),
    );
    const a = agent;
    let acked = 0;
    a.onCommitted = (batch) => {
      acked += batch.lineLengths.length;
    };
    let peakRss = process.memoryUsage.rss();
    let peakFds = 0;
    let peakLogFds = 0;
    let peakWaiting = 0;
    let steady: { fds: number[]; logFds: number[] } | undefined;
    sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      const fds = fdCounts(logs);
      peakFds = Math.max(peakFds, fds.all);
      peakLogFds = Math.max(peakLogFds, fds.logs);
      peakWaiting = Math.max(peakWaiting, a.files.waiting);
      steady?.fds.push(fds.all);
      steady?.logFds.push(fds.logs);
    }, 100);
    const deadline = Date.now() + o.timeoutMs;
    const until = async (done: () => boolean) => {
      while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      return done();
    };

    const started = process.hrtime.bigint();
    await a.start();
    const pickedUp = await until(() => acked >= backlogLines);
    const pickupSeconds = Number(process.hrtime.bigint() - started) / 1e9;

    steady = { fds: [], logFds: [] };
    const ackedBefore = acked;
    const writer = spawn(
      process.execPath,
      [
        '-e',
        WRITER,
        JSON.stringify([paths.slice(0, o.active), o.linesPerSec, o.seconds, LINE_BYTES]),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    liveChildren.add(writer);
    let out = '';
    writer.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    const writeStarted = process.hrtime.bigint();
    await once(writer, 'exit');
    liveChildren.delete(writer);
    const writeSeconds = Number(process.hrtime.bigint() - writeStarted) / 1e9;
    const ackedDuring = acked - ackedBefore;
    const endRss = process.memoryUsage.rss();
    const steadyFds = median(steady.fds);
    const steadyLogFds = median(steady.logFds);
    steady = undefined;
    const { written } = JSON.parse(out || '{"written":0}') as { written: number };
    const caughtUpFrom = process.hrtime.bigint();
    const caughtUp = await until(() => acked >= backlogLines + written);
    const catchUpSeconds = Number(process.hrtime.bigint() - caughtUpFrom) / 1e9;
    return {
      files: o.files,
      active: o.active,
      maxOpenFiles: a.files.max,
      backlogLines,
      pickupSeconds,
      pickupLinesPerSec: backlogLines / pickupSeconds,
      written,
      writeSeconds,
      steadyLinesPerSec: ackedDuring / writeSeconds,
      catchUpSeconds,
      peakRssBytes: peakRss,
      endRssBytes: endRss,
      peakFds,
      steadyFds,
      peakLogFds,
      steadyLogFds,
      peakWaiting,
      complete: pickedUp && caughtUp && written > 0,
    };
  } finally {
    clearInterval(sampler);
    if (agent) await agent.stop().catch(() => undefined);
    await stopChild(child, 5000);
    await rm(logs, { recursive: true, force: true });
  }
}
