import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CheckpointRegistry,
  checkpointErrorCodes,
  type CheckpointFs,
  type CheckpointRegistryOptions,
  type CheckpointUpdate,
} from '../../../../src/agent/checkpoint/index.js';
import { RelayError } from '../../../../src/common/errors/relay-error.js';
import { createLogger } from '../../../../src/common/logging/logger.js';
import { tempDir } from '../../../helpers/temp-dir.js';
import { sleep, waitFor } from '../../../helpers/wait-for.js';

interface Doc {
  entries: Record<string, { offset: number }>;
}

function ack(offset: number): CheckpointUpdate {
  return { offset, path: '/var/log/app.log', device: 1, inode: 2, fingerprint: 'ab', topic: 't' };
}

async function exists(file: string): Promise<boolean> {
  return fsp.access(file).then(
    () => true,
    () => false,
  );
}

function captureLog(): {
  lines: Record<string, unknown>[];
  logger: ReturnType<typeof createLogger>;
} {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'debug' }, sink) };
}

// Runs in a child process: writes the registry as fast as it can, one acked offset per write, and
// prints each offset once flush() has put it on disk.
const CRASH_CHILD = `
const { CheckpointRegistry } = await import(process.env.REGISTRY_MODULE);
const r = new CheckpointRegistry({ path: process.env.REGISTRY_PATH, flushIntervalMs: 0 });
await r.start();
let offset = Number(process.env.START_OFFSET);
for (;;) {
  offset += 1;
  r.set('k', { offset, path: '/p', device: 1, inode: 2, fingerprint: 'f', topic: 't' });
  await r.flush();
  process.stdout.write(offset + '\\n');
}
`;

function ioError(code: string): Error {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

describe('CheckpointRegistry recovery', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let file: string;
  const open: CheckpointRegistry[] = [];

  function registry(options: CheckpointRegistryOptions = {}, flushIntervalMs = 60_000) {
    const r = new CheckpointRegistry({ path: file, flushIntervalMs }, options);
    open.push(r);
    return r;
  }

  async function offsetOnDisk(path = file, key = 'k'): Promise<number | undefined> {
    const doc = JSON.parse(await fsp.readFile(path, 'utf8')) as Doc;
    return doc.entries[key]?.offset;
  }

  /** Leaves `registry.json` at offset 200 and `registry.json.prev` at offset 100. */
  async function twoGenerations(): Promise<void> {
    const r = registry();
    await r.start();
    r.set('k', ack(100));
    await r.flush();
    r.set('k', ack(200));
    await r.stop();
    expect(await offsetOnDisk(file)).toBe(200);
    expect(await offsetOnDisk(`${file}.prev`)).toBe(100);
  }

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('logrelay-checkpoint-'));
    file = join(dir, 'registry.json');
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((r) => r.stop().catch(() => undefined)));
    await cleanup();
  });

  describe('loading a damaged registry', () => {
    it('a registry truncated to 0 bytes: uses the previous copy and reports it', async () => {
      await twoGenerations();
      await fsp.truncate(file, 0);
      const { lines, logger } = captureLog();
      const r = registry({ logger });
      await r.start();

      expect(r.get('k')?.offset).toBe(100);
      expect(r.loadReport).toMatchObject({ source: 'previous', fresh: false, entries: 1 });
      expect(r.loadReport?.problems).toEqual([`${file}: empty file (0 bytes)`]);
      expect(r.loadReport?.corruptCopy).toBe(`${file}.corrupt`);
      expect((await fsp.stat(`${file}.corrupt`)).size).toBe(0);
      const warning = lines.find((l) => l['level'] === 'warn');
      expect(warning).toMatchObject({ source: 'previous', problems: r.loadReport?.problems });

      // The registry is rewritten at once; the good previous copy is not replaced by the bad one.
      await waitFor(() => r.stats.writes === 1, { what: 'repair write' });
      expect(await offsetOnDisk(file)).toBe(100);
      expect(await offsetOnDisk(`${file}.prev`)).toBe(100);
      r.set('k', ack(150));
      await r.flush();
      expect(await offsetOnDisk(file)).toBe(150);
      expect(await offsetOnDisk(`${file}.prev`)).toBe(100);
    });

    const damaged: [string, string | Buffer, RegExp][] = [
      ['random bytes', randomBytes(4_096), /not valid JSON/],
      [
        'a torn document',
        '{"version":1,"writtenAt":1,"entries":{"k":{"offset":2',
        /not valid JSON/,
      ],
      ['whitespace', '  \n\n', /empty file \(4 bytes of whitespace\)/],
      ['JSON null', 'null', /wrong shape: not a JSON object but object/],
      ['a JSON array', '[1,2]', /wrong shape: not a JSON object but an array/],
      ['no version', '{"entries":{}}', /wrong shape: no "version" field/],
      ['an unknown version', '{"version":2,"writtenAt":1,"entries":{}}', /unknown version 2/],
      [
        'a bad entry',
        '{"version":1,"writtenAt":1,"entries":{"k":{"offset":-1,"path":"p","device":"1","inode":"2","fingerprint":"f","topic":"t","updatedAt":1}}}',
        /wrong shape: entries\.k\.offset: /,
      ],
      ['missing entries', '{"version":1,"writtenAt":1}', /wrong shape: entries: /],
    ];
    for (const [what, content, reason] of damaged) {
      it(`a registry holding ${what}: uses the previous copy and says why`, async () => {
        await twoGenerations();
        await fsp.writeFile(file, content);
        const r = registry();
        await r.start();
        expect(r.loadReport?.source).toBe('previous');
        expect(r.loadReport?.problems).toHaveLength(1);
        expect(r.loadReport?.problems[0]).toMatch(reason);
        expect(r.loadReport?.problems[0]?.length).toBeLessThan(300);
        expect(r.get('k')?.offset).toBe(100);
      });
    }

    it('both copies damaged: starts empty and reports both', async () => {
      await twoGenerations();
      await fsp.writeFile(file, randomBytes(100));
      await fsp.truncate(`${file}.prev`, 0);
      const { lines, logger } = captureLog();
      const r = registry({ logger });
      await r.start();
      expect(r.size).toBe(0);
      expect(r.loadReport).toMatchObject({ source: 'empty', fresh: false, entries: 0 });
      expect(r.loadReport?.problems).toHaveLength(2);
      expect(r.loadReport?.problems[0]).toContain(`${file}: not valid JSON`);
      expect(r.loadReport?.problems[1]).toBe(`${file}.prev: empty file (0 bytes)`);
      expect(lines.find((l) => l['level'] === 'warn')?.['msg']).toMatch(/starting empty/);

      r.set('k', ack(5));
      await r.flush();
      expect(await offsetOnDisk(file)).toBe(5);
    });

    it('registry missing but a previous copy present: uses it and reports the missing file', async () => {
      await twoGenerations();
      await fsp.rm(file);
      const r = registry();
      await r.start();
      expect(r.loadReport?.source).toBe('previous');
      expect(r.loadReport?.problems).toEqual([`${file}: missing, but a previous copy exists`]);
      expect(r.get('k')?.offset).toBe(100);
    });

    it('nothing on disk: a fresh start, reported as such and not as a problem', async () => {
      const { lines, logger } = captureLog();
      const r = registry({ logger });
      await r.start();
      expect(r.loadReport).toEqual({
        source: 'empty',
        fresh: true,
        problems: [],
        entries: 0,
        cleanedTempFiles: [],
      });
      expect(lines.filter((l) => l['level'] === 'warn')).toEqual([]);
      expect(lines.map((l) => l['msg'])).toContain('no checkpoint registry yet: fresh start');
      // Nothing to say yet, so nothing is written.
      await r.stop();
      expect(await exists(file)).toBe(false);
    });

    it('ignores and deletes temp files left by a crash mid-write', async () => {
      await twoGenerations();
      await fsp.writeFile(`${file}.tmp`, '{"version":1,"writtenAt":1,"entries":{"k":{"off');
      await fsp.writeFile(`${file}.prev.tmp`, randomBytes(64));
      const r = registry();
      await r.start();
      expect(r.loadReport).toMatchObject({ source: 'current', problems: [] });
      expect(r.loadReport?.cleanedTempFiles).toEqual([`${file}.tmp`, `${file}.prev.tmp`]);
      expect(r.get('k')?.offset).toBe(200);
      expect(await exists(`${file}.tmp`)).toBe(false);
      expect(await exists(`${file}.prev.tmp`)).toBe(false);
    });

    it('a registry that exists but cannot be read fails the start instead of starting empty', async () => {
      await fsp.mkdir(file);
      const r = registry();
      const error = await r.start().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(RelayError);
      expect((error as RelayError).code).toBe(checkpointErrorCodes.unreadable);
      expect(r.state).toBe('stopped');
    });
  });

  describe('kill -9 mid-write', () => {
    it('always leaves a registry that loads cleanly at or past the last flushed offset', async () => {
      const script = join(dir, 'crash-child.mjs');
      await fsp.writeFile(script, CRASH_CHILD);
      const registryModule = fileURLToPath(
        new URL('../../../../src/agent/checkpoint/registry.ts', import.meta.url),
      );
      let lastFlushed = 0;
      for (let round = 0; round < 3; round++) {
        const child = spawn(process.execPath, ['--import', 'tsx', script], {
          env: {
            ...process.env,
            REGISTRY_MODULE: registryModule,
            REGISTRY_PATH: file,
            START_OFFSET: String(lastFlushed),
          },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        const exited = new Promise((resolve) => child.once('exit', resolve));
        let printed = '';
        child.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
        const target = lastFlushed + 20 + round * 7;
        await waitFor(() => printed.split('\n').some((l) => Number(l) >= target), {
          timeoutMs: 15_000,
          what: 'child progress',
        });
        child.kill('SIGKILL');
        await exited;
        const flushed = Math.max(...printed.split('\n').filter(Boolean).map(Number));

        const r = registry();
        await r.start();
        expect(r.loadReport).toMatchObject({ source: 'current', problems: [] });
        expect(r.get('k')?.offset).toBeGreaterThanOrEqual(flushed);
        lastFlushed = r.get('k')?.offset ?? 0;
        await r.stop();
      }
    }, 60_000);
  });

  describe('writing', () => {
    it('a failed write (full disk) keeps the old file and the state, and a later flush succeeds', async () => {
      let full = true;
      const fs: Partial<CheckpointFs> = {
        open: async (path, flags) => {
          const handle = await fsp.open(path, flags);
          if (!(full && path === `${file}.tmp`)) return handle;
          await handle.close();
          throw ioError('ENOSPC');
        },
      };
      const r = registry({ fs });
      await r.start();
      r.set('k', ack(1));
      full = false;
      await r.flush();
      full = true;
      r.set('k', ack(2));
      const error = await r.flush().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(RelayError);
      expect((error as RelayError).code).toBe(checkpointErrorCodes.writeFailed);
      expect((error as RelayError).retriable).toBe(true);
      expect(r.stats).toMatchObject({ writes: 1, writeFailures: 1, dirty: true });
      expect(await offsetOnDisk(file)).toBe(1);
      expect(await exists(`${file}.tmp`)).toBe(false);
      expect(r.get('k')?.offset).toBe(2);

      full = false;
      await r.flush();
      expect(await offsetOnDisk(file)).toBe(2);
      expect(r.stats).toMatchObject({ writes: 2, consecutiveWriteFailures: 0, dirty: false });
      expect(r.stats.lastWriteError).toBeUndefined();
    });

    it('a failed timed write is retried by the timer', async () => {
      let failures = 1;
      const fs: Partial<CheckpointFs> = {
        rename: async (from, to) => {
          if (from === `${file}.tmp` && failures > 0) {
            failures--;
            throw ioError('EIO');
          }
          await fsp.rename(from, to);
        },
      };
      const r = registry({ fs }, 10);
      await r.start();
      r.set('k', ack(3));
      await waitFor(() => r.stats.writes === 1, { what: 'retried write' });
      expect(r.stats.writeFailures).toBe(1);
      expect(await offsetOnDisk(file)).toBe(3);
    });

    it('concurrent flush() calls never interleave writes, and each sees its state on disk', async () => {
      let active = 0;
      let maxActive = 0;
      let started = 0;
      const fs: Partial<CheckpointFs> = {
        open: async (path, flags) => {
          if (path === `${file}.tmp`) {
            active++;
            started++;
            maxActive = Math.max(maxActive, active);
            // Widen the window in which a second write could overlap this one.
            await sleep(5);
          }
          return fsp.open(path, flags);
        },
        rename: async (from, to) => {
          await fsp.rename(from, to);
          if (from === `${file}.tmp`) active--;
        },
      };
      const r = registry({ fs });
      await r.start();

      const checks: Promise<boolean>[] = [];
      for (let i = 1; i <= 20; i++) {
        r.set('k', ack(i));
        const offsetAtCall = i;
        checks.push(r.flush().then(async () => ((await offsetOnDisk()) ?? 0) >= offsetAtCall));
        if (i % 5 === 0) await sleep(2);
      }
      expect(await Promise.all(checks)).toEqual(new Array<boolean>(20).fill(true));
      expect(maxActive).toBe(1);
      expect(started).toBeLessThan(20);
      expect(await offsetOnDisk()).toBe(20);
    });

    it('a burst of flush() calls during one write adds exactly one more write', async () => {
      let writesStarted = 0;
      const fs: Partial<CheckpointFs> = {
        open: async (path, flags) => {
          if (path === `${file}.tmp`) {
            writesStarted++;
            await sleep(5);
          }
          return fsp.open(path, flags);
        },
      };
      const r = registry({ fs });
      await r.start();
      r.set('k', ack(1));
      const first = r.flush();
      const more: Promise<void>[] = [];
      for (let i = 2; i <= 10; i++) {
        r.set('k', ack(i));
        more.push(r.flush());
      }
      await Promise.all([first, ...more]);
      expect(writesStarted).toBe(2);
      expect(await offsetOnDisk()).toBe(10);
    });
  });
});
