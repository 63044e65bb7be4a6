import { describe, expect, it } from 'vitest';
import { MarkRetention } from '../../../../src/collector/dedup/mark-retention.js';

describe('MarkRetention (issue 12 #15)', () => {
  it('forgets a stream idle for streamIdleMs, not before, and not while busy', () => {
    const r = new MarkRetention({ streamIdleMs: 60_000, supersededIdleMs: 10_000 });
    r.touch('a:1:1:0', 'a', '/x.log', 0);
    r.touch('a:1:2:0', 'a', '/y.log', 30_000);
    expect(r.sweep(59_999)).toEqual([]);
    expect(r.sweep(60_000, (k) => k === 'a:1:1:0')).toEqual([]);
    expect(r.sweep(60_000)).toEqual(['a:1:1:0']);
    // Seen again: idle counts from then.
    r.touch('a:1:2:0', 'a', '/y.log', 80_000);
    expect(r.sweep(100_000)).toEqual([]);
    expect(r.sweep(140_000)).toEqual(['a:1:2:0']);
    expect(r.size).toBe(0);
  });

  it('forgets a generation superseded by a newer one of the same file once idle supersededIdleMs', () => {
    const r = new MarkRetention({ streamIdleMs: 3_600_000, supersededIdleMs: 10_000 });
    r.touch('a:1:1:0', 'a', '/app.log', 0);
    r.touch('a:1:2:0', 'a', '/app.log', 1_000); // rotated: a new generation
    // The old generation is still being read after the rotation: it stays while in use.
    r.touch('a:1:1:0', 'a', '/app.log', 5_000);
    expect(r.sweep(14_999)).toEqual([]);
    expect(r.sweep(15_000)).toEqual(['a:1:1:0']);
    // The current generation and another agent's file of the same path stay.
    r.touch('b:1:1:0', 'b', '/app.log', 15_000);
    expect(r.sweep(1_000_000)).toEqual([]);
    expect(r.size).toBe(2);
  });

  it('holds a bounded number of streams however many rotate through', () => {
    const r = new MarkRetention({ streamIdleMs: 3_600_000, supersededIdleMs: 60_000 });
    let forgotten = 0;
    // 10 agents × 2 files, rotating every second for 10 hours: 720,000 streams.
    for (let t = 0; t < 36_000; t++) {
      for (let a = 0; a < 10; a++)
        for (let f = 0; f < 2; f++) r.touch(`a${a}:1:${f}-${t}:0`, `a${a}`, `/f${f}.log`, t * 1000);
      forgotten += r.sweep(t * 1000).length;
    }
    // Every superseded generation is gone after 60 s: at most 61 per file are left.
    expect(r.size).toBeLessThanOrEqual(20 * 62);
    expect(forgotten + r.size).toBe(720_000);
  });
});
