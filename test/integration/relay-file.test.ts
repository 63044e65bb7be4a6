import { appendFile, mkdir, rename, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { countLines, readAllLines, startAgent, startCollector } from '../helpers/relay.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

describe('relay path: agent → gRPC → collector → file sink', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  async function setup() {
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
      id: 'a1',
      collectors: [collector.address],
      tails: [{ paths: [join(logs, '*.log*')], topic: 'app' }],
      checkpoint: { path: join(dir, 'registry.json'), flushIntervalMs: 50 },
      lines: { partialFlushMs: 200 },
    };
    return { dir, logs, out, collector, agentConfig };
  }

  async function agentFor(config: Record<string, unknown>): Promise<Agent> {
    const agent = await startAgent(config);
    stops.push(() => agent.stop());
    return agent;
  }

  it('ships every line of several files once, across rename rotation and copytruncate', async () => {
    const { logs, out, agentConfig } = await setup();
    const written: string[] = [];
    const write = async (file: string, from: number, n: number) => {
      const lines = Array.from(
        { length: n },
        (_, i) => `${file} line ${from + i} ${'x'.repeat(i % 50)}`,
      );
      written.push(...lines);
      await appendFile(join(logs, file), lines.map((l) => `${l}\n`).join(''));
    };
    await write('a.log', 0, 1000);
    await write('b.log', 0, 1000);
    await agentFor(agentConfig);
    await waitFor(async () => (await readAllLines(out)).length >= 2000, {
      timeoutMs: 20_000,
      what: 'first 2000 lines',
    });

    // Rename rotation: a.log → a.log.1 (still matches the glob: must not be read twice).
    await write('a.log', 1000, 500);
    await rename(join(logs, 'a.log'), join(logs, 'a.log.1'));
    await write('a.log', 1500, 500);
    // copytruncate on b.log, after everything so far was shipped.
    await waitFor(async () => (await readAllLines(out)).length >= 3000, {
      timeoutMs: 20_000,
      what: 'lines before copytruncate',
    });
    await truncate(join(logs, 'b.log'), 0);
    await write('b.log', 1000, 700);

    await waitFor(async () => (await readAllLines(out)).length >= written.length, {
      timeoutMs: 30_000,
      what: 'all lines',
    });
    await new Promise((r) => setTimeout(r, 500));
    const counts = countLines(written, await readAllLines(out));
    expect(counts).toEqual({
      written: 3700,
      delivered: 3700,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
  });

  it('resumes from its checkpoint after a restart without loss or duplicates', async () => {
    const { logs, out, agentConfig } = await setup();
    const lines = Array.from({ length: 5000 }, (_, i) => `restart line ${i}`);
    await writeFile(
      join(logs, 'r.log'),
      lines
        .slice(0, 3000)
        .map((l) => `${l}\n`)
        .join(''),
    );
    const first = await agentFor(agentConfig);
    await waitFor(async () => (await readAllLines(out)).length >= 3000, {
      timeoutMs: 20_000,
      what: '3000 lines',
    });
    await first.stop();
    await appendFile(
      join(logs, 'r.log'),
      lines
        .slice(3000)
        .map((l) => `${l}\n`)
        .join(''),
    );
    await agentFor(agentConfig);
    await waitFor(async () => (await readAllLines(out)).length >= 5000, {
      timeoutMs: 20_000,
      what: '5000 lines',
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(countLines(lines, await readAllLines(out))).toMatchObject({
      missing: 0,
      duplicated: 0,
      delivered: 5000,
    });
  });

  it('sends a partial last line once its file was rotated away and stayed idle', async () => {
    const { logs, out, agentConfig } = await setup();
    await writeFile(join(logs, 'p.log'), 'complete\npartial without newline');
    await agentFor(agentConfig);
    await waitFor(async () => (await readAllLines(out)).length >= 1, { what: 'complete line' });
    await rename(join(logs, 'p.log'), join(logs, 'p.old'));
    await waitFor(async () => (await readAllLines(out)).includes('partial without newline'), {
      timeoutMs: 10_000,
      what: 'partial line',
    });
    expect(await readAllLines(out)).toEqual(['complete', 'partial without newline']);
  });
});
