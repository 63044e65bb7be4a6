import { appendFile, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { agentConfigSchema } from '../../src/agent/config.js';
import { validateConfig } from '../../src/common/config/load-config.js';
import { countLines, quietLog, readAllLines, startCollector } from '../helpers/relay.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

interface StoredRegistry {
  entries: Record<string, { path: string; offset: number; updatedAt: number }>;
}

// Issue 12 item 7: a file that still exists but wrote nothing for longer than
// `checkpoint.cleanInactiveAfterMs` keeps its checkpoint (discovery touches it), so the next
// start does not read it again from its beginning. The registry's clock is a fake one.
describe('a quiet file keeps its checkpoint', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  it('is touched by every scan, survives the inactivity clean-up, and is not re-read on restart', async () => {
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const logs = join(dir, 'logs');
    const out = join(dir, 'out');
    const registryPath = join(dir, 'registry.json');
    await mkdir(logs);
    const collector = await startCollector({
      id: 'c1',
      sinks: [{ type: 'file', name: 'out', directory: out, fsync: false }],
    });
    stops.push(() => collector.stop());

    const written: string[] = [];
    const write = async (file: string, from: number, n: number) => {
      const lines = Array.from({ length: n }, (_, i) => `${file}:${from + i}`);
      written.push(...lines);
      await appendFile(join(logs, file), lines.map((l) => `${l}\n`).join(''));
    };
    const stored = async () =>
      (JSON.parse(await readFile(registryPath, 'utf8')) as StoredRegistry).entries;
    const entryOf = async (file: string) =>
      Object.values(await stored()).find((e) => e.path === join(logs, file));

    let now = Date.parse('2026-01-01T00:00:00Z');
    const config = validateConfig(agentConfigSchema, {
      id: 'quiet-agent',
      collectors: [collector.address],
      scanIntervalMs: 50,
      pollIntervalMs: 20,
      tails: [{ paths: [join(logs, '*.log')], topic: 'app' }],
      checkpoint: { path: registryPath, flushIntervalMs: 50, cleanInactiveAfterMs: 60_000 },
    });
    const start = async () => {
      const agent = new Agent(config, quietLog, undefined, 'test agent', { now: () => now });
      await agent.start();
      stops.push(() => agent.stop());
      return agent;
    };

    await write('quiet.log', 0, 100);
    await write('busy.log', 0, 10);
    const first = await start();
    const quietSize = (await stat(join(logs, 'quiet.log'))).size;
    await waitFor(async () => (await entryOf('quiet.log'))?.offset === quietSize, {
      timeoutMs: 15_000,
      what: 'quiet.log checkpointed at its end',
    });

    // Two minutes of the registry's clock pass in 10 s steps (each well under the 60 s
    // inactivity limit), with scans in between; quiet.log writes nothing all along.
    for (let step = 0; step < 12; step++) {
      now += 10_000;
      await sleep(200);
    }
    // busy.log moves on: its acks make the registry write (and sweep) again.
    await write('busy.log', 10, 10);
    const busySize = (await stat(join(logs, 'busy.log'))).size;
    await waitFor(async () => (await entryOf('busy.log'))?.offset === busySize, {
      timeoutMs: 15_000,
      what: 'busy.log checkpointed after the clock moved',
    });
    const quietEntry = await entryOf('quiet.log');
    expect(quietEntry?.offset).toBe(quietSize);
    expect(now - (quietEntry?.updatedAt ?? 0)).toBeLessThan(60_000);
    await first.stop();

    // Restart: quiet.log resumes at its end; nothing of it is shipped again.
    const second = await start();
    await waitFor(
      () =>
        second.streams.length === 2 &&
        second.streams.every((s) => s.acked === s.size && s.size > 0),
      { timeoutMs: 15_000, what: 'both files caught up after the restart' },
    );
    await sleep(500);
    expect(countLines(written, await readAllLines(out))).toEqual({
      written: 120,
      delivered: 120,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
  });
});
