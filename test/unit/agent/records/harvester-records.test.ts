import { appendFile, readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  recordStageFor,
  type RecordStageOptions,
} from '../../../../src/agent/records/record-stage.js';
import type { Batch } from '../../../../src/common/wire/index.js';
import { validateBatch } from '../../../../src/collector/server/validate-batch.js';
import { harvesterOver } from './helpers.js';

const multiline = {
  pattern: String.raw`^\s`,
  maxLines: 100,
  maxBytes: 65536,
  flushTimeoutMs: 1000,
};

/** The records of a batch as the collector sees them: text and file offset. */
function received(batch: Batch): [string, number][] {
  const checked = validateBatch(batch, { maxBatchBytes: 1 << 20, maxBatchLines: 10_000 });
  if (!checked.ok) throw new Error(checked.rejection.reason);
  return checked.batch.lines.map((l, i) => [String(l), checked.batch.offsets[i] ?? -1]);
}

describe('the harvester with a record stage (real file, real tailer)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  function open(content: string, options: RecordStageOptions | undefined) {
    return harvesterOver(
      content,
      { records: options === undefined ? undefined : recordStageFor(options) },
      cleanups,
    );
  }

  it('holds the event at the end of the file until the next event, then the flush timeout', async () => {
    const { harvester, path } = await open('A\n at 1\nB\n at 2\n', { multiline });
    const first = await harvester.nextBatch(1000);
    expect(received(first!.batch)).toEqual([['A\n at 1', 0]]);
    expect(first!.batch.endOffset).toBe(8);
    // B is held: re-read, not sent, until it is complete or idle long enough.
    expect(await harvester.nextBatch(1100)).toBeUndefined();
    await appendFile(path, ' at 3\n');
    expect(await harvester.nextBatch(1900)).toBeUndefined();
    // Grown at 1900: the timeout counts from there.
    expect(await harvester.nextBatch(2800)).toBeUndefined();
    const flushed = await harvester.nextBatch(2900);
    expect(received(flushed!.batch)).toEqual([['B\n at 2\n at 3', 8]]);
    expect(flushed!.batch.endOffset).toBe(22);
    expect(harvester.settle(first!.sent)).toBe(8);
    expect(harvester.settle(flushed!.sent)).toBe(22);
  });

  it('sends a held event at once when the next event starts, or the file is orphaned', async () => {
    const { harvester, path } = await open('A\n at 1\n', { multiline });
    expect(await harvester.nextBatch(0)).toBeUndefined();
    await appendFile(path, ' at 2\nB\n');
    const next = await harvester.nextBatch(10);
    expect(received(next!.batch)).toEqual([['A\n at 1\n at 2', 0]]);
    expect(await harvester.nextBatch(20)).toBeUndefined();
    harvester.orphaned = true;
    const last = await harvester.nextBatch(30);
    expect(received(last!.batch)).toEqual([['B', 14]]);
    // Renamed to a rotated name (still matched by a glob): likewise.
    await appendFile(path, 'C\n at 3\n');
    harvester.orphaned = false;
    expect(await harvester.nextBatch(40)).toBeUndefined();
    harvester.atLiveName = false;
    const rotated = await harvester.nextBatch(50);
    expect(received(rotated!.batch)).toEqual([['C\n at 3', 16]]);
  });

  it('holds a CRI line whose F is not written yet, then sends it whole, or cut after partialFlushMs', async () => {
    const t = '2026-12-07T10:00:00.000000001Z';
    const p1 = `${t} stdout P first half, `;
    const f1 = `${t} stdout F second half`;
    const { harvester, path } = await open(`${p1}\n`, { format: 'cri', partialFlushMs: 500 });
    expect(await harvester.nextBatch(0)).toBeUndefined();
    await appendFile(path, `${f1}\n${t} stderr P waits `);
    const whole = await harvester.nextBatch(10);
    expect(received(whole!.batch)).toEqual([['first half, second half', 0]]);
    expect(whole!.batch.endOffset).toBe(p1.length + f1.length + 2);
    expect(whole!.batch.sourceLengths).toEqual([p1.length + f1.length + 2]);
    await appendFile(path, '\n');
    expect(await harvester.nextBatch(20)).toBeUndefined();
    expect(await harvester.nextBatch(510)).toBeUndefined();
    const flushed = await harvester.nextBatch(520);
    expect(received(flushed!.batch)).toEqual([['waits ', p1.length + f1.length + 2]]);
    expect(harvester.settle(whole!.sent)).toBe(p1.length + f1.length + 2);
    expect(harvester.settle(flushed!.sent)).toBe((await readFile(path)).length);
    expect(harvester.takeRecordCounts()).toEqual({
      filteredLines: 0,
      cutEvents: 0,
      invalidSequences: 0,
      malformedLines: 0,
      unfinishedLines: 1,
    });
  });

  it('after a rewind, reads from the acked event boundary and sends the same events again', async () => {
    const { harvester } = await open('A\n at 1\nB\n at 2\nC\n', { multiline });
    const sent = await harvester.nextBatch(0);
    expect(received(sent!.batch)).toEqual([
      ['A\n at 1', 0],
      ['B\n at 2', 8],
    ]);
    expect(harvester.rewind(sent!.sent, 0, 0)).toBe(true);
    const again = await harvester.nextBatch(1);
    // Events of "\n"-terminated UTF-8 lines joined by "\n" are as long as on disk: the
    // batch needs no source_lengths (an older collector could take it).
    expect(again!.batch).toMatchObject({ startOffset: 0, endOffset: 16, sourceLengths: [] });
    expect(received(again!.batch)).toEqual(received(sent!.batch));
  });

  it('moves the acked offset over a file of filtered lines with a batch of no records', async () => {
    const text = 'DEBUG a\nDEBUG b\nINFO c\nDEBUG d\n';
    const { harvester } = await open(text, { excludeLines: ['^DEBUG'] });
    const batch = await harvester.nextBatch(0);
    expect(batch!.batch).toMatchObject({
      startOffset: 0,
      endOffset: text.length,
      lineLengths: [6],
      skippedBefore: [16],
      skippedAfter: 8,
    });
    expect(received(batch!.batch)).toEqual([['INFO c', 16]]);
    expect(harvester.settle(batch!.sent)).toBe(text.length);
    expect(harvester.takeRecordCounts()).toEqual({
      filteredLines: 3,
      cutEvents: 0,
      invalidSequences: 0,
      malformedLines: 0,
      unfinishedLines: 0,
    });
    const { harvester: only } = await open('DEBUG x\nDEBUG y\n', { excludeLines: ['^DEBUG'] });
    const empty = await only.nextBatch(0);
    expect(empty!.batch).toMatchObject({
      lineLengths: [],
      startOffset: 0,
      endOffset: 16,
      skippedAfter: 16,
    });
    expect(only.settle(empty!.sent)).toBe(16);
    expect(await only.nextBatch(1)).toBeUndefined();
  });

  // The lost-ack hole: an event flushed by its timeout, its ack lost, then more lines join it on
  // disk. Read again as one longer record at the same offset, the collector (mark just past the
  // first record) would drop it whole as a duplicate, and the lines that joined would be lost.
  it('cuts an event flushed by its timeout where it was sent when its ack is lost and it grew', async () => {
    const { harvester, path } = await open('A\n at 1\nB\n at 2\n', { multiline });
    const first = await harvester.nextBatch(1000);
    expect(harvester.settle(first!.sent)).toBe(8);
    expect(await harvester.nextBatch(1100)).toBeUndefined();
    const flushed = await harvester.nextBatch(2200);
    expect(received(flushed!.batch)).toEqual([['B\n at 2', 8]]);
    // The connection dropped before the answer: read again from the acked offset.
    expect(harvester.rewind(flushed!.sent, 0, 2300)).toBe(true);
    await appendFile(path, ' at 3\nC\n');
    const again = await harvester.nextBatch(2400);
    // The same record again (the collector drops it), then the rest as a record of its own.
    expect(received(again!.batch)).toEqual([
      ['B\n at 2', 8],
      [' at 3', 16],
    ]);
    expect(again!.batch.endOffset).toBe(22);
    expect(harvester.settle(again!.sent)).toBe(22);
    // Acknowledged: the cut is forgotten, the next events are cut by the file alone.
    await appendFile(path, ' at 4\nD\n');
    expect(received((await harvester.nextBatch(2500))!.batch)).toEqual([['C\n at 4', 22]]);
  });

  it('cuts a partial line flushed from an orphaned file where it was sent when its ack is lost', async () => {
    const { harvester, path } = await open('x\nabc', undefined);
    harvester.orphaned = true;
    const first = await harvester.nextBatch(1000);
    expect(received(first!.batch)).toEqual([['x', 0]]);
    const partial = await harvester.nextBatch(1200);
    expect(received(partial!.batch)).toEqual([['abc', 2]]);
    expect(partial!.batch.endOffset).toBe(5);
    // Both answers lost; the writer, still holding the file open, completes the line.
    expect(harvester.rewind(partial!.sent, 0, 1250)).toBe(true);
    await appendFile(path, 'def\n');
    const again = await harvester.nextBatch(1300);
    expect(received(again!.batch)).toEqual([
      ['x', 0],
      ['abc', 2],
      ['def', 5],
    ]);
    expect(again!.batch.endOffset).toBe(9);
  });
});
