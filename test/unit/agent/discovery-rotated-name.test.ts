import { describe, expect, it } from 'vitest';
import { isRotationOf, liveNameOf } from '../../../src/agent/discovery/rotated-name.js';

describe('rotated names', () => {
  it('recognises counters and dates, compressed or not', () => {
    for (const p of ['/l/app.log.1', '/l/app.log.12', '/l/app.log-20240101', '/l/app.log.2.gz'])
      expect(isRotationOf(p, '/l/app.log'), p).toBe(true);
    for (const p of ['/l/app.log', '/l/app.log-errors', '/l/app.log.bak', '/l/app.logx'])
      expect(isRotationOf(p, '/l/app.log'), p).toBe(false);
  });

  it('maps a generation to its live name, never to another generation', () => {
    const names = ['/l/app.log', '/l/app.log.1', '/l/app.log.2', '/l/other.log'];
    expect(liveNameOf('/l/app.log.2', names)).toBe('/l/app.log');
    expect(liveNameOf('/l/app.log.1.gz', names)).toBe('/l/app.log');
    expect(liveNameOf('/l/app.log', names)).toBe('/l/app.log');
    expect(liveNameOf('/l/other.log.3', ['/l/other.log.3'])).toBe('/l/other.log.3');
  });
});
