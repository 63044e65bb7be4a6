import { randomBytes } from 'node:crypto';
import { appendFileSync, copyFileSync, renameSync, truncateSync } from 'node:fs';
import {
  appendFile,
  copyFile,
  mkdir,
  readFile,
  rename,
  stat,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { metricSum } from '../helpers/processes.js';
import { perFileOrderBreaks, rotationLine, writeRotating } from '../helpers/rotating-writer.js';
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
      // One output file in arrival order: the order of each file's lines is checked.
      sinks: [
        {
          type: 'file',
          name: 'out',
          directory: out,
          fsync: false,
          maxFileBytes: 1024 ** 3,
          maxFileAgeMs: 3_600_000,
        },
      ],
    });
    stops.push(() => collector.stop());
    const agentConfig = {
      id: 'rot',
      collectors: [collector.address],
      tails: [{ paths: [join(logs, '*.log*')], topic: 'app' }],
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

  /** Exact counts and per-file order breaks of what reached the sink. */
  async function outcome(out: string, written: readonly string[]) {
    await waitFor(async () => (await readAllLines(out)).length >= written.length, {
      timeoutMs: 60_000,
      what: `all ${written.length} lines`,
    }).catch(() => undefined);
    await sleep(1000);
    const delivered = await readAllLines(out);
    return { ...countLines(written, delivered), orderBreaks: perFileOrderBreaks(delivered) };
  }

  const exact = (n: number) => ({
    written: n,
    delivered: n,
    missing: 0,
    duplicated: 0,
    unexpected: 0,
    orderBreaks: 0,
  });

  it('ships rename generations oldest first when files rotate faster than the scan', async () => {
    // Scans once a second; each file rotates every 0.4 s, so a scan meets several new
    // generations at once (app.log.1, app.log.2, … shifted by logrotate-style renames).
    const { logs, out, agentConfig } = await setup({ scanIntervalMs: 1000 });
    await agentFor(agentConfig);
    const written: string[] = [];
    await writeRotating(
      {
        dir: logs,
        files: ['a', 'b'],
        linesPerFile: 20_000,
        rotateEvery: 1000,
        style: 'rename',
        durationMs: 8000,
      },
      written,
    );
    expect(await outcome(out, written)).toEqual(exact(40_000));
  });

  it('ships rename generations found at a restart oldest first', async () => {
    // The agent is stopped for 3 s while each file rotates every 0.5 s: at the restart it finds
    // about six generations of each file it never saw, beside the one it was reading.
    const { logs, out, agentConfig } = await setup();
    const first = await startAgent(agentConfig);
    const written: string[] = [];
    const writing = writeRotating(
      {
        dir: logs,
        files: ['a', 'b'],
        linesPerFile: 20_000,
        rotateEvery: 1000,
        style: 'rename',
        durationMs: 10_000,
      },
      written,
    );
    await sleep(2500);
    await first.stop();
    await sleep(3000);
    await agentFor(agentConfig);
    await writing;
    expect(await outcome(out, written)).toEqual(exact(40_000));
  });

  it('skips copytruncate copies matched by *.log*: every line once, none lost', async () => {
    const { logs, out, agent, outcomeOf } = await copytruncateRun('*.log*');
    void logs;
    expect(await outcomeOf(out)).toEqual(exact(40_000));
    expect(
      metricSum(await agent.registry.metrics(), 'logrelay_agent_truncation_lost_bytes_total'),
    ).toBe(0);
  });

  it('finds the copy of a copytruncate rotation the glob does not match: none lost', async () => {
    const { out, agent, outcomeOf } = await copytruncateRun('*.log');
    expect(await outcomeOf(out)).toEqual(exact(40_000));
    expect(
      metricSum(await agent.registry.metrics(), 'logrelay_agent_truncation_lost_bytes_total'),
    ).toBe(0);
  });

  it('does not take a copy seen before copytruncate filled it for a new file: every line once', async () => {
    // copytruncate creates app.log.1 empty and then fills it: a scan in between sees an empty
    // file at a rotated name, which no first bytes tell from a new file yet.
    const { logs, out, agentConfig } = await setup();
    const live = join(logs, 'a.log');
    const written = Array.from({ length: 100 }, (_, i) => rotationLine('a', i));
    await writeFile(live, text(written));
    const agent = await agentFor(agentConfig);
    await waitFor(async () => (await readAllLines(out)).length >= 100, { what: 'first lines' });
    await writeFile(`${live}.1`, '');
    await sleep(500); // several scans see it empty
    await copyFile(live, `${live}.1`); // the same inode, filled
    await truncate(live, 0);
    const after = Array.from({ length: 100 }, (_, i) => rotationLine('a', 100 + i));
    await appendFile(live, text(after));
    written.push(...after);
    expect(await outcome(out, written)).toEqual(exact(200));
    expect(
      metricSum(await agent.registry.metrics(), 'logrelay_agent_truncation_lost_bytes_total'),
    ).toBe(0);
  });

  /**
   * An agent tailing `*.log` of a fresh setup, the live file `a.log`, and `lines(n)`: the text of
   * the next n unique lines, recorded in `written`.
   */
  async function liveFileAgent() {
    const { logs, out, agentConfig } = await setup();
    const agent = await agentFor({
      ...agentConfig,
      tails: [{ paths: [join(logs, '*.log')], topic: 'app' }],
    });
    const written: string[] = [];
    const lines = (n: number) => {
      const more = Array.from({ length: n }, (_, i) => rotationLine('a', written.length + i));
      written.push(...more);
      return text(more);
    };
    return { agent, out, live: join(logs, 'a.log'), written, lines };
  }

  it('reads a content copied and truncated before the agent looked at it after the file was seen empty: none lost', async () => {
    // The agent saw the file empty after a copytruncate: its next content's identity holds no
    // byte. That content is then written, copied and truncated, and the next one written, with
    // no look in between (the agent runs in this process: the writes below block it).
    const { agent, out, live, written, lines } = await liveFileAgent();
    const truncations = async () =>
      metricSum(await agent.registry.metrics(), 'logrelay_agent_truncations_total');
    await writeFile(live, lines(100));
    await waitFor(async () => (await readAllLines(out)).length >= 100, { what: 'first lines' });
    copyFileSync(live, `${live}.1`);
    truncateSync(live, 0);
    await waitFor(async () => (await truncations()) === 1, { what: 'the truncation seen' });
    await sleep(300); // polls and scans see the file empty
    appendFileSync(live, lines(100));
    renameSync(`${live}.1`, `${live}.2`);
    copyFileSync(live, `${live}.1`);
    truncateSync(live, 0);
    appendFileSync(live, lines(100));
    expect(await outcome(out, written)).toEqual(exact(300));
    expect(
      metricSum(await agent.registry.metrics(), 'logrelay_agent_truncation_lost_bytes_total'),
    ).toBe(0);
  });

  it('reads the content in between when a file is copied and truncated twice between two reads: none lost', async () => {
    const { agent, out, live, written, lines } = await liveFileAgent();
    await writeFile(live, lines(100));
    await waitFor(async () => (await readAllLines(out)).length >= 100, { what: 'first lines' });
    // Two rotations with no look in between (the writes block the agent, in this process).
    appendFileSync(live, lines(100));
    copyFileSync(live, `${live}.1`);
    truncateSync(live, 0);
    appendFileSync(live, lines(100));
    renameSync(`${live}.1`, `${live}.2`);
    copyFileSync(live, `${live}.1`);
    truncateSync(live, 0);
    appendFileSync(live, lines(100));
    expect(await outcome(out, written)).toEqual(exact(400));
    expect(
      metricSum(await agent.registry.metrics(), 'logrelay_agent_truncation_lost_bytes_total'),
    ).toBe(0);
  });

  // The agent stops just after a copytruncate, while the file's new content is still empty (or
  // shorter than a copy can be recognised by): its registry entry holds almost no first bytes.
  // While it is down the file is copied and truncated twice more, so at the restart the live
  // file is longer than the acknowledged offset again and starts with other bytes. The copies
  // made meanwhile (app.log.1, app.log.2, not matched by `*.log`) hold the rest of the content
  // the entry names and the one after it: both must be read, oldest first, before the live file.
  for (const [what, head] of [
    ['empty', []],
    ['holding one short line', ['a#0001000']],
  ] as const) {
    it(`reads the copies made while the agent was down after a copytruncate left the file ${what}`, async () => {
      const { dir, logs, out, agentConfig } = await setup();
      const config = { ...agentConfig, tails: [{ paths: [join(logs, '*.log')], topic: 'app' }] };
      const live = join(logs, 'a.log');
      const written: string[] = [];
      let next = 0;
      const write = async (n: number) => {
        const lines = Array.from({ length: n }, (_, i) => rotationLine('a', next + i));
        next += n;
        written.push(...lines);
        await appendFile(live, text(lines));
      };
      let copies = 0;
      const copytruncate = async () => {
        for (let k = copies; k >= 1; k--) await rename(`${live}.${k}`, `${live}.${k + 1}`);
        await copyFile(live, `${live}.1`);
        await truncate(live, 0);
        copies++;
        await sleep(20); // distinct birth times
      };

      await write(1000);
      const first = await startAgent(config);
      await waitFor(async () => (await readAllLines(out)).length >= 1000, { what: 'first lines' });
      await copytruncate();
      next = 1000;
      for (const line of head) {
        written.push(line);
        await appendFile(live, `${line}\n`);
        next++;
      }
      // The new content's entry is on disk, taken of the file as it is now (too short to match).
      const headBytes = head.reduce((n, l) => n + l.length + 1, 0);
      const { ino } = await stat(live);
      await waitFor(
        async () => {
          const registry = JSON.parse(await readFile(join(dir, 'registry.json'), 'utf8')) as {
            entries: Record<string, { inode: string; offset: number; fingerprint: string }>;
          };
          return Object.values(registry.entries).some(
            (e) =>
              e.inode === String(ino) &&
              e.offset === headBytes &&
              e.fingerprint.startsWith(`${headBytes}/`),
          );
        },
        { what: 'entry of the truncated file' },
      );
      await first.stop();

      // Down: two more copytruncate rotations, then more lines than were acknowledged.
      await write(1000);
      await copytruncate();
      await write(1000);
      await copytruncate();
      await write(500);
      expect((await stat(live)).size).toBeGreaterThan(headBytes);

      await agentFor(config);
      expect(await outcome(out, written)).toEqual(exact(written.length));
    });
  }

  /** Two files rotated by copytruncate every 0.4 s while the agent reads them. */
  async function copytruncateRun(glob: string) {
    const { logs, out, agentConfig } = await setup();
    const agent = await agentFor({
      ...agentConfig,
      tails: [{ paths: [join(logs, glob)], topic: 'app' }],
    });
    const written: string[] = [];
    await writeRotating(
      {
        dir: logs,
        files: ['a', 'b'],
        linesPerFile: 20_000,
        rotateEvery: 1000,
        style: 'copytruncate',
        durationMs: 8000,
      },
      written,
    );
    return { logs, out, agent, outcomeOf: (o: string) => outcome(o, written) };
  }
});
