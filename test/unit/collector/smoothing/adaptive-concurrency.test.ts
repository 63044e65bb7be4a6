import { describe, expect, it } from 'vitest';
import { AdaptiveConcurrency } from '../../../../src/collector/smoothing/adaptive-concurrency.js';
import type { ConcurrencyConfig } from '../../../../src/collector/smoothing/config.js';

const config: ConcurrencyConfig = {
  initial: 4,
  min: 1,
  max: 16,
  decrease: 0.5,
  latencyTolerance: 0.5,
};

/** Runs `n` writes at once, all answering after `latencyMs` (ok or overloaded), at time `now`. */
async function round(
  c: AdaptiveConcurrency,
  now: number,
  latencyMs: number,
  overloaded = false,
  n = c.limit,
): Promise<void> {
  await Promise.all(Array.from({ length: n }, () => c.acquire()));
  for (let i = 0; i < n; i++) c.release({ latencyMs, overloaded }, now + latencyMs);
}

describe('AdaptiveConcurrency', () => {
  it('queues beyond the limit and admits in arrival order as slots free', async () => {
    const c = new AdaptiveConcurrency({ ...config, initial: 1, max: 1 }, 0);
    await c.acquire();
    const order: number[] = [];
    const a = c.acquire().then(() => order.push(1));
    const b = c.acquire().then(() => order.push(2));
    expect(c.waiting).toBe(2);
    c.release({ latencyMs: 5, overloaded: false }, 5);
    await a;
    c.release({ latencyMs: 5, overloaded: false }, 10);
    await b;
    expect(order).toEqual([1, 2]);
    expect(c.inFlight).toBe(1);
  });

  it('grows by one per saturated window while latency holds, up to max', async () => {
    const c = new AdaptiveConcurrency(config, 0);
    let now = 0;
    for (let i = 0; i < 30; i++) {
      await round(c, now, 100);
      now += 100;
    }
    expect(c.limit).toBe(16);
  });

  it('halves on errors and on a latency climb, never below min', async () => {
    const c = new AdaptiveConcurrency({ ...config, initial: 16 }, 0);
    await round(c, 0, 100); // sets the usual latency
    expect(c.limit).toBe(16);
    // 4× the usual latency: a climb, seen once a window holds mostly slow writes.
    await round(c, 200, 400);
    await round(c, 700, 400);
    expect(c.limit).toBe(8);
    await round(c, 1500, 50, true);
    expect(c.limit).toBe(4);
    for (let i = 0; i < 5; i++) await round(c, 2000 + i * 500, 50, true);
    expect(c.limit).toBe(1);
  });

  it('does not grow when the sink is not the bottleneck (the limit was never reached)', async () => {
    const c = new AdaptiveConcurrency(config, 0);
    for (let i = 0; i < 10; i++) await round(c, i * 100, 100, false, 2);
    expect(c.limit).toBe(4);
  });
});
