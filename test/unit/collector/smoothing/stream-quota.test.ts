import { describe, expect, it } from 'vitest';
import { StreamQuota } from '../../../../src/collector/smoothing/stream-quota.js';

describe('StreamQuota', () => {
  it('admits known streams always and new ones while under the limit, per agent', () => {
    const quota = new StreamQuota(2, 1000);
    expect(quota.admit('a', 's1', 0)).toBe(true);
    expect(quota.admit('a', 's2', 0)).toBe(true);
    expect(quota.admit('a', 's3', 0)).toBe(false);
    expect(quota.admit('a', 's1', 10)).toBe(true);
    expect(quota.admit('b', 's3', 0)).toBe(true);
  });

  it('frees the room of streams idle past the idle time', () => {
    const quota = new StreamQuota(2, 1000);
    quota.admit('a', 's1', 0);
    quota.admit('a', 's2', 900);
    expect(quota.admit('a', 's3', 1500)).toBe(true); // s1 idle 1.5 s: forgotten
    expect(quota.admit('a', 's4', 1500)).toBe(false);
  });
});
