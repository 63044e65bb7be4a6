import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { captureLog } from '../helpers/log-capture.js';
import { countLines, readAllLines, startAgent, startCollector } from '../helpers/relay.js';
import { endpoint, requireService } from '../helpers/services.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

/** Flips every link between `inside` and `outside` as fast as it can (atomic renames). */
const FLIPPER = `
const { renameSync, symlinkSync, rmSync } = require('node:fs');
const [inside, outside, ...links] = process.argv.slice(1);
for (let n = 0; ; n++) {
  for (const link of links) {
    const tmp = link + '.tmp';
    rmSync(tmp, { force: true });
    symlinkSync(n % 2 === 0 ? outside : inside, tmp);
    renameSync(tmp, link);
  }
}`;

// Issue 12 item 2: a remote tail's file is checked on the descriptor that was opened, so a
// symlink flipped between the check and the open cannot ship a file outside `remote.allow`.
describe('remote.allow cannot be raced with a flipping symlink', () => {
  const etcd = new Etcd3({ hosts: `http://${endpoint('etcd')}` });
  const key = `/${uniqueName('allowrace')}/tails`;
  const stops: (() => Promise<void>)[] = [];
  let flipper: ChildProcess | undefined;

  beforeAll(async () => {
    await requireService('etcd');
  });
  afterEach(async () => {
    if (flipper?.pid !== undefined && flipper.exitCode === null) flipper.kill('SIGKILL');
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  });
  afterAll(async () => {
    for (const k of [key, `${key}.status`])
      await etcd
        .delete()
        .key(k)
        .catch(() => undefined);
    etcd.close();
  });

  it('ships no line of the outside file while links flip for 10 s at a 10 ms scan, and reports the tail refused', async () => {
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const logs = join(dir, 'logs');
    const secretDir = join(dir, 'secret');
    const out = join(dir, 'out');
    await mkdir(logs);
    await mkdir(secretDir);
    const secret = join(secretDir, 'shadow');
    await writeFile(secret, [1, 2, 3, 4, 5].map((i) => `SECRET line ${i}\n`).join(''));
    const inside = join(logs, 'inside.data');
    const written = Array.from({ length: 200 }, (_, i) => `inside line ${i}`);
    await writeFile(inside, written.map((l) => `${l}\n`).join(''));
    const links = Array.from({ length: 8 }, (_, i) => join(logs, `link-${i}.log`));
    for (const link of links) await symlink(inside, link);

    const collector = await startCollector({
      id: 'c1',
      sinks: [{ type: 'file', name: 'out', directory: out, fsync: false }],
    });
    stops.push(() => collector.stop());
    await etcd
      .put(key)
      .value(
        JSON.stringify([{ id: 7, log_path: join(logs, 'link-*.log'), topic: 'app', status: '1' }]),
      );
    const { log, records } = captureLog();
    const agent = await startAgent(
      {
        id: 'allow-race',
        collectors: [collector.address],
        scanIntervalMs: 10,
        pollIntervalMs: 10,
        checkpoint: { path: join(dir, 'registry.json'), flushIntervalMs: 50 },
        lines: { partialFlushMs: 0 },
        remote: {
          etcd: { endpoints: [endpoint('etcd')], key },
          allow: [logs],
          statePath: join(dir, 'remote.json'),
          pollMs: 500,
        },
      },
      log,
    );
    stops.push(() => agent.stop());

    flipper = spawn(process.execPath, ['-e', FLIPPER, inside, secret, ...links], {
      stdio: 'ignore',
    });
    const flipping = flipper;
    const started = Date.now();
    let appended = 0;
    while (Date.now() - started < 10_000) {
      const line = `inside late ${appended++}`;
      written.push(line);
      await appendFile(inside, `${line}\n`);
      await sleep(50);
    }
    flipping.kill('SIGKILL');
    await new Promise((r) => flipping.once('exit', r));
    // Every link back on the inside file: what is inside must arrive, whole and once.
    for (const link of links) {
      await symlink(inside, `${link}.fix`);
      await rename(`${link}.fix`, link);
    }
    await waitFor(
      async () =>
        (await readAllLines(out)).filter((l) => l.startsWith('inside')).length >= written.length,
      { timeoutMs: 15_000, what: 'every inside line' },
    );
    await sleep(300);

    const delivered = await readAllLines(out);
    const leaked = delivered.filter((l) => l.includes('SECRET'));
    const metrics = await agent.registry.metrics();
    const refusals = Number(
      /logrelay_agent_scan_problems_total\{kind="file"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0,
    );
    const warnings = records.filter((r) => String(r['msg']).startsWith('refused:')).length;
    console.log(
      `allow race: ${refusals} refusals in 10 s (${warnings} logged), ${leaked.length} secret ` +
        `lines shipped, ${delivered.length} lines delivered`,
    );
    expect(leaked).toEqual([]);
    expect(refusals).toBeGreaterThan(0);
    // Logged once per link, however often it flipped.
    expect(warnings).toBeGreaterThan(0);
    expect(warnings).toBeLessThanOrEqual(links.length);
    expect(countLines(written, delivered)).toEqual({
      written: written.length,
      delivered: written.length,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
    const status = JSON.parse((await etcd.get(`${key}.status`).string()) ?? '{}') as {
      refused?: { id: string; reason: string }[];
    };
    expect(status.refused?.map((r) => r.id)).toEqual(['7']);
    expect(status.refused?.[0]?.reason).toBe('resolves outside the allowed roots (symlink)');
  });
});
