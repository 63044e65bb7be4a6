import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { metricSum } from '../helpers/processes.js';
import { countLines, readAllLines, startAgent, startCollector } from '../helpers/relay.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

// Tailing across rotation, one agent and one collector with a file sink, lines counted exactly.
describe('tailing across rotation (file sink)', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  async function setup(extra: Record<string, unknown> = {}) {
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const logs = join(dir, 'logs');
    const out = join(dir, 'out');
    await mkdir(logs);
    const collector = await startCollector({
      id: 'c1',
      sinks: [{ type: 'file', name: 'out', directory: out, fsync: false }],
    });
    stops.push(() => collector.stop());
    const agentConfig = {
      id: 'rot',
      collectors: [collector.address],
      tails: [{ paths: [join(logs, 'app.log*')], topic: 'app' }],
      checkpoint: { path: join(dir, 'registry.json'), flushIntervalMs: 50 },
      lines: { partialFlushMs: 200 },
      ...extra,
    };
    return { dir, logs, out, agentConfig };
  }

  async function agentFor(config: Record<string, unknown>): Promise<Agent> {
    const agent = await startAgent(config);
    stops.push(() => agent.stop());
    return agent;
  }

  const linesOf = (from: number, n: number) =>
    Array.from(
      { length: n },
      (_, i) => `app#${String(from + i).padStart(6, '0')} ${'x'.repeat((from + i) % 40)}`,
    );
  const text = (lines: readonly string[]) => lines.map((l) => `${l}\n`).join('');

  it('skips gzip generations matched by app.log*: no garbage lines, lag back to 0', async () => {
    const { logs, out, agentConfig } = await setup();
    const written = linesOf(0, 2000);
    await writeFile(join(logs, 'app.log'), text(written));
    // An old generation compressed by logrotate, with newlines among its bytes.
    const gz = gzipSync(Buffer.concat([Buffer.from(text(linesOf(0, 5000))), randomBytes(20_000)]));
    expect(gz.includes(10)).toBe(true);
    await writeFile(join(logs, 'app.log.1.gz'), gz);
    // One created empty (the compressor has just opened it) and filled after the agent saw it.
    await writeFile(join(logs, 'app.log.2.gz'), '');
    const agent = await agentFor(agentConfig);
    await sleep(300);
    await writeFile(join(logs, 'app.log.2.gz'), gz);
    const more = linesOf(2000, 1000);
    await appendFile(join(logs, 'app.log'), text(more));
    written.push(...more);

    await waitFor(async () => (await readAllLines(out)).length >= written.length, {
      timeoutMs: 20_000,
      what: 'all lines',
    });
    await sleep(1000);
    const delivered = await readAllLines(out);
    expect(countLines(written, delivered)).toEqual({
      written: 3000,
      delivered: 3000,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
    await waitFor(() => agent.streams.every((s) => s.size === s.acked && s.lagSeconds === 0), {
      what: 'lag back to 0',
    });
    const metrics = await agent.registry.metrics();
    expect(metricSum(metrics, 'logrelay_agent_compressed_files_skipped_total')).toBe(2);
    expect(metricSum(metrics, 'logrelay_agent_stream_lag_bytes')).toBe(0);
  });
});
