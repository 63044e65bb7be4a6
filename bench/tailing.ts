/**
 * Tailing without network: how fast the agent's read path turns a file into lines.
 *
 * - `tailer`: FileTailer.readLines with the agent's batch budgets (1 MiB / 10 000 lines) and the
 *   options Agent#open gives it (256 KiB reads, 1 MiB longest line, 1 KiB fingerprint).
 * - `harvester`: the same plus what the agent does with each result before it ships it
 *   (Harvester.nextBatch: one contiguous blob per batch, line lengths, stream identity).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { agentConfigSchema } from '../src/agent/config.js';
import { Harvester } from '../src/agent/harvest/harvester.js';
import { FileTailer } from '../src/agent/tail/file-reader.js';
import type { FileTailerOptions } from '../src/agent/tail/file-reader.js';

/** Read size the agent opens its tailers with (Agent#open). */
export const AGENT_CHUNK_BYTES = 256 * 1024;

/** The agent's defaults, taken from its config schema so the bench follows them. */
export function agentDefaults() {
  const config = agentConfigSchema.parse({ collectors: ['127.0.0.1:1'] });
  return {
    maxBatchBytes: config.batch.maxBytes,
    maxBatchLines: config.batch.maxLines,
    tailer: {
      fingerprintBytes: config.fingerprintBytes,
      maxLineBytes: config.lines.maxBytes,
      onLongLine: config.lines.onTooLong,
      chunkBytes: AGENT_CHUNK_BYTES,
    } satisfies FileTailerOptions,
    partialFlushMs: config.lines.partialFlushMs,
  };
}

export interface TailingResult {
  /** File bytes handed out as lines (newlines included). */
  bytes: number;
  lines: number;
  /** readLines / nextBatch calls. */
  calls: number;
  seconds: number;
  /** CPU time of this process during the run (user + system), in seconds. */
  cpuSeconds: number;
  /** Time spent in garbage collection during the run, in seconds. */
  gcSeconds: number;
  /** False when the deadline stopped the run before the end of the file. */
  complete: boolean;
}

/** Measures wall, CPU and GC time around `run`. */
async function measure(
  run: () => Promise<{ bytes: number; lines: number; calls: number; complete: boolean }>,
): Promise<TailingResult> {
  let gcMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  observer.observe({ entryTypes: ['gc'] });
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  try {
    const r = await run();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const used = process.cpuUsage(cpu);
    // GC entries are delivered asynchronously: let the last ones arrive.
    await new Promise((resolve) => setImmediate(resolve));
    return { ...r, seconds, cpuSeconds: (used.user + used.system) / 1e6, gcSeconds: gcMs / 1e3 };
  } finally {
    observer.disconnect();
  }
}

/** FileTailer.readLines through `path` (of `size` bytes) from offset 0 to its end. */
export function benchTailer(path: string, size: number, deadline: number): Promise<TailingResult> {
  const d = agentDefaults();
  return measure(async () => {
    const tailer = await FileTailer.open(path, { ...d.tailer, start: 0 });
    let lines = 0;
    let calls = 0;
    let offset = 0;
    try {
      while (offset < size) {
        const r = await tailer.readLines(d.maxBatchBytes, d.maxBatchLines);
        calls++;
        lines += r.lines.length;
        offset = r.endOffset;
        if (r.truncation) throw new Error(`${path} was truncated during the bench`);
        if (r.eof && r.lines.length === 0) break;
        if ((calls & 63) === 0 && Date.now() > deadline) break;
      }
    } finally {
      await tailer.close();
    }
    return { bytes: offset, lines, calls, complete: offset >= size };
  });
}

/** Harvester.nextBatch (tailer + batch assembly) through `path` from offset 0 to its end. */
export function benchHarvester(
  path: string,
  size: number,
  deadline: number,
): Promise<TailingResult> {
  const d = agentDefaults();
  return measure(async () => {
    const tailer = await FileTailer.open(path, { ...d.tailer, start: 0 });
    const harvester = new Harvester(
      {
        agentId: 'bench-agent',
        host: 'bench-host',
        topic: 'bench',
        tailName: 'local:0',
        maxBatchBytes: d.maxBatchBytes,
        maxBatchLines: d.maxBatchLines,
        partialFlushMs: d.partialFlushMs,
        maxWaitMs: 0,
      },
      tailer,
      path,
      0,
    );
    let lines = 0;
    let calls = 0;
    let offset = 0;
    try {
      while (offset < size) {
        if ((calls & 63) === 63 && Date.now() > deadline) break;
        const next = await harvester.nextBatch(Date.now());
        calls++;
        if (next === undefined) {
          if (harvester.atEof) break;
          continue;
        }
        lines += next.batch.lineLengths.length;
        offset = next.batch.endOffset;
        // As if the collector had committed it at once: keeps the in-flight list empty.
        harvester.settle(next.sent);
      }
    } finally {
      await tailer.close();
    }
    return { bytes: offset, lines, calls, complete: offset >= size };
  });
}
