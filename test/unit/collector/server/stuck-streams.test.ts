import { describe, expect, it } from 'vitest';
import { StuckStreams } from '../../../../src/collector/server/stuck-streams.js';
import { captureLog } from '../../../helpers/log-capture.js';

describe('StuckStreams', () => {
  it('reports a lane failing for longer than the limit: once in the log, in readiness, by sink', () => {
    let now = 0;
    const { log, records } = captureLog();
    const stuck = new StuckStreams(60_000, log, () => now);
    stuck.failed('kafka', 's1', 'broker down');
    now = 30_000;
    stuck.failed('kafka', 's1', 'broker down');
    stuck.failed('hdfs', 's2', 'namenode down');
    expect(stuck.stuck()).toEqual([]);
    expect(stuck.readiness()).toBe(true);
    now = 61_000;
    stuck.failed('kafka', 's1', 'still down');
    stuck.failed('kafka', 's1', 'still down');
    expect(stuck.stuck()).toEqual([
      { sink: 'kafka', stream: 's1', forMs: 61_000, lastError: 'still down' },
    ]);
    expect(stuck.readiness()).toMatch(
      /1 stream\(s\).*s1 on sink kafka for 61000 ms \(still down\)/,
    );
    expect(Object.fromEntries(stuck.countBySink())).toEqual({ kafka: 1 });
    const warnings = records.filter((e) => e['level'] === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ sink: 'kafka', stream: 's1', stuckMs: 61_000 });

    stuck.progressed('kafka', 's1');
    expect(stuck.stuck()).toEqual([]);
    expect(stuck.readiness()).toBe(true);
    expect(records.some((e) => e['msg'] === 'stream makes progress again')).toBe(true);
  });

  it('forgets a lane nobody has tried for longer than the limit (its agent moved away)', () => {
    let now = 0;
    const { log } = captureLog();
    const stuck = new StuckStreams(10_000, log, () => now);
    stuck.failed('kafka', 's1', 'down');
    now = 9_000;
    stuck.failed('kafka', 's1', 'down');
    now = 12_000;
    expect(stuck.stuck()).toHaveLength(1);
    now = 19_001;
    expect(stuck.stuck()).toEqual([]);
    // A new failure starts a new stall.
    stuck.failed('kafka', 's1', 'down');
    now = 25_000;
    expect(stuck.stuck()).toEqual([]);
  });
});
