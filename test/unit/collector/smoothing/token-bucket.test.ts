import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../../src/collector/smoothing/rate-limiter.js';
import { TokenBucket } from '../../../../src/collector/smoothing/token-bucket.js';

describe('TokenBucket', () => {
  it('lets a burst through at once, then spaces requests at the rate', () => {
    const bucket = new TokenBucket(1000, 100, 0); // 1 token/ms, 100 deep
    expect(bucket.reserve(100, 0, 0)).toEqual({ ok: true, waitMs: 0 });
    expect(bucket.reserve(10, 0, 1000)).toEqual({ ok: true, waitMs: 10 });
    expect(bucket.reserve(10, 0, 1000)).toEqual({ ok: true, waitMs: 20 });
    // 15 ms later 15 tokens came back: the debt is 5.
    expect(bucket.tokens(15)).toBe(-5);
  });

  it('turns away a request that would wait longer than allowed, taking nothing', () => {
    const bucket = new TokenBucket(1000, 10, 0);
    bucket.reserve(10, 0, 0);
    // 25 could pass within 20 ms of a full bucket (issue 12 #6: a larger one goes into debt).
    expect(bucket.reserve(25, 0, 20)).toEqual({ ok: false, retryInMs: 5 });
    expect(bucket.tokens(0)).toBe(0);
    expect(bucket.reserve(20, 0, 20)).toEqual({ ok: true, waitMs: 20 });
  });

  it('lets one request larger than the whole bucket through, paying it off later', () => {
    const bucket = new TokenBucket(100, 100, 0); // 10 deep
    expect(bucket.reserve(50, 0, 1000)).toEqual({ ok: true, waitMs: 400 });
  });

  it('holds over any window at most the rate times the window, plus the burst', () => {
    const bucket = new TokenBucket(500, 200, 0); // 500/s, 100 deep
    const admitted: number[] = [];
    // Requests of 7 every ms for 10 s, each taking what the bucket allows with no waiting.
    for (let t = 0; t < 10_000; t++) if (bucket.reserve(7, t, 0).ok) admitted.push(t);
    const total = admitted.length * 7;
    expect(total).toBeLessThanOrEqual(500 * 10 + 100);
    expect(total).toBeGreaterThanOrEqual(500 * 10 - 7);
  });

  it('lets a request larger than depth plus hold through once full, at the rate (issue 12 #6)', () => {
    // 5000 lines/s, 200 ms deep (1000), 500 ms hold: 3500 lines is the most that ever fits in
    // time; an agent's batch of 4096 lines must still pass, and the rate must still hold.
    const bucket = new TokenBucket(5000, 200, 0);
    expect(bucket.reserve(4096, 0, 500)).toEqual({ ok: true, waitMs: 0 });
    // The excess is debt: the next batch is turned away until the debt is nearly repaid.
    const second = bucket.reserve(4096, 0, 500);
    expect(second.ok).toBe(false);
    const retryInMs = second.ok ? 0 : second.retryInMs;
    expect(retryInMs).toBeGreaterThan(0);
    // Asking again when told gets it through, once the bucket is full again.
    const third = bucket.reserve(4096, retryInMs + 1, 500);
    expect(third.ok).toBe(true);
    expect(third.ok && third.waitMs).toBeLessThanOrEqual(500);
    // Over a long run of such batches, what passes is the rate (plus one batch and the depth).
    let now = retryInMs + 1;
    let passed = 2 * 4096;
    while (now < 60_000) {
      const r = bucket.reserve(4096, now, 500);
      if (r.ok) {
        passed += 4096;
        now += 1;
      } else now += r.retryInMs + 1;
    }
    expect(passed).toBeGreaterThanOrEqual(5000 * 60 - 2 * 4096);
    expect(passed).toBeLessThanOrEqual(5000 * 60 + 1000 + 4096);
  });

  it('never fills beyond its depth after a long quiet time', () => {
    const bucket = new TokenBucket(1000, 50, 0);
    expect(bucket.tokens(1_000_000)).toBe(50);
  });
});

describe('RateLimiter', () => {
  it('waits for the slower of bytes and lines, and takes from neither when one refuses', () => {
    const limiter = new RateLimiter(
      { bytesPerSecond: 1000, recordsPerSecond: 10, burstMs: 1000, maxHoldMs: 500 },
      0,
    );
    expect(limiter.reserve(100, 10, 0)).toEqual({ ok: true, waitMs: 0 });
    // One more line costs 100 ms of the line rate, although bytes are plentiful.
    expect(limiter.reserve(1, 1, 0)).toEqual({ ok: true, waitMs: 100 });
    // 10 lines would wait 1.1 s: refused; the byte bucket keeps its 899 bytes.
    expect(limiter.reserve(899, 10, 0)).toMatchObject({ ok: false });
    // Bytes kept (no byte wait); the wait is the line bucket’s debt of one line.
    expect(limiter.reserve(899, 0, 0)).toEqual({ ok: true, waitMs: 100 });
  });

  it('lets a batch above bytes and lines depth plus hold through, then holds the rate', () => {
    // 300,000 bytes/s with the defaults (200 ms, 500 ms): 210,000 bytes is the most that fits
    // in time; a 1 MiB agent batch must still pass.
    const limiter = new RateLimiter(
      { bytesPerSecond: 300_000, recordsPerSecond: 5000, burstMs: 200, maxHoldMs: 500 },
      0,
    );
    expect(limiter.reserve(1_048_576, 10_000, 0)).toEqual({ ok: true, waitMs: 0 });
    const next = limiter.reserve(1_048_576, 10_000, 1000);
    expect(next.ok).toBe(false);
    const retryInMs = next.ok ? 0 : next.retryInMs;
    // Not before the byte debt plus the depth (1 MiB at 300,000/s ≈ 3.5 s) is repaid, less the
    // 500 ms the batch may then be held.
    expect(1000 + retryInMs).toBeGreaterThan(2990);
    expect(limiter.reserve(1_048_576, 10_000, 1001 + retryInMs)).toMatchObject({ ok: true });
  });

  it('is unlimited in a dimension left unset', () => {
    const limiter = new RateLimiter({ recordsPerSecond: 1000, burstMs: 1000, maxHoldMs: 0 }, 0);
    expect(limiter.reserve(1e12, 1, 0)).toEqual({ ok: true, waitMs: 0 });
  });
});
