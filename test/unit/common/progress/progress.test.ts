import { describe, expect, it } from 'vitest';
import { Progress } from '../../../../src/common/progress/progress.js';

function sink(isTTY: boolean) {
  const writes: string[] = [];
  return { stream: { isTTY, write: (t: string) => writes.push(t) }, writes };
}

describe('Progress', () => {
  it('on a terminal redraws one status line and prints milestones above it', () => {
    const { stream, writes } = sink(true);
    const p = new Progress(stream);
    expect(p.live).toBe(true);
    p.update('10/100');
    p.log('collector stopped');
    p.update('20/100');
    p.done();
    expect(writes.join('')).toBe(
      '\r\x1b[2K10/100' +
        '\r\x1b[2K' +
        'collector stopped\n' +
        '10/100' +
        '\r\x1b[2K20/100' +
        '\r\x1b[2K',
    );
  });

  it('elsewhere prints milestones only, as plain lines', () => {
    const { stream, writes } = sink(false);
    const p = new Progress(stream);
    p.update('10/100');
    p.tick(() => 'never drawn');
    p.log('collector stopped');
    p.done();
    p.done();
    expect(writes).toEqual(['collector stopped\n']);
  });
});
