/**
 * Latency of the Kafka path: lines appended to a file at a steady rate (10,000 lines/s by
 * default), each carrying the time it was written; the agent (default configuration, in this
 * process) ships them to a collector (child process) with a Kafka sink; kcat reads the topic
 * with `isolation.level=read_committed` as the records become visible, and each line's latency
 * is the time it was read minus the time it was written. Plain and exactly-once.
 */
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Agent } from '../src/agent/agent.js';
import { agentConfigSchema } from '../src/agent/config.js';
import { validateConfig } from '../src/common/config/load-config.js';
import { createLogger } from '../src/common/logging/logger.js';
import { benchBroker, benchTopic } from './kafka.js';
import { liveChildren, startCollector, stopChild } from './relay.js';

export interface LatencyResult {
  linesPerSec: number;
  seconds: number;
  written: number;
  /** Lines read back (each once). */
  received: number;
  /** Milliseconds from the write of a line to its read by a read_committed consumer. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

export async function benchLatency(
  dir: string,
  exactlyOnce: boolean,
  topics: string[],
  { linesPerSec = 10_000, seconds = 20 }: { linesPerSec?: number; seconds?: number } = {},
): Promise<LatencyResult> {
  const topic = await benchTopic(exactlyOnce ? 'latency-eos' : 'latency-plain');
  topics.push(topic);
  const runDir = join(dir, `latency-${exactlyOnce ? 'eos' : 'plain'}`);
  await import('node:fs/promises').then((fs) => fs.mkdir(runDir, { recursive: true }));
  const collector = await startCollector(runDir, 30_000, {
    topic,
    sink: {
      type: 'kafka',
      name: 'kafka',
      brokers: [benchBroker],
      clientId: 'logrelay-bench-latency',
      ...(exactlyOnce ? { exactlyOnce: true } : {}),
    },
  });
  const total = linesPerSec * seconds;
  const latencies = new Float64Array(total).fill(Number.NaN);
  let received = 0;
  const kcat = spawn(
    'kcat',
    [
      '-C',
      '-b',
      benchBroker,
      '-t',
      topic,
      '-o',
      'beginning',
      '-u',
      '-q',
      '-X',
      'isolation.level=read_committed',
      '-X',
      'fetch.wait.max.ms=10',
      '-f',
      '%s\n',
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  liveChildren.add(kcat);
  createInterface({ input: kcat.stdout }).on('line', (line) => {
    const now = Date.now();
    const m = /^L(\d+) (\d+) /.exec(line);
    if (!m) return;
    const seq = Number(m[1]);
    if (seq < total && Number.isNaN(latencies[seq])) {
      latencies[seq] = now - Number(m[2]);
      received++;
    }
  });
  const path = join(runDir, 'app.log');
  const file = await open(path, 'a');
  const agent = new Agent(
    validateConfig(
      agentConfigSchema,
      {
        id: `bench-latency-${process.pid}-${exactlyOnce ? 'eos' : 'plain'}`,
        host: 'bench-host',
        collectors: [collector.address],
        tails: [{ paths: [path], topic }],
        checkpoint: { path: join(runDir, 'agent.registry.json') },
      },
      'bench agent',
    ),
    createLogger({ level: 'warn', name: 'bench-latency-agent' }),
  );
  try {
    await agent.start();
    // Ticks of 10 ms, each appending what the rate owes by then: a steady stream, not bursts.
    const started = Date.now();
    let written = 0;
    const pad = 'x'.repeat(64);
    while (written < total) {
      const due = Math.min(total, Math.floor(((Date.now() - started) * linesPerSec) / 1000));
      if (due > written) {
        const now = Date.now();
        let chunk = '';
        for (; written < due; written++) chunk += `L${written} ${now} ${pad}\n`;
        await file.write(chunk);
      }
      await sleep(10);
    }
    const writingSec = (Date.now() - started) / 1000;
    const deadline = Date.now() + 30_000;
    while (received < total && Date.now() < deadline) await sleep(100);
    const got = latencies.filter((v) => !Number.isNaN(v)).sort();
    return {
      linesPerSec,
      seconds: writingSec,
      written: total,
      received,
      p50Ms: percentile(got, 0.5),
      p99Ms: percentile(got, 0.99),
      maxMs: got.length > 0 ? (got[got.length - 1] as number) : Number.NaN,
    };
  } finally {
    await agent.stop().catch(() => undefined);
    await file.close().catch(() => undefined);
    kcat.kill('SIGTERM');
    await stopChild(collector.child, 5000);
  }
}
