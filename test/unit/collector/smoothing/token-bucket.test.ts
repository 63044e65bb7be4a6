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
    expect(bucket.reserve(50, 0, 20)).toEqual({ ok: false, retryInMs: 30 });
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

  it('is unlimited in a dimension left unset', () => {
    const limiter = new RateLimiter({ recordsPerSecond: 1000, burstMs: 1000, maxHoldMs: 0 }, 0);
    expect(limiter.reserve(1e12, 1, 0)).toEqual({ ok: true, waitMs: 0 });
  });
});
