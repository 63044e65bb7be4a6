/**
 * Issue 3, "Done when" item 4: a torn checkpoint registry (empty, garbage, missing file) — the
 * agent starts, reports it, resumes from the last good checkpoint and loses nothing.
 *
 * Each case runs a real agent and collector in-process (file sink in a temp dir):
 *  1. the first agent ships 3000 lines, checkpoints them, then ships 1000 more and checkpoints
 *     again, so the registry's `.prev` copy holds an OLDER offset than the registry itself;
 *  2. the agent stops and the registry is damaged on disk;
 *  3. 1000 more lines are appended and a second agent starts with the same config while the
 *     SAME collector keeps running.
 *
 * Resuming from `.prev` (or from 0 when nothing usable is left) makes the second agent resend
 * lines the collector already wrote. The collector's dedup marks live in memory and survive the
 * agent's restart, so it drops exactly those lines: the sink ends up with every line exactly once
 * (0 missing, 0 duplicated), and the collector's dedup counter shows exactly how many it dropped.
 */
import { appendFile, mkdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { agentConfigSchema } from '../../src/agent/config.js';
import type { Collector } from '../../src/collector/collector.js';
import { validateConfig } from '../../src/common/config/load-config.js';
import { createLogger } from '../../src/common/logging/logger.js';
import { countLines, readAllLines, startAgent, startCollector } from '../helpers/relay.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

interface RegistryDoc {
  version: number;
  entries: Record<string, { offset: number; path: string }>;
}

/** The single entry's offset in a registry file (the tests tail one file). */
async function registryOffset(file: string): Promise<number | undefined> {
  try {
    const doc = JSON.parse(await readFile(file, 'utf8')) as RegistryDoc;
    const entries = Object.values(doc.entries);
    return entries.length === 1 ? entries[0]?.offset : undefined;
  } catch {
    return undefined;
  }
}

async function dedupedLines(collector: Collector): Promise<number> {
  const metric = collector.registry.getSingleMetric('logrelay_collector_deduplicated_lines_total');
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.reduce((n, v) => n + v.value, 0);
}

/** What the second agent's registry load must report, and where reading must resume. */
interface Expectation {
  source: 'previous' | 'empty';
  fresh: boolean;
  problems: RegExp[];
  /** The damaged registry was moved to `<path>.corrupt`. */
  setAside: boolean;
  /** Resume offset: the `.prev` copy's offset, or 0 (nothing usable: the file is read again). */
  resumeFrom: 'previous' | 'start';
}

interface Damage {
  name: string;
  damage: (files: { current: string; previous: string }) => Promise<void>;
  expect: Expectation;
}

const damages: Damage[] = [
  {
    name: 'empty (truncated to 0 bytes)',
    damage: ({ current }) => truncate(current, 0),
    expect: {
      source: 'previous',
      fresh: false,
      problems: [/registry\.json: empty file \(0 bytes\)/],
      setAside: true,
      resumeFrom: 'previous',
    },
  },
  {
    name: 'garbage bytes',
    damage: ({ current }) =>
      writeFile(current, Buffer.from('\u0000\u00ff\u00fegarbage{{{ not json \u0001\n', 'latin1')),
    expect: {
      source: 'previous',
      fresh: false,
      problems: [/registry\.json: not valid JSON/],
      setAside: true,
      resumeFrom: 'previous',
    },
  },
  {
    name: 'torn write (first half of the JSON only)',
    damage: async ({ current }) => {
      const text = await readFile(current);
      await writeFile(current, text.subarray(0, Math.floor(text.length / 2)));
    },
    expect: {
      source: 'previous',
      fresh: false,
      problems: [/registry\.json: not valid JSON/],
      setAside: true,
      resumeFrom: 'previous',
    },
  },
  {
    name: 'missing (deleted, .prev kept)',
    damage: ({ current }) => rm(current),
    expect: {
      source: 'previous',
      fresh: false,
      problems: [/registry\.json: missing, but a previous copy exists/],
      setAside: false,
      resumeFrom: 'previous',
    },
  },
  {
    // Indistinguishable from a first start: no problem to report, every file is read from its
    // configured start (beginning) and the collector drops what it already has.
    name: 'missing together with .prev (fresh start)',
    damage: async ({ current, previous }) => {
      await rm(current);
      await rm(previous);
    },
    expect: {
      source: 'empty',
      fresh: true,
      problems: [],
      setAside: false,
      resumeFrom: 'start',
    },
  },
  {
    name: 'garbage, and .prev empty too',
    damage: async ({ current, previous }) => {
      await writeFile(current, 'garbage');
      await truncate(previous, 0);
    },
    expect: {
      source: 'empty',
      fresh: false,
      problems: [/registry\.json: not valid JSON/, /registry\.json\.prev: empty file \(0 bytes\)/],
      setAside: true,
      resumeFrom: 'start',
    },
  },
];

describe('torn checkpoint registry: the agent starts, reports it, resumes, loses nothing', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  it.each(damages)('$name', async ({ damage, expect: want }) => {
    const { dir, cleanup } = await tempDir('logrelay-torn-');
    stops.push(cleanup);
    const logs = join(dir, 'logs');
    const out = join(dir, 'out');
    await mkdir(logs);
    const log = join(logs, 'app.log');
    // One collector for the whole test: its in-memory dedup marks outlive the agent restart.
    const collector = await startCollector({
      id: 'c1',
      sinks: [{ type: 'file', name: 'out', directory: out, fsync: false }],
    });
    stops.push(() => collector.stop());
    const registryPath = join(dir, 'state', 'registry.json');
    const agentConfig = {
      id: 'a1',
      collectors: [collector.address],
      tails: [{ paths: [join(logs, '*.log')], topic: 'app' }],
      checkpoint: { path: registryPath, flushIntervalMs: 50 },
    };

    // Every line unique; remember where each starts, to count the lines past an offset.
    const written: string[] = [];
    const offsets: number[] = [];
    let size = 0;
    const write = async (phase: number, n: number) => {
      const lines = Array.from(
        { length: n },
        (_, i) => `torn phase ${phase} line ${i} ${'y'.repeat(i % 37)}`,
      );
      for (const l of lines) {
        written.push(l);
        offsets.push(size);
        size += Buffer.byteLength(l) + 1;
      }
      await appendFile(log, lines.map((l) => `${l}\n`).join(''));
    };
    const linesFrom = (offset: number, end: number) =>
      offsets.filter((o) => o >= offset && o < end).length;

    // 1. First agent: two checkpoints, so `.prev` is older than the registry.
    await write(1, 3000);
    const first = await startAgent(agentConfig);
    stops.push(() => first.stop());
    const size1 = size;
    await waitFor(async () => (await registryOffset(registryPath)) === size1, {
      timeoutMs: 20_000,
      what: 'checkpoint of phase 1',
    });
    await write(2, 1000);
    const size2 = size;
    await waitFor(async () => (await registryOffset(registryPath)) === size2, {
      timeoutMs: 20_000,
      what: 'checkpoint of phase 2',
    });
    await first.stop();
    const { files } = first.checkpoints;
    const currentOffset = await registryOffset(files.current);
    const previousOffset = await registryOffset(files.previous);
    expect(currentOffset).toBe(size2);
    // The premise of the test: the last good copy is behind, so resuming from it resends lines.
    // (Phase 2 is one append, read and acked as one batch: one registry write, so `.prev` holds
    // exactly the phase 1 checkpoint.)
    expect(previousOffset).toBe(size1);
    expect(countLines(written, await readAllLines(out))).toEqual({
      written: 4000,
      delivered: 4000,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
    const dedupBefore = await dedupedLines(collector);
    expect(dedupBefore).toBe(0);

    // 2. Damage the registry; 3. more lines while the agent is down.
    await damage(files);
    const damagedBytes = await readFile(files.current).catch(() => undefined);
    await write(3, 1000);
    const size3 = size;

    // A second agent with the same config, logging warnings into memory to see the report.
    const logLines: string[] = [];
    const second = new Agent(
      validateConfig(
        agentConfigSchema,
        { scanIntervalMs: 100, pollIntervalMs: 20, ...agentConfig },
        'test agent',
      ),
      createLogger({ level: 'warn' }, { write: (s: string) => void logLines.push(s) }),
    );
    stops.push(() => second.stop());
    await second.start();
    expect(second.running).toBe(true);

    const report = second.checkpoints.loadReport;
    expect(report?.source).toBe(want.source);
    expect(report?.fresh).toBe(want.fresh);
    expect(report?.problems).toHaveLength(want.problems.length);
    want.problems.forEach((re, i) => expect(report?.problems[i]).toMatch(re));
    if (want.setAside) {
      // The damaged file is kept for inspection, byte for byte.
      expect(report?.corruptCopy).toBe(files.corrupt);
      expect((await readFile(files.corrupt)).equals(damagedBytes ?? Buffer.alloc(0))).toBe(true);
    } else {
      expect(report?.corruptCopy).toBeUndefined();
    }
    const warnings = logLines.map((l) => JSON.parse(l) as { level: string; msg: string });
    if (want.problems.length > 0) {
      expect(warnings).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          msg: 'checkpoint registry was damaged; using the last good state',
        }),
      );
    } else {
      expect(warnings.filter((w) => /checkpoint/.test(w.msg))).toEqual([]);
    }

    const resumeOffset = want.resumeFrom === 'previous' ? (previousOffset ?? -1) : 0;
    // Where the second agent starts reading is the last good checkpoint (or the beginning).
    expect(second.streams.map((s) => s.acked)).toEqual([resumeOffset]);

    await waitFor(() => second.streams[0]?.acked === size3, {
      timeoutMs: 20_000,
      what: 'second agent acked to the end of the file',
    });
    await sleep(300);

    // Every line exactly once: the resent ones were dropped by the collector's dedup.
    expect(countLines(written, await readAllLines(out))).toEqual({
      written: 5000,
      delivered: 5000,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
    // Exactly the lines between the resume offset and the damaged registry's offset were resent
    // and dropped: 1000 (phase 2) when resuming from `.prev`, all 4000 when reading from 0.
    expect(await dedupedLines(collector)).toBe(linesFrom(resumeOffset, size2));
    expect(linesFrom(resumeOffset, size2)).toBe(want.resumeFrom === 'previous' ? 1000 : 4000);

    // The registry is good again on disk: the next start finds the current state.
    await waitFor(async () => (await registryOffset(files.current)) === size3, {
      timeoutMs: 5_000,
      what: 'registry rewritten',
    });
    await second.stop();
    expect(await registryOffset(files.current)).toBe(size3);
  });
});
