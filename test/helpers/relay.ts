import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent } from '../../src/agent/agent.js';
import { agentConfigSchema } from '../../src/agent/config.js';
import { validateConfig } from '../../src/common/config/load-config.js';
import { createLogger, type Logger } from '../../src/common/logging/logger.js';
import { Collector } from '../../src/collector/collector.js';
import { RelayError } from '../../src/common/errors/relay-error.js';
import type { Sink, SinkBatch } from '../../src/collector/sinks/sink.js';
import { collectorConfigSchema } from '../../src/collector/config.js';

export const quietLog = createLogger({
  level: (process.env['LOGRELAY_TEST_LOG'] as 'info' | undefined) ?? 'silent',
});

/** A collector on a free loopback port with the given sinks and routes. */
export async function startCollector(
  config: Record<string, unknown>,
  log: Logger = quietLog,
): Promise<Collector> {
  const collector = new Collector(
    validateConfig(collectorConfigSchema, { listen: { port: 0 }, ...config }, 'test collector'),
    log,
  );
  await collector.start();
  return collector;
}

/** What a sink committed: one record, in arrival order. */
export interface Committed {
  text: string;
  /** File offset of the record's first byte. */
  offset: number;
  path: string;
  /** The path the stream is keyed by (the first name of a rotated file). */
  keyPath: string;
  /** The batch's fields (the tail's, and those its file's path gave). */
  fields: Readonly<Record<string, string>>;
}

/**
 * A collector with one file sink `out` under `dir` whose commits are recorded, in arrival order,
 * in `committed`. With `failEvery` > 0 every n-th write fails retriable first (a sink outage:
 * the collector answers retry-after, the agent rewinds and sends again).
 */
export async function startRecordingCollector(
  dir: string,
  failEvery = 0,
): Promise<{ collector: Collector; sink: Sink; committed: Committed[] }> {
  const collector = await startCollector({
    id: 'c1',
    retryAfterMs: 20,
    sinks: [{ type: 'file', name: 'out', directory: join(dir, 'out'), fsync: false }],
  });
  const committed: Committed[] = [];
  const sink = collector.sinks.get('out');
  if (!sink) throw new Error('no sink');
  const write = sink.write.bind(sink);
  let writes = 0;
  sink.write = async (batch: SinkBatch) => {
    if (failEvery > 0 && ++writes % failEvery === 0)
      throw new RelayError('SINK_UNAVAILABLE', 'test outage', { retriable: true });
    const result = await write(batch);
    batch.lines.forEach((l, i) =>
      committed.push({
        text: String(l),
        offset: batch.offsets[i] ?? -1,
        path: batch.path,
        keyPath: batch.keyPath ?? batch.path,
        fields: batch.fields ?? {},
      }),
    );
    return result;
  };
  return { collector, sink, committed };
}

/** An agent with fast polling, for tests. */
export async function startAgent(
  config: Record<string, unknown>,
  log: Logger = quietLog,
): Promise<Agent> {
  const agent = new Agent(
    validateConfig(
      agentConfigSchema,
      { scanIntervalMs: 100, pollIntervalMs: 20, ...config },
      'test agent',
    ),
    log,
  );
  await agent.start();
  return agent;
}

/** Every line of every file under `dir` (recursively), in file order. */
export async function readAllLines(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  for (const e of entries
    .filter((x) => x.isFile())
    .sort((a, b) => join(a.parentPath, a.name).localeCompare(join(b.parentPath, b.name)))) {
    const text = await readFile(join(e.parentPath, e.name), 'utf8');
    for (const line of text.split('\n').slice(0, -1)) out.push(line);
  }
  return out;
}

/** Exact counts: missing and duplicated lines of `delivered` against `written`. */
export function countLines(written: readonly string[], delivered: readonly string[]) {
  const seen = new Map<string, number>();
  for (const l of delivered) seen.set(l, (seen.get(l) ?? 0) + 1);
  let missing = 0;
  let duplicated = 0;
  for (const l of written) {
    const n = seen.get(l) ?? 0;
    if (n === 0) missing++;
    else if (n > 1) duplicated += n - 1;
  }
  const writtenSet = new Set(written);
  const unexpected = delivered.filter((l) => !writtenSet.has(l)).length;
  return { written: written.length, delivered: delivered.length, missing, duplicated, unexpected };
}

/** What `countLines` gives when each of `n` written lines was delivered exactly once. */
export function exactlyOnce(n: number) {
  return { written: n, delivered: n, missing: 0, duplicated: 0, unexpected: 0 };
}
