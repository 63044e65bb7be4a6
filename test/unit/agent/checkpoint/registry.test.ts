import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CheckpointRegistry,
  checkpointErrorCodes,
  type CheckpointRegistryOptions,
  type CheckpointUpdate,
} from '../../../../src/agent/checkpoint/index.js';
import type { CheckpointConfigInput } from '../../../../src/agent/checkpoint/index.js';
import { RelayError } from '../../../../src/common/errors/relay-error.js';
import { createLogger } from '../../../../src/common/logging/logger.js';
import { createMetricsRegistry } from '../../../../src/common/metrics/registry.js';
import { tempDir } from '../../../helpers/temp-dir.js';
import { sleep, waitFor } from '../../../helpers/wait-for.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Doc {
  version: number;
  writtenAt: number;
  entries: Record<string, { offset: number; path: string; removedAt?: number }>;
}

function ack(offset: number, over: Partial<CheckpointUpdate> = {}): CheckpointUpdate {
  return {
    offset,
    path: '/var/log/app.log',
    device: 2049,
    inode: 131_077,
    fingerprint: 'f00dfeed',
    topic: 'app',
    ...over,
  };
}

async function readDoc(file: string): Promise<Doc> {
  return JSON.parse(await readFile(file, 'utf8')) as Doc;
}

function expectCode(fn: () => unknown, code: string): void {
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(RelayError);
  expect((error as RelayError).code).toBe(code);
}

describe('CheckpointRegistry', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let file: string;
  const open: CheckpointRegistry[] = [];
  let clock: number;
  const now = (): number => clock;

  function registry(
    config: Partial<CheckpointConfigInput> = {},
    options: CheckpointRegistryOptions = {},
  ): CheckpointRegistry {
    const r = new CheckpointRegistry({ path: file, ...config }, { now, ...options });
    open.push(r);
    return r;
  }

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('logrelay-checkpoint-'));
    file = join(dir, 'state', 'registry.json');
    clock = Date.UTC(2025, 0, 1);
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((r) => r.stop().catch(() => undefined)));
    await cleanup();
  });

  describe('round trip', () => {
    it('persists every field as a versioned document and loads it back', async () => {
      const a = registry();
      await a.start();
      expect(a.loadReport).toMatchObject({ source: 'empty', fresh: true, problems: [] });
      const bigInode = 2n ** 63n + 5n;
      a.set('agent-1:2049:131077:f00dfeed', ack(4_096));
      a.set('agent-1:2049:99:beef', ack(10, { path: '/var/log/b.log', inode: bigInode }));
      clock += 1_000;
      a.markRemoved('agent-1:2049:99:beef');
      await a.stop();

      const doc = await readDoc(file);
      expect(doc.version).toBe(1);
      expect(doc.writtenAt).toBe(clock);
      expect(Object.keys(doc.entries)).toHaveLength(2);

      const b = registry();
      await b.start();
      expect(b.loadReport).toMatchObject({ source: 'current', fresh: false, problems: [] });
      expect(b.loadReport?.entries).toBe(2);
      expect(b.get('agent-1:2049:131077:f00dfeed')).toEqual({
        key: 'agent-1:2049:131077:f00dfeed',
        offset: 4_096,
        path: '/var/log/app.log',
        keyPath: '/var/log/app.log',
        device: '2049',
        inode: '131077',
        fingerprint: 'f00dfeed',
        topic: 'app',
        updatedAt: clock - 1_000,
      });
      const removed = b.get('agent-1:2049:99:beef');
      expect(removed?.inode).toBe(bigInode.toString());
      expect(removed?.removedAt).toBe(clock);
      expect(b.entries().map((e) => e.key)).toEqual([
        'agent-1:2049:131077:f00dfeed',
        'agent-1:2049:99:beef',
      ]);
      expect(b.size).toBe(2);
    });

    it('keeps the cuts past the acked offset across a restart, drops them once acked or reset', async () => {
      const a = registry();
      await a.start();
      expect(a.setCuts('k', [120])).toBe(false);
      a.set('k', ack(100));
      expect(a.setCuts('k', [90, 120, 150])).toBe(true);
      await a.flush();
      expect((await readDoc(file)).entries.k).toMatchObject({ offset: 100, cuts: [120, 150] });
      await a.stop();
      const b = registry();
      await b.start();
      expect(b.get('k')?.cuts).toEqual([120, 150]);
      // The first flushed record was acknowledged: its cut is no longer needed.
      b.set('k', ack(120));
      expect(b.get('k')?.cuts).toEqual([150]);
      b.set('k', ack(150));
      expect(b.get('k')?.cuts).toBeUndefined();
      b.set('k', ack(200));
      b.setCuts('k', [260]);
      b.reset('k', 0, 'truncated');
      expect(b.get('k')?.cuts).toBeUndefined();
      expectCode(() => b.setCuts('k', [-1]), checkpointErrorCodes.invalidArgument);
    });

    it('keeps the key path of a stream from its first ack, across renames and restarts', async () => {
      const a = registry();
      await a.start();
      a.set('k', ack(10, { path: '/var/log/app.log', keyPath: '/var/log/app.log' }));
      // Rotated by rename: the path changes, the key path does not.
      a.set('k', ack(20, { path: '/var/log/app.log.1', keyPath: '/var/log/app.log.1' }));
      a.touch('k', { path: '/var/log/app.log.2' });
      expect(a.get('k')).toMatchObject({ path: '/var/log/app.log.2', keyPath: '/var/log/app.log' });
      await a.stop();
      const b = registry();
      await b.start();
      expect(b.get('k')).toMatchObject({ path: '/var/log/app.log.2', keyPath: '/var/log/app.log' });
      await b.stop();

      // A registry written before key paths existed: the key path is the path.
      const doc = await readDoc(file);
      for (const entry of Object.values(doc.entries))
        delete (entry as { keyPath?: string }).keyPath;
      await writeFile(file, JSON.stringify(doc));
      const c = registry();
      await c.start();
      expect(c.get('k')).toMatchObject({
        path: '/var/log/app.log.2',
        keyPath: '/var/log/app.log.2',
      });
    });

    it('keeps the previous good copy beside the registry', async () => {
      const r = registry({ flushIntervalMs: 60_000 });
      await r.start();
      r.set('k', ack(100));
      await r.flush();
      r.set('k', ack(200));
      await r.flush();
      r.set('k', ack(300));
      await r.flush();
      expect((await readDoc(file)).entries['k']?.offset).toBe(300);
      expect((await readDoc(`${file}.prev`)).entries['k']?.offset).toBe(200);
      expect(r.files.previous).toBe(`${file}.prev`);
    });

    it('falls back to copying when the file system has no hard links', async () => {
      const r = registry(
        { flushIntervalMs: 60_000 },
        {
          fs: {
            link: () => Promise.reject(Object.assign(new Error('no links'), { code: 'EPERM' })),
          },
        },
      );
      await r.start();
      r.set('k', ack(1));
      await r.flush();
      r.set('k', ack(2));
      await r.flush();
      expect((await readDoc(file)).entries['k']?.offset).toBe(2);
      expect((await readDoc(`${file}.prev`)).entries['k']?.offset).toBe(1);
    });

    it('reloads from disk when started again after a stop', async () => {
      const r = registry();
      await r.start();
      r.set('k', ack(7));
      await r.stop();
      expect(r.get('k')?.offset).toBe(7);
      await r.start();
      expect(r.loadReport?.source).toBe('current');
      expect(r.get('k')?.offset).toBe(7);
    });
  });

  describe('acked offsets', () => {
    it('only move forward; a late ack still updates the path', async () => {
      const r = registry({ flushIntervalMs: 60_000 });
      await r.start();
      expect(r.set('k', ack(100))).toBe(true);
      expect(r.set('k', ack(50, { path: '/var/log/app.log.1' }))).toBe(false);
      expect(r.get('k')).toMatchObject({ offset: 100, path: '/var/log/app.log.1' });
      expect(r.set('k', ack(100))).toBe(true);
      expect(r.set('k', ack(150))).toBe(true);
      expect(r.get('k')?.offset).toBe(150);
      await r.flush();
      expect((await readDoc(file)).entries['k']?.offset).toBe(150);
    });

    it('move backwards only through reset, which is persisted', async () => {
      const r = registry({ flushIntervalMs: 60_000 });
      await r.start();
      r.set('k', ack(5_000));
      await r.flush();
      expect(r.reset('k', 0, 'copytruncate')).toBe(true);
      expect(r.reset('unknown', 0)).toBe(false);
      expect(r.get('k')?.offset).toBe(0);
      expect(r.set('k', ack(120))).toBe(true);
      await r.flush();
      expect((await readDoc(file)).entries['k']?.offset).toBe(120);
    });

    it('rejects keys and offsets that cannot be right', async () => {
      const r = registry();
      await r.start();
      expectCode(() => r.set('', ack(1)), checkpointErrorCodes.invalidArgument);
      for (const offset of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
        expectCode(() => r.set('k', ack(offset)), checkpointErrorCodes.invalidArgument);
      }
      r.set('k', ack(1));
      expectCode(() => r.reset('k', -5), checkpointErrorCodes.invalidArgument);
      expect(r.get('k')?.offset).toBe(1);
    });

    it('touch follows a rename and clears a removal mark; delete forgets', async () => {
      const r = registry({ flushIntervalMs: 60_000 });
      await r.start();
      r.set('k', ack(10));
      expect(r.markRemoved('k')).toBe(true);
      expect(r.get('k')?.removedAt).toBe(clock);
      clock += 5;
      expect(r.touch('k', { path: '/var/log/app.log.1' })).toBe(true);
      expect(r.get('k')).toMatchObject({ path: '/var/log/app.log.1', updatedAt: clock });
      expect(r.get('k')?.removedAt).toBeUndefined();
      expect(r.touch('nope')).toBe(false);
      expect(r.markRemoved('nope')).toBe(false);
      expect(r.delete('k')).toBe(true);
      expect(r.delete('k')).toBe(false);
      expect(r.has('k')).toBe(false);
      await r.flush();
      expect((await readDoc(file)).entries).toEqual({});
    });
  });

  describe('coalesced writes', () => {
    it('turns many set() calls into one write, and writes nothing more until the interval', async () => {
      const r = registry({ flushIntervalMs: 60_000 });
      await r.start();
      for (let i = 1; i <= 1_000; i++) r.set(`k${i % 10}`, ack(i));
      // The first change after a quiet period is written at once (leading edge).
      await waitFor(() => r.stats.writes === 1, { what: 'first write' });
      expect((await readDoc(file)).entries['k0']?.offset).toBe(1_000);

      for (let i = 1_001; i <= 1_100; i++) r.set(`k${i % 10}`, ack(i));
      await sleep(50);
      expect(r.stats.writes).toBe(1);
      expect(r.stats.dirty).toBe(true);

      await r.flush();
      expect(r.stats.writes).toBe(2);
      expect((await readDoc(file)).entries['k0']?.offset).toBe(1_100);
      await r.flush();
      await r.stop();
      expect(r.stats.writes).toBe(2);
    });

    it('writes later changes on its own once the interval has passed', async () => {
      const r = registry({ flushIntervalMs: 20 });
      await r.start();
      r.set('k', ack(1));
      await waitFor(() => r.stats.writes === 1, { what: 'first write' });
      r.set('k', ack(2));
      await waitFor(() => r.stats.writes === 2, { what: 'second write' });
      expect((await readDoc(file)).entries['k']?.offset).toBe(2);
      expect(r.stats.dirty).toBe(false);
    });

    it('stop() flushes what the timer has not written yet', async () => {
      const r = registry({ flushIntervalMs: 60_000 });
      await r.start();
      r.set('k', ack(1));
      await r.flush();
      r.set('k', ack(2));
      r.set('other', ack(9));
      expect(r.stats.dirty).toBe(true);
      await r.stop();
      expect(r.stats.writes).toBe(2);
      const doc = await readDoc(file);
      expect(doc.entries['k']?.offset).toBe(2);
      expect(doc.entries['other']?.offset).toBe(9);
    });
  });

  describe('lifecycle', () => {
    it('stop is idempotent and safe before start; flush before start does nothing', async () => {
      const r = registry();
      await r.stop();
      await r.flush();
      expect(r.state).toBe('new');
      await r.start();
      await Promise.all([r.stop(), r.stop()]);
      await r.stop();
      expect(r.state).toBe('stopped');
    });

    it('refuses changes when not running, and reads before the first start', async () => {
      const r = registry();
      expectCode(() => r.set('k', ack(1)), checkpointErrorCodes.notRunning);
      expectCode(() => r.get('k'), checkpointErrorCodes.notRunning);
      await r.start();
      r.set('k', ack(1));
      await r.stop();
      expectCode(() => r.set('k', ack(2)), checkpointErrorCodes.notRunning);
      expectCode(() => r.reset('k', 0), checkpointErrorCodes.notRunning);
      expectCode(() => r.markRemoved('k'), checkpointErrorCodes.notRunning);
      expect(r.get('k')?.offset).toBe(1);
    });

    it('exposes its counters as Prometheus metrics', async () => {
      const metrics = createMetricsRegistry({}, false);
      const r = registry({}, { metrics });
      await r.start();
      r.set('a', ack(1));
      r.set('b', ack(1));
      await r.flush();
      const text = await metrics.metrics();
      expect(text).toContain('logrelay_checkpoint_entries 2');
      expect(text).toContain('logrelay_checkpoint_writes_total 1');
      expect(text).toContain('logrelay_checkpoint_write_failures_total 0');
      expect(text).toContain('logrelay_checkpoint_load_problems_total 0');
    });
  });

  describe('cleanup (fake clock)', () => {
    it('drops an entry whose file is gone once cleanRemovedAfterMs has passed', async () => {
      const r = registry({ flushIntervalMs: 60_000 });
      await r.start();
      r.set('gone', ack(10));
      r.set('kept', ack(10));
      r.markRemoved('gone');
      clock += DAY - 1;
      await r.flush();
      expect(r.has('gone')).toBe(true);
      clock += 1;
      await r.flush();
      expect(r.has('gone')).toBe(false);
      expect(r.has('kept')).toBe(true);
      expect(Object.keys((await readDoc(file)).entries)).toEqual(['kept']);
    });

    it('keeps acking a removed file (finishing it) without clearing the mark', async () => {
      const r = registry({ flushIntervalMs: 60_000, cleanRemovedAfterMs: HOUR });
      await r.start();
      r.set('k', ack(10));
      r.markRemoved('k');
      clock += HOUR / 2;
      r.set('k', ack(20));
      expect(r.get('k')?.removedAt).toBe(clock - HOUR / 2);
      clock += HOUR / 2;
      await r.flush();
      expect(r.has('k')).toBe(false);
    });

    it('drops entries not updated for cleanInactiveAfterMs; touch keeps a live file', async () => {
      const r = registry({ flushIntervalMs: 60_000 });
      await r.start();
      r.set('idle', ack(1));
      r.set('watched', ack(1));
      r.set('busy', ack(1));
      clock += 6 * DAY;
      r.touch('watched');
      r.set('busy', ack(2));
      clock += DAY - 1;
      await r.flush();
      expect(r.size).toBe(3);
      clock += 1;
      await r.flush();
      expect(r.entries().map((e) => e.key)).toEqual(['watched', 'busy']);
      expect(Object.keys((await readDoc(file)).entries)).toEqual(['watched', 'busy']);
    });

    it('touch writes only when updatedAt is stale by 1% of the inactivity window', async () => {
      const r = registry({ flushIntervalMs: 60_000, cleanInactiveAfterMs: 100 * HOUR });
      await r.start();
      r.set('k', ack(1));
      await r.flush();
      clock += HOUR - 1;
      r.touch('k');
      expect(r.stats.dirty).toBe(false);
      clock += 1;
      r.touch('k');
      expect(r.stats.dirty).toBe(true);
      expect(r.get('k')?.updatedAt).toBe(clock);
    });

    it('does not count time the agent was down as inactivity', async () => {
      const a = registry({ flushIntervalMs: 60_000 });
      await a.start();
      a.set('k', ack(1));
      await a.stop();
      clock += 30 * DAY;
      const b = registry({ flushIntervalMs: 60_000 });
      await b.start();
      await b.flush();
      expect(b.has('k')).toBe(true);
      clock += 7 * DAY;
      await b.flush();
      expect(b.has('k')).toBe(false);
    });

    it('never drops idle entries when cleanInactiveAfterMs is 0', async () => {
      const r = registry({ flushIntervalMs: 60_000, cleanInactiveAfterMs: 0 });
      await r.start();
      r.set('k', ack(1));
      clock += 365 * DAY;
      await r.flush();
      expect(r.has('k')).toBe(true);
    });

    it('logs what it cleaned', async () => {
      const lines: Record<string, unknown>[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          done();
        },
      });
      const r = registry(
        { flushIntervalMs: 60_000, cleanRemovedAfterMs: 0 },
        { logger: createLogger({ level: 'info' }, sink) },
      );
      await r.start();
      r.set('k', ack(1));
      r.markRemoved('k');
      await r.flush();
      expect(r.has('k')).toBe(false);
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: 'cleaned checkpoint entries', removed: 1, inactive: 0 }),
      );
    });
  });
});
