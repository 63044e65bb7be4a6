import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { agentConfigSchema } from '../../src/agent/config.js';
import { validateConfig } from '../../src/common/config/load-config.js';
import { captureLog } from '../helpers/log-capture.js';
import { countLines, readAllLines, startCollector } from '../helpers/relay.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

const NOBODY = 65534;

/**
 * Root reads any file whatever its mode: when the tests run as root, the agent's scans are made
 * under another effective uid (process-wide, libuv's threads included) for the unreadable phase.
 */
function unprivileged(): { restore: () => void } {
  const root = process.getuid?.() === 0;
  if (root) process.seteuid?.(NOBODY);
  return {
    restore: () => {
      if (root) process.seteuid?.(0);
    },
  };
}

// Issue 12 item 18: an unreadable file or folder is met again by every scan; it is logged once
// per file (or folder) and state, and every occurrence is counted in a metric.
describe('scan problems do not flood the log', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  it('logs an unreadable file and an unreadable folder once over ~30 scans, counts every one, and reads the file once it can', async () => {
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    await chmod(dir, 0o755);
    const logs = join(dir, 'logs');
    const locked = join(logs, 'locked');
    const state = join(dir, 'state');
    const out = join(dir, 'out');
    await mkdir(locked, { recursive: true });
    // Written by the agent and the collector while the effective uid is not root's.
    for (const writable of [state, out]) {
      await mkdir(writable);
      await chmod(writable, 0o777);
    }
    const lines = (name: string, n: number) => Array.from({ length: n }, (_, i) => `${name}:${i}`);
    const good = lines('good', 50);
    const secret = lines('unreadable', 20);
    const inner = lines('inner', 10);
    await writeFile(join(logs, 'good.log'), good.map((l) => `${l}\n`).join(''));
    await writeFile(join(logs, 'unreadable.log'), secret.map((l) => `${l}\n`).join(''));
    await writeFile(join(locked, 'inner.log'), inner.map((l) => `${l}\n`).join(''));
    await chmod(join(logs, 'unreadable.log'), 0o000);
    await chmod(locked, 0o000);

    const collector = await startCollector({
      id: 'c1',
      sinks: [{ type: 'file', name: 'out', directory: out, fsync: false }],
    });
    stops.push(() => collector.stop());
    const { log, records } = captureLog();
    const agent = new Agent(
      validateConfig(agentConfigSchema, {
        id: 'noise',
        collectors: [collector.address],
        scanIntervalMs: 50,
        pollIntervalMs: 20,
        tails: [{ paths: [join(logs, '**', '*.log')], topic: 'app' }],
        checkpoint: { path: join(state, 'registry.json'), flushIntervalMs: 50 },
      }),
      log,
    );

    const user = unprivileged();
    let scanned: number;
    try {
      await agent.start();
      stops.push(() => agent.stop());
      await waitFor(async () => (await readAllLines(out)).length >= good.length, {
        timeoutMs: 15_000,
        what: 'good.log shipped',
      });
      // About 30 scans more while the file and the folder stay unreadable.
      await sleep(1500);
      scanned = Number(
        /logrelay_agent_scan_problems_total\{kind="file"[^}]*\} (\d+)/.exec(
          await agent.registry.metrics(),
        )?.[1] ?? 0,
      );
    } finally {
      user.restore();
    }
    const metrics = await agent.registry.metrics();
    const folderCount = Number(
      /logrelay_agent_scan_problems_total\{kind="directory"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0,
    );
    const fileWarnings = records.filter(
      (r) => r['path'] === join(logs, 'unreadable.log') && r['level'] === 'warn',
    );
    const folderWarnings = records.filter((r) => r['dir'] === locked && r['level'] === 'warn');
    console.log(
      `scan noise: ${scanned} unreadable-file and ${folderCount} unreadable-folder occurrences; ` +
        `${fileWarnings.length} + ${folderWarnings.length} warnings`,
    );
    expect(fileWarnings).toHaveLength(1);
    expect(fileWarnings[0]?.['msg']).toContain('cannot open file');
    expect(folderWarnings).toHaveLength(1);
    expect(folderWarnings[0]?.['msg']).toContain('cannot read folder');
    expect(scanned).toBeGreaterThanOrEqual(10);
    expect(folderCount).toBeGreaterThanOrEqual(10);

    // Readable again: the file is read (and its recovery logged once), the folder's file too.
    await chmod(join(logs, 'unreadable.log'), 0o644);
    await chmod(locked, 0o755);
    const written = [...good, ...secret, ...inner];
    await waitFor(async () => (await readAllLines(out)).length >= written.length, {
      timeoutMs: 15_000,
      what: 'the files that became readable',
    });
    await sleep(300);
    expect(countLines(written, await readAllLines(out))).toEqual({
      written: 80,
      delivered: 80,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
    expect(records.filter((r) => r['msg'] === 'file opened after earlier problems')).toHaveLength(
      1,
    );
  });
});
