import { describe, expect, it } from 'vitest';
import { CutPoints } from '../../../../src/agent/harvest/cut-points.js';
import { linesOf } from '../records/helpers.js';

describe('CutPoints', () => {
  it('keeps offsets ascending and unique, and forgets the acknowledged ones', () => {
    const cuts = new CutPoints();
    for (const c of [30, 10, 20, 10, 30]) cuts.add(c);
    expect(cuts.size).toBe(3);
    expect([10, 20, 30].map((c) => cuts.endsAt(c))).toEqual([true, true, true]);
    cuts.dropThrough(20);
    expect(cuts.size).toBe(1);
    expect(cuts.endsAt(20)).toBe(false);
    expect(cuts.endsAt(30)).toBe(true);
    cuts.clear();
    expect(cuts.size).toBe(0);
  });

  it('splits a line a cut falls inside into the part sent unterminated and the rest', () => {
    const cuts = new CutPoints();
    cuts.add(5);
    const lines = cuts.split(linesOf('x\nabcdef\ny\n'));
    expect(lines.map((l) => [l.offset, String(l.content), l.terminatorLength])).toEqual([
      [0, 'x', 1],
      [2, 'abc', 0],
      [5, 'def', 1],
      [9, 'y', 1],
    ]);
  });

  it('leaves lines alone when cuts fall on their boundaries or outside them', () => {
    const cuts = new CutPoints();
    for (const c of [2, 9, 100]) cuts.add(c);
    const input = linesOf('x\nabcdef\ny\n');
    expect(cuts.split(input)).toEqual(input);
  });
});
