import { appendFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harvester, type HarvesterOptions } from '../../../../src/agent/harvest/harvester.js';
import { FileTailer } from '../../../../src/agent/tail/file-reader.js';
import { TailErrorCode } from '../../../../src/agent/tail/line-splitter.js';
import { tempDir } from '../../../helpers/temp-dir.js';

// Issue 15 item 5: a file's descriptor closed (parked) and opened again keeps its place,
// identity and generation, holds no read buffer while closed, and a file replaced or truncated
// meanwhile is told apart exactly as for a file kept open.

const opts: HarvesterOptions = {
  agentId: 'a1',
  host: 'h',
  topic: 't',
  tailName: 'local:0',
  maxBatchBytes: 1024 * 1024,
  maxBatchLines: 10_000,
  partialFlushMs: 5000,
  maxWaitMs: 0,
};

const lines = (from: number, n: number, tag = 'line') =>
  Array.from({ length: n }, (_, i) => `${tag} ${from + i} ${'x'.repeat(40)}\n`).join('');

describe('parking a harvester', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterEach(async () => cleanup());

  async function harvester(path: string): Promise<Harvester> {
    const tailer = await FileTailer.open(path, { chunkBytes: 4096 });
    return new Harvester(opts, tailer, path, 0);
  }

  /** Reads every batch there is now, acking each; returns the lines. */
  async function readAll(h: Harvester, now = Date.now()): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const next = await h.nextBatch(now);
      if (!next) return out;
      const text = next.batch.lines.toString();
      let at = 0;
      for (const n of next.batch.lineLengths) {
        out.push(text.slice(at, at + n));
        at += n;
      }
      h.settle(next.sent);
    }
  }

  it('is parkable only with nothing in flight, and drained while closed unless waiting', async () => {
    const path = join(dir, 'a.log');
    await writeFile(path, lines(0, 10));
    const h = await harvester(path);
    const next = await h.nextBatch(Date.now());
    expect(next).toBeDefined();
    expect(h.parkable).toBe(false); // a batch in flight: the file is its buffer
    h.settle(next!.sent);
    await h.nextBatch(Date.now());
    expect(h.parkable).toBe(true);
    expect(h.drained).toBe(true);
    await h.park(1000);
    expect(h.parked).toBe(true);
    expect(h.tailer.closed).toBe(true);
    expect(h.tailer.bufferedBytes).toBe(0);
    expect(h.waitingSince).toBeUndefined(); // read to its end: waits for nothing
    expect(h.drained).toBe(true);
    expect(h.ready(Date.now())).toBe(false);
    expect(h.resumeAt).toBe(h.acked);
    h.waitingSince = 2000; // a scan saw it grow
    expect(h.drained).toBe(false);
  });

  it('goes on where it stopped after reopening: every line once', async () => {
    const path = join(dir, 'a.log');
    await writeFile(path, lines(0, 100));
    const h = await harvester(path);
    const before = await readAll(h);
    await h.park(Date.now());
    await appendFile(path, lines(100, 50));
    h.unpark(await h.tailer.reopen(path, h.resumeAt), Date.now());
    const after = await readAll(h);
    expect(before).toHaveLength(100);
    expect(after).toHaveLength(50);
    expect(after[0]).toMatch(/^line 100 /);
    expect(new Set([...before, ...after]).size).toBe(150);
  });

  it('parked with a backlog (its turn ended): waits, and resumes at the first unread line', async () => {
    const path = join(dir, 'a.log');
    await writeFile(path, lines(0, 1000));
    const tailer = await FileTailer.open(path, { chunkBytes: 4096 });
    const h = new Harvester({ ...opts, maxBatchLines: 100 }, tailer, path, 0);
    const first = await h.nextBatch(Date.now());
    h.settle(first!.sent);
    await h.park(500);
    expect(h.waitingSince).toBe(500);
    expect(h.resumeAt).toBe(first!.batch.endOffset);
    h.unpark(await h.tailer.reopen(path, h.resumeAt), Date.now());
    const rest = await readAll(h);
    expect(rest).toHaveLength(900);
    expect(rest[0]).toMatch(/^line 100 /);
  });

  it('keeps a partial last line: it is read whole after reopening', async () => {
    const path = join(dir, 'a.log');
    await writeFile(path, `${lines(0, 3)}half of li`);
    const h = await harvester(path);
    expect(await readAll(h)).toHaveLength(3);
    await h.park(Date.now());
    await appendFile(path, 'ne 3\n');
    h.unpark(await h.tailer.reopen(path, h.resumeAt), Date.now());
    expect(await readAll(h)).toEqual(['half of line 3']);
  });

  it('refuses to reopen another file under the name (rotated while closed)', async () => {
    const path = join(dir, 'a.log');
    await writeFile(path, lines(0, 10));
    const h = await harvester(path);
    await readAll(h);
    await h.park(Date.now());
    await rename(path, `${path}.1`);
    await writeFile(path, lines(0, 10, 'new'));
    await expect(h.tailer.reopen(path, h.resumeAt)).rejects.toMatchObject({
      code: TailErrorCode.Replaced,
    });
    // Found again at its rotated name, it is the same file and goes on.
    await appendFile(`${path}.1`, lines(10, 5));
    h.unpark(await h.tailer.reopen(`${path}.1`, h.resumeAt), Date.now());
    const rest = await readAll(h);
    expect(rest).toHaveLength(5);
    expect(rest[0]).toMatch(/^line 10 /);
  });

  it('sees a truncation in place made while closed (copytruncate) as a new generation', async () => {
    const path = join(dir, 'a.log');
    await writeFile(path, lines(0, 50));
    const h = await harvester(path);
    await readAll(h);
    const generation = h.generation;
    await h.park(Date.now());
    // Truncated and written again past the old end, while nothing held it open.
    await writeFile(path, lines(0, 80, 'new'));
    h.unpark(await h.tailer.reopen(path, h.resumeAt), Date.now());
    const after = await readAll(h);
    expect(h.generation).toBe(generation + 1);
    expect(h.previous?.cause).toBe('rewritten');
    // The new content is read from its start once the old generation is settled.
    h.previous = undefined;
    after.push(...(await readAll(h)));
    expect(after).toHaveLength(80);
    expect(after[0]).toMatch(/^new 0 /);
  });
});
