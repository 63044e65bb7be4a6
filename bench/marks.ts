/**
 * `npm run bench:marks`: collector memory after many rotated streams (issue 12 #15).
 *
 * Simulated agents, in-process: AGENTS agents each tail one file that rotates every simulated
 * second; every generation is a new stream and gets two batches through the collector's
 * BatchProcessor (dedup marks, order state, routing) into a null sink. The processor's clock is
 * simulated, so `supersededStreamIdleMs` (default 60 s) passes without waiting. RSS is printed
 * after the warm-up and then every STEP streams, with the marks held; the target is a flat
 * curve under 300 MB.
 *
 * Environment: BENCH_MARKS_STREAMS (default 200000), BENCH_MARKS_AGENTS (default 500).
 * Run with `node --expose-gc` (the npm script does) so RSS is read after a full collection.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { createLogger } from '../src/common/logging/logger.js';
import { HighWaterMarks } from '../src/collector/dedup/high-water-marks.js';
import { Router } from '../src/collector/routing/router.js';
import { BatchProcessor } from '../src/collector/server/batch-processor.js';
import { NullSink } from '../src/collector/sinks/null/null-sink.js';
import type { Sink } from '../src/collector/sinks/sink.js';
import type { Batch } from '../src/common/wire/index.js';

const STREAMS = Number(process.env['BENCH_MARKS_STREAMS'] ?? 200_000);
const AGENTS = Number(process.env['BENCH_MARKS_AGENTS'] ?? 500);
const WARMUP = Math.min(20_000, Math.floor(STREAMS / 10));
const STEP = Math.max(1, Math.floor(STREAMS / 10));

const registry = new Registry();
const counter = (name: string, labelNames: string[]) =>
  new Counter({ name, help: name, labelNames, registers: [registry] });
const log = createLogger({ level: 'silent' });
const sink = new NullSink(
  { type: 'null', name: 'null' } as ConstructorParameters<typeof NullSink>[0],
  { log, registry, collectorId: 'bench' },
);
await sink.start();
const marks = new HighWaterMarks();
let now = 0;
const processor = new BatchProcessor(
  {
    maxBatchBytes: 1 << 20,
    maxBatchLines: 10_000,
    maxInFlightBytes: 1 << 30,
    retryAfterMs: 100,
    busyRetryAfterMs: 100,
    now: () => now,
  },
  new Router([], ['null']),
  new Map<string, Sink>([['null', sink]]),
  marks,
  log,
  {
    batches: counter('b', ['result']),
    lines: counter('l', ['result']),
    bytes: counter('y', ['result']),
    duplicates: counter('d', ['sink']),
    sinkSeconds: new Histogram({ name: 's', help: 's', labelNames: ['sink'], registers: [] }),
    sinkErrors: counter('e', ['sink', 'code']),
    sinkLines: counter('cl', ['sink']),
    sinkBytes: counter('cb', ['sink']),
    limitHits: counter('h', ['limit']),
    throttled: counter('t', ['scope', 'name', 'action']),
  },
);

const line = Buffer.from(
  '2026-12-07T13:00:00.000Z INFO request served in 12 ms path=/api/v1/items',
);

function batch(agent: number, generation: number, start: number, seq: number): Batch {
  const lines = Buffer.concat([line, line, line, line]);
  return {
    agentId: `bench-agent-${agent}`,
    seq,
    stream: {
      host: `host-${agent}`,
      path: `/var/log/app/service-${agent}.log`,
      keyPath: '',
      device: 2049,
      inode: 1_000_000 + generation,
      fingerprint: `${agent.toString(16)}-${generation.toString(16)}`,
      generation: 0,
    },
    topic: 'app',
    startOffset: start,
    endOffset: start + lines.length + 4,
    lines,
    lineLengths: [line.length, line.length, line.length, line.length],
    terminatorLengths: [],
    truncatedBytes: [],
    readTimeMs: Date.now(),
    sourceLengths: [],
    skippedBefore: [],
    skippedAfter: 0,
    fields: {},
  };
}

function rssMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Math.round(process.memoryUsage().rss / 2 ** 20);
}

const perBatch = 4 * (line.length + 1);
let streams = 0;
let warm: number | undefined;
const rows: string[] = [];
for (let generation = 0; streams < STREAMS; generation++) {
  // One simulated second per rotation of every agent's file.
  now = generation * 1000;
  const round: Promise<unknown>[] = [];
  for (let agent = 0; agent < AGENTS && streams < STREAMS; agent++, streams++) {
    round.push(
      processor
        .process(batch(agent, generation, 0, 1))
        .then(() => processor.process(batch(agent, generation, perBatch, 2))),
    );
  }
  await Promise.all(round);
  const report = (label: string) =>
    rows.push(
      `${label.padEnd(10)} streams=${String(streams).padStart(7)}  rss=${String(rssMb()).padStart(4)} MB  ` +
        `marks=${marks.size}  tracked=${processor.streamsTracked}`,
    );
  if (warm === undefined && streams >= WARMUP) {
    warm = rssMb();
    report('warm-up');
  } else if (streams % STEP < AGENTS || streams >= STREAMS) report(streams >= STREAMS ? 'end' : '');
}
await sink.stop();
console.log(`collector state after ${STREAMS} rotated streams from ${AGENTS} simulated agents`);
for (const row of rows) console.log(row);
const end = rssMb();
console.log(`RSS after warm-up ${warm ?? 0} MB, at the end ${end} MB (target: flat, under 300 MB)`);
