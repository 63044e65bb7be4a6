import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { appendFile, mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { countLines, readAllLines, startAgent, startCollector } from '../helpers/relay.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

// Issue 15 item 5: many files, bounded descriptors (files.maxOpenFiles), idle files closed
// (files.closeInactiveMs) and opened again, exactly once across close and reopen.

/**
 * Descriptors of this process open for reading on files under `dir`: the agent's (it runs
 * in-process and opens files read-only; the test's own appends open them write-only).
 * Synchronous, so the snapshot is (nearly) atomic: read asynchronously, one fd at a time through
 * the thread pool, a descriptor the agent closed after it was counted and one it opened since,
 * reusing a number listed earlier, were both counted (51 with 50 open: strace of such a run
 * showed at most 50).
 */
function fdsUnder(dir: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    let target = '';
    let info = '';
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
      if (!target.startsWith(`${dir}/`)) continue;
      info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    const flags = /^flags:\s+([0-7]+)$/m.exec(info)?.[1];
    // O_ACCMODE (3) of 0 is O_RDONLY.
    if (flags !== undefined && (parseInt(flags, 8) & 3) === 0) n++;
  }
  return n;
}

describe('many files within files.maxOpenFiles', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  async function setup(files: Record<string, unknown>, glob = '*.log') {
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
    const written: string[] = [];
    let writing = 0;
    let writes = 0;
    /** Appends `n` lines; `tag` tells generations of one name apart (`new app.log line 0`). */
    const write = async (file: string, from: number, n: number, tag = '') => {
      const lines = Array.from({ length: n }, (_, i) => `${tag}${file} line ${from + i}`);
      written.push(...lines);
      writing++;
      writes++;
      await appendFile(join(logs, file), lines.map((l) => `${l}\n`).join(''));
      writing--;
    };
    const start = async () => {
      const agent = await startAgent({
        id: 'a1',
        collectors: [collector.address],
        tails: [{ paths: [join(logs, glob)], topic: 'app' }],
        checkpoint: { path: join(dir, 'registry.json'), flushIntervalMs: 50 },
        lines: { partialFlushMs: 200 },
        batch: { maxWaitMs: 0 },
        files,
      });
      stops.push(() => agent.stop());
      return agent;
    };
    return { logs, out, written, write, start, writing: () => writing + writes * 1e6 };
  }

  /** Samples the agent's open files and this process's descriptors under `logs` until stopped. */
  function sampler(agent: Agent, logs: string, writing: () => number) {
    let peakGauge = 0;
    let peakFds = 0;
    let running = true;
    const done = (async () => {
      while (running) {
        peakGauge = Math.max(peakGauge, agent.files.open);
        // The test's own appends hold a descriptor there too: samples taken during one are
        // left out.
        const before = writing();
        const fds = fdsUnder(logs);
        if (before % 1e6 === 0 && writing() === before) peakFds = Math.max(peakFds, fds);
        await sleep(5);
      }
    })();
    return async () => {
      running = false;
      await done;
      return { peakGauge, peakFds, peakOpen: agent.files.peakOpen };
    };
  }

  it('reads 300 files with 50 descriptors: every line once, never more than 50 open', async () => {
    const { logs, out, written, write, start, writing } = await setup({ maxOpenFiles: 50 });
    const names = Array.from({ length: 300 }, (_, i) => `f${String(i).padStart(3, '0')}.log`);
    for (const name of names) await write(name, 0, 20);
    const agent = await start();
    const stop = sampler(agent, logs, writing);
    // Half the files keep growing while the others are read: they read in turns.
    for (let round = 1; round <= 5; round++) {
      for (const name of names.slice(0, 150)) await write(name, round * 20, 20);
      await sleep(100);
    }
    const delivered = await waitFor(
      async () => {
        const lines = await readAllLines(out);
        return lines.length >= written.length ? lines : undefined;
      },
      { timeoutMs: 60_000, what: `${written.length} lines` },
    );
    await sleep(300);
    const peaks = await stop();
    const counts = countLines(written, await readAllLines(out));
    expect(delivered.length).toBeGreaterThanOrEqual(written.length);
    expect(counts).toEqual({
      written: 300 * 20 + 150 * 5 * 20,
      delivered: 300 * 20 + 150 * 5 * 20,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
    expect(peaks.peakOpen).toBeLessThanOrEqual(50);
    expect(peaks.peakGauge).toBeLessThanOrEqual(50);
    expect(peaks.peakFds).toBeLessThanOrEqual(50);
    expect(agent.files.tracked).toBe(300);
    expect(agent.files.waiting).toBe(0);
  }, 90_000);

  it('closes an idle file and opens it again when it grows: every line once', async () => {
    const { logs, out, written, write, start } = await setup({ closeInactiveMs: 300 });
    await write('idle.log', 0, 100);
    await write('other.log', 0, 10);
    const agent = await start();
    await waitFor(async () => (await readAllLines(out)).length === 110, { what: '110 lines' });
    await waitFor(() => agent.files.open === 0, { what: 'both files closed', timeoutMs: 5000 });
    expect(agent.files.tracked).toBe(2);
    // The descriptors themselves are gone too (a close still in flight when the count fell, or a
    // scan's brief look at a file, may hold one for a moment).
    await waitFor(() => fdsUnder(logs) === 0, {
      what: 'no descriptor under the logs',
      timeoutMs: 2000,
    });
    await write('idle.log', 100, 50);
    await waitFor(async () => (await readAllLines(out)).length >= 160 - 10, {
      what: '150 lines',
    });
    await waitFor(() => agent.files.open === 0, { what: 'closed again', timeoutMs: 5000 });
    await write('idle.log', 150, 50);
    await write('other.log', 10, 10);
    await waitFor(async () => (await readAllLines(out)).length >= written.length, {
      what: `${written.length} lines`,
    });
    await sleep(300);
    expect(countLines(written, await readAllLines(out))).toEqual({
      written: 220,
      delivered: 220,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
    const reopened = await agent.registry
      .getSingleMetric('logrelay_agent_files_reopened_total')
      ?.get();
    expect(reopened?.values[0]?.value).toBeGreaterThanOrEqual(3);
  }, 30_000);

  it('a file closed for inactivity, renamed away and replaced, then both grow: every line once', async () => {
    const { logs, out, written, write, start } = await setup({ closeInactiveMs: 300 });
    await write('app.log', 0, 100);
    const agent = await start();
    await waitFor(async () => (await readAllLines(out)).length === 100, { what: '100 lines' });
    await waitFor(() => agent.files.open === 0, { what: 'app.log closed', timeoutMs: 5000 });
    // Rotation while closed: the old file (at a name the glob does not match) gets more lines
    // from the writer still holding it, and a new file takes the name.
    await rename(join(logs, 'app.log'), join(logs, 'app.log.1'));
    await write('app.log.1', 100, 50);
    await write('app.log', 0, 70, 'new ');
    await write('app.log.1', 150, 5);
    await waitFor(async () => (await readAllLines(out)).length >= written.length, {
      what: `${written.length} lines`,
      timeoutMs: 15_000,
    }).catch(async (err: unknown) => {
      const got = new Set(await readAllLines(out));
      console.log(written.filter((l) => !got.has(l)).slice(0, 5), got.size);
      throw err;
    });
    await write('app.log', 70, 30, 'new ');
    await waitFor(async () => (await readAllLines(out)).length >= written.length, {
      what: `${written.length} lines`,
      timeoutMs: 15_000,
    });
    await sleep(500);
    const delivered = await readAllLines(out);
    expect(countLines(written, delivered)).toEqual({
      written: 255,
      delivered: 255,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
    // The old generation's lines come before the new one's (same key path).
    expect(delivered.indexOf('app.log.1 line 154')).toBeLessThan(
      delivered.indexOf('new app.log line 0'),
    );
  }, 30_000);
});
