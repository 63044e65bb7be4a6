import { describe, expect, it } from 'vitest';
import { reconcileAppend } from '../../../../../src/collector/sinks/hdfs/hdfs-sink.js';

// After an APPEND whose answer was lost, the file's length says what happened to it.
describe('reconcileAppend', () => {
  it.each([
    // before, sent, actual length, decision
    [1000, 200, 1200, 'done'], // landed whole: sending it again would duplicate it
    [1000, 200, 1000, 'retry'], // nothing landed
    [1000, 200, 1001, 'truncate'], // partly landed: cut back to 1000, then send again
    [1000, 200, 1199, 'truncate'],
    [1000, 200, 1201, 'conflict'], // more than this writer sent: someone else wrote
    [1000, 200, 999, 'conflict'], // less than was acknowledged
    [0, 50, 0, 'retry'], // a CREATE that made the file but wrote nothing
    [0, 50, 50, 'done'],
    [0, 50, 20, 'truncate'],
  ] as const)('before=%i sent=%i actual=%i → %s', (before, sent, actual, decision) => {
    expect(reconcileAppend(before, sent, actual)).toBe(decision);
  });
});
