import { describe, expect, it } from 'vitest';
import { RateLimitedWarn } from '../../../../src/collector/server/rate-limited-warn.js';
import { captureLog } from '../../../helpers/log-capture.js';

describe('RateLimitedWarn', () => {
  it('logs the first event of each kind, counts the rest of the interval, and says how many it left out', () => {
    const { log, records } = captureLog();
    let now = 0;
    const warn = new RateLimitedWarn(log, 10_000, () => now);
    for (let i = 0; i < 5; i++) warn.warn('a', { peer: `p${i}` }, 'kind a');
    warn.warn('b', { peer: 'q' }, 'kind b');
    now = 9_999;
    warn.warn('a', { peer: 'late' }, 'kind a');
    now = 10_000;
    warn.warn('a', { peer: 'next' }, 'kind a');
    expect(records.map((r) => [r['level'], r['msg'], r['peer'], r['suppressed']])).toEqual([
      ['warn', 'kind a', 'p0', undefined],
      ['warn', 'kind b', 'q', undefined],
      ['warn', 'kind a', 'next', 5],
    ]);
  });
});
