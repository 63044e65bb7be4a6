import { describe, expect, it } from 'vitest';
import { LineFilter, patternProblem } from '../../../../src/agent/records/line-filter.js';
import { RecordStage, recordStageFor } from '../../../../src/agent/records/record-stage.js';
import { linesOf } from './helpers.js';

describe('LineFilter', () => {
  it('keeps only included lines, then drops excluded ones', () => {
    const f = new LineFilter({ includeLines: ['ERROR', 'WARN'], excludeLines: ['healthcheck'] });
    expect(f.keeps('ERROR db down')).toBe(true);
    expect(f.keeps('INFO started')).toBe(false);
    expect(f.keeps('WARN healthcheck slow')).toBe(false);
    expect(new LineFilter({}).empty).toBe(true);
  });

  it('reports a bad regex', () => {
    expect(patternProblem('[a-')).toMatch(/not a valid regular expression/);
    expect(patternProblem('^DEBUG')).toBeUndefined();
  });
});

describe('filters in the record stage: dropped lines are skipped bytes, never lost offsets', () => {
  it('accounts every dropped byte before, between and after the records', () => {
    const text = 'DEBUG a\nINFO b\nDEBUG c\nDEBUG d\nINFO e\nDEBUG f\n';
    const stage = new RecordStage({ excludeLines: ['^DEBUG'] });
    const out = stage.process(linesOf(text, 1000), { final: false, eof: true });
    expect(
      out.records.map((r) => [String(r.content), r.offset, r.skippedBefore, r.filteredBefore]),
    ).toEqual([
      ['INFO b', 1008, 8, 1],
      ['INFO e', 1031, 16, 2],
    ]);
    expect([out.start, out.end, out.skippedAfter, out.filteredAfter]).toEqual([1000, 1046, 8, 1]);
  });

  it('turns a read of only dropped lines into no records and a skip to the end', () => {
    const stage = new RecordStage({ includeLines: ['ERROR'] });
    const out = stage.process(linesOf('INFO a\nINFO b\n'), { final: false, eof: true });
    expect(out.records).toEqual([]);
    expect([out.end, out.skippedAfter, out.filteredAfter]).toEqual([14, 14, 2]);
  });

  it('filters whole multiline events, not their lines', () => {
    const text = 'DEBUG retry\n at x\nERROR boom\n at y\nINFO z\n';
    const stage = new RecordStage({
      multiline: { pattern: String.raw`^\s`, maxLines: 10, maxBytes: 4096, flushTimeoutMs: 0 },
      excludeLines: ['^DEBUG'],
    });
    const out = stage.process(linesOf(text), { final: true, eof: true });
    expect(out.records.map((r) => String(r.content))).toEqual(['ERROR boom\n at y', 'INFO z']);
    expect(out.records[0]?.skippedBefore).toBe(18);
    expect(out.records[0]?.filteredBefore).toBe(2);
  });

  it('counts a gap between lines (a skipped long line) as skipped bytes', () => {
    const lines = linesOf('a\nb\n');
    const moved = [lines[0]!, { ...lines[1]!, offset: 50 }];
    const out = new RecordStage({ excludeLines: ['^z'] }).process(moved, {
      final: true,
      eof: true,
    });
    expect(out.records.map((r) => [r.offset, r.skippedBefore])).toEqual([
      [0, 0],
      [50, 48],
    ]);
  });

  it('is left out entirely when a tail sets nothing', () => {
    expect(recordStageFor({})).toBeUndefined();
    expect(
      recordStageFor({ encoding: 'utf-8', includeLines: [], excludeLines: [] }),
    ).toBeUndefined();
    expect(recordStageFor({ excludeLines: ['x'] })).toBeDefined();
  });
});
