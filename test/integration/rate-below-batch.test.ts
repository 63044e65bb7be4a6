/**
 * Issue 12 #6: a rate limit smaller than one agent batch must not block the stream for good.
 *
 * With `recordsPerSecond: 5000` and the defaults (200 ms of burst, 500 ms of hold) at most 3,500
 * lines ever fit in one reservation, while an agent's default batch holds up to 10,000 lines:
 * before the fix such a batch was turned away for ever. Each case ships 30,000 lines with the
 * agent's default batching and expects every line once; the speed is not asserted.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { countLines, readAllLines, startAgent, startCollector } from '../helpers/relay.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const LINES = 30_000;

describe('a rate limit smaller than one agent batch', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  async function shipThrough(collectorExtra: Record<string, unknown>, sinkFlow?: unknown) {
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const logs = join(dir, 'logs');
    const out = join(dir, 'out');
    await mkdir(logs);
    const written = Array.from({ length: LINES }, (_, i) => `rate line ${i} ${'r'.repeat(i % 13)}`);
    await writeFile(join(logs, 'app.log'), written.map((l) => `${l}\n`).join(''));
    const collector = await startCollector({
      id: 'c-rate',
      sinks: [{ type: 'file', name: 'out', directory: out, fsync: false, flow: sinkFlow }],
      ...collectorExtra,
    });
    stops.push(() => collector.stop());
    const agent = await startAgent({
      id: 'a-rate',
      collectors: [collector.address],
      tails: [{ paths: [join(logs, '*.log')], topic: 'app' }],
      checkpoint: { path: join(dir, 'registry.json'), flushIntervalMs: 50 },
    });
    stops.push(() => agent.stop());
    await waitFor(async () => (await readAllLines(out)).length >= LINES, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: `all ${LINES} lines through the rate limit`,
    });
    // A little longer: a duplicate would show up now.
    await new Promise((r) => setTimeout(r, 500));
    return countLines(written, await readAllLines(out));
  }

  it('flow.rate.recordsPerSecond 5000 with default agent batches delivers every line once', async () => {
    const counts = await shipThrough({}, { rate: { recordsPerSecond: 5000 } });
    expect(counts).toEqual({
      written: LINES,
      delivered: LINES,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
  });

  it('flow.rate.bytesPerSecond 100000 with default agent batches delivers every line once', async () => {
    const counts = await shipThrough({}, { rate: { bytesPerSecond: 100_000 } });
    expect(counts).toEqual({
      written: LINES,
      delivered: LINES,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
  });

  it('limits.agentRate recordsPerSecond 5000 with default agent batches delivers every line once', async () => {
    const counts = await shipThrough({ limits: { agentRate: { recordsPerSecond: 5000 } } });
    expect(counts).toEqual({
      written: LINES,
      delivered: LINES,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
  });
});
