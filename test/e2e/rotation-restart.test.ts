import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Collector } from '../../src/collector/collector.js';
import { killAll, logProblems, spawnLogrelay } from '../helpers/processes.js';
import { countLines, readAllLines, startCollector } from '../helpers/relay.js';
import {
  perFileOrderBreaks,
  writeRotating,
  type RotationStyle,
} from '../helpers/rotating-writer.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

// The agent as a process, stopped (SIGTERM or SIGKILL) for 5 s while two files rotate under it;
// one collector with a file sink. Every line is counted, and each file's lines must arrive in
// the order they were written.
const FILES = ['a', 'b'];
const LINES_PER_FILE = 60_000;
const WRITE_MS = 12_000;

describe('agent restarted while files rotate (file sink)', () => {
  const stops: (() => Promise<void>)[] = [];

  afterAll(async () => {
    await killAll();
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  });

  async function run(
    style: RotationStyle,
    signal: 'SIGTERM' | 'SIGKILL',
    rotateEvery: number,
    glob = '*.log*',
  ) {
    const { dir, cleanup } = await tempDir('logrelay-e2e-rotation-');
    const logs = join(dir, 'logs');
    const out = join(dir, 'out');
    await mkdir(logs);
    const collector: Collector = await startCollector({
      id: `rot-collector-${style}-${signal}-${glob.length}`,
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
      id: 'rot-agent',
      host: 'e2e-host',
      collectors: [collector.address],
      tails: [{ paths: [join(logs, glob)], topic: 'app' }],
      lines: { partialFlushMs: 500 },
      ship: { retryInitialMs: 100, retryMaxMs: 1000 },
      checkpoint: { path: join(dir, 'agent.registry.json'), flushIntervalMs: 200 },
      log: { level: 'info' },
    };
    // The files exist and the agent reads them before the first line is written: with `*.log`,
    // copies made before the agent ever ran are history its glob does not ask for (a slow
    // start under load once let two rotations pass before the first scan).
    for (const file of FILES) await writeFile(join(logs, `${file}.log`), '');
    let agent = await spawnLogrelay('agent', 'agent', agentConfig, { dir });
    await agent.waitForLog((e) => e['msg'] === 'agent started', { what: 'agent started' });
    const written: string[] = [];
    const writing = writeRotating(
      {
        dir: logs,
        files: FILES,
        linesPerFile: LINES_PER_FILE,
        rotateEvery,
        style,
        durationMs: WRITE_MS,
      },
      written,
    );
    await sleep(4000);
    const exit = await agent.kill(signal);
    expect(exit.signal ?? `code ${exit.code}`).toBeTruthy();
    await sleep(5000);
    agent = await spawnLogrelay('agent', 'agent', agentConfig, { dir });
    await writing;
    await waitFor(async () => (await readAllLines(out)).length >= written.length, {
      timeoutMs: 60_000,
      what: `all ${written.length} lines`,
    }).catch(() => undefined);
    await sleep(1500);
    const delivered = await readAllLines(out);
    const result = {
      ...countLines(written, delivered),
      orderBreaks: perFileOrderBreaks(delivered),
    };
    console.log(
      `[rotation-restart ${style} ${signal} ${glob}] ${JSON.stringify({ ...result, problems: await logProblems(agent.logFile), dir })}`,
    );
    await agent.kill('SIGTERM');
    return { result, cleanup };
  }

  const exact = {
    written: FILES.length * LINES_PER_FILE,
    delivered: FILES.length * LINES_PER_FILE,
    missing: 0,
    duplicated: 0,
    unexpected: 0,
    orderBreaks: 0,
  };

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`rename rotation, agent stopped with ${signal}: every line once, each file in order`, async () => {
      const { result, cleanup } = await run('rename', signal, 6000);
      expect(result).toEqual(exact);
      await cleanup();
    });
  }

  // With `*.log*` the copies are matched by the glob; with `*.log` they are found in the live
  // file's folder: the rest of the last content read, then the generations copied while the
  // agent was down (born since), oldest first.
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    for (const glob of ['*.log*', '*.log']) {
      it(`copytruncate with ${glob}, agent stopped with ${signal}: every line once, each file in order`, async () => {
        const { result, cleanup } = await run('copytruncate', signal, 6000, glob);
        expect(result).toEqual(exact);
        await cleanup();
      });
    }
  }
});
