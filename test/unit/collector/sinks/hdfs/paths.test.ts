import { describe, expect, it } from 'vitest';
import {
  hdfsFilePaths,
  inProgressPattern,
  matchSegment,
  partitionKey,
  periodEnd,
  finalPathOf,
} from '../../../../../src/collector/sinks/hdfs/file-layout.js';

const naming = { prefix: '.', suffix: '.inprogress' };

const template = '/logrelay/{topic}/dt={yyyy-MM-dd}/hour={HH}/{collector}-{n}.log';
const time = new Date(Date.UTC(2026, 10, 27, 3, 54, 30));

describe('hdfs sink path naming', () => {
  it('expands the default template to Hive-style partitions, the in-progress name hidden', () => {
    const paths = hdfsFilePaths(template, naming, { topic: 'web', collector: 'c1', n: 7, time });
    expect(paths).toEqual({
      final: '/logrelay/web/dt=2026-11-27/hour=03/c1-7.log',
      inProgress: '/logrelay/web/dt=2026-11-27/hour=03/.c1-7.log.inprogress',
      recovering: '/logrelay/web/dt=2026-11-27/hour=03/.c1-7.log.inprogress.recovering',
    });
    expect(finalPathOf(paths.inProgress, naming)).toBe(paths.final);
    // Without a prefix, the old layout (visible in-progress names) is still expressible.
    expect(
      hdfsFilePaths(
        template,
        { prefix: '', suffix: '.tmp' },
        { topic: 'a', collector: 'c', n: 0, time },
      ).inProgress,
    ).toBe('/logrelay/a/dt=2026-11-27/hour=03/c-0.log.tmp');
  });

  it('keys partitions by topic and hour, not by the counter', () => {
    const key = (topic: string, t: Date) =>
      partitionKey(template, { topic, collector: 'c1', time: t });
    const sameHour = new Date(Date.UTC(2026, 10, 27, 3, 59, 59));
    const nextHour = new Date(Date.UTC(2026, 10, 27, 4, 0, 0));
    expect(key('web', time)).toBe(key('web', sameHour));
    expect(key('web', time)).not.toBe(key('web', nextHour));
    expect(key('web', time)).not.toBe(key('db', time));
  });

  it("matches this collector's in-progress files only, segment by segment", () => {
    const pattern = inProgressPattern(template, 'c.1', naming);
    expect(pattern).toBeDefined();
    const segments = pattern ?? [];
    expect(segments.map((s) => s.literal)).toEqual([
      'logrelay',
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    const [, topic, day, hour, file] = segments;
    if (!topic || !day || !hour || !file) throw new Error('five segments expected');
    expect(matchSegment(topic, 'web')).toEqual({});
    expect(matchSegment(day, 'dt=2026-11-27')).toEqual({ yyyy: 2026, MM: 11, dd: 27 });
    expect(matchSegment(day, 'dt=latest')).toBeUndefined();
    expect(matchSegment(hour, 'hour=03')).toEqual({ HH: 3 });
    expect(matchSegment(file, '.c.1-12.log.inprogress')).toEqual({});
    // Another collector's file, a final file, and a name the dot must not match.
    expect(matchSegment(file, '.c2-12.log.inprogress')).toBeUndefined();
    expect(matchSegment(file, 'c.1-12.log.inprogress')).toBeUndefined();
    expect(matchSegment(file, 'c.1-12.log')).toBeUndefined();
    expect(matchSegment(file, '.cx1-12.log.inprogress')).toBeUndefined();
  });

  it('does not recover anything when the template cannot tell collectors apart', () => {
    expect(inProgressPattern('/logs/{topic}/{n}.log', 'c1', naming)).toBeUndefined();
  });

  it('computes the end of the period a partition covers, for the recovery look-back', () => {
    expect(periodEnd({})).toBeUndefined();
    expect(periodEnd({ yyyy: 2026 })).toBe(Date.UTC(2027, 0, 1));
    expect(periodEnd({ yyyy: 2026, MM: 12 })).toBe(Date.UTC(2027, 0, 1));
    expect(periodEnd({ yyyy: 2026, MM: 11, dd: 30 })).toBe(Date.UTC(2026, 11, 1));
    expect(periodEnd({ yyyy: 2026, MM: 11, dd: 27, HH: 23 })).toBe(Date.UTC(2026, 10, 28));
  });
});
