import { describe, expect, it } from 'vitest';
import { LagClock } from '../../../../src/agent/harvest/lag-clock.js';

describe('LagClock', () => {
  it('dates the oldest unacknowledged byte by when the file was first seen holding it', () => {
    const clock = new LagClock();
    clock.observe(100, 1_000);
    clock.observe(100, 1_500); // no growth: no new mark
    clock.observe(250, 2_000);
    expect(clock.secondsBehind(0, 3_000)).toBe(2);
    // Bytes up to 100 acked: the oldest waiting byte (100..250) was first seen at 2 s.
    expect(clock.secondsBehind(100, 3_000)).toBe(1);
    expect(clock.secondsBehind(250, 3_000)).toBe(0);
  });

  it('reads 0 when caught up and starts over after a truncation', () => {
    const clock = new LagClock();
    expect(clock.secondsBehind(0, 5_000)).toBe(0);
    clock.observe(500, 1_000);
    clock.observe(40, 4_000); // truncated: the old marks are meaningless now
    expect(clock.secondsBehind(0, 5_000)).toBe(1);
    clock.reset();
    expect(clock.secondsBehind(0, 5_000)).toBe(0);
  });

  it('keeps the oldest mark exact when it has to merge marks', () => {
    const clock = new LagClock();
    for (let i = 1; i <= 1_000; i++) clock.observe(i * 10, i * 100);
    expect(clock.secondsBehind(0, 100_100)).toBe(100);
    // Later marks were merged, so a later byte may read younger, never older than it is.
    const behind = clock.secondsBehind(5_000, 100_100);
    expect(behind).toBeGreaterThan(0);
    expect(behind).toBeLessThanOrEqual(50.1);
  });
});
