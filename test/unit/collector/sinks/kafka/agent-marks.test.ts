import { describe, expect, it } from 'vitest';
import {
  AgentMarks,
  decodeBucket,
  encodeBucket,
} from '../../../../../src/collector/sinks/kafka/agent-marks.js';

describe('AgentMarks', () => {
  it('keeps each stream’s mark in one bucket and reads back what it committed', () => {
    const marks = new AgentMarks(16);
    const a = marks.set('agent:1:2:0', 1234);
    const b = marks.set('agent:1:3:0', 99);
    expect(a.partition).toBe(marks.bucketOf('agent:1:2:0'));
    expect(marks.get('agent:1:2:0')).toBe(1234);
    expect(marks.get('agent:1:9:0')).toBeUndefined();

    // A new owner loads the committed metadata of every bucket and sees the same marks.
    const offsets = [a, b].map(({ partition, metadata }) => ({ partition, offset: 0, metadata }));
    // When both streams share a bucket, the later commit carries both.
    const latest = new Map(offsets.map((o) => [o.partition, o]));
    const next = new AgentMarks(16);
    next.load([...latest.values()]);
    expect(next.get('agent:1:2:0')).toBe(1234);
    expect(next.get('agent:1:3:0')).toBe(99);
  });

  it('finds marks written when the marks topic had another number of partitions', () => {
    const before = new AgentMarks(4);
    const committed = new Map<number, string>();
    for (let i = 0; i < 50; i++) {
      const { partition, metadata } = before.set(`agent:1:${i}:0`, 1000 + i);
      committed.set(partition, metadata);
    }
    const after = new AgentMarks(16);
    after.load([...committed].map(([partition, metadata]) => ({ partition, offset: 0, metadata })));
    for (let i = 0; i < 50; i++) expect(after.get(`agent:1:${i}:0`)).toBe(1000 + i);
  });

  it('spreads streams over the partitions, the same way for every collector', () => {
    const marks = new AgentMarks(16);
    const used = new Set<number>();
    for (let i = 0; i < 200; i++) used.add(marks.bucketOf(`agent:1:${i}:0`));
    expect(used.size).toBe(16);
    expect(new AgentMarks(16).bucketOf('agent:1:7:0')).toBe(marks.bucketOf('agent:1:7:0'));
  });

  it('drops the least recently written stream when a bucket would outgrow the metadata limit', () => {
    const marks = new AgentMarks(1, 200);
    let last = { partition: 0, metadata: '' };
    for (let i = 0; i < 20; i++) last = marks.set(`s${i}`, 1_000_000 + i);
    expect(Buffer.byteLength(last.metadata)).toBeLessThanOrEqual(200);
    expect(marks.evicted).toBeGreaterThan(0);
    expect(marks.get('s19')).toBe(1_000_019);
    expect(marks.get('s0')).toBeUndefined();
    // Writing a stream again makes it the most recent: it survives the next evictions.
    const kept = marks.evicted;
    marks.set('s' + String(kept), 5);
    for (let i = 20; i < 22; i++) marks.set(`s${i}`, i);
    expect(marks.get('s' + String(kept))).toBe(5);
  });

  it('encodes marks in base 36 behind a format tag; anything else reads as an empty bucket', () => {
    const bucket = new Map([
      ['abc', 0],
      ['def', 2 ** 40],
    ]);
    const text = encodeBucket(bucket);
    expect(text).toBe(`m1;abc=0;def=${(2 ** 40).toString(36)}`);
    expect(decodeBucket(text)).toEqual(bucket);
    expect(decodeBucket('')).toEqual(new Map());
    expect(decodeBucket('other;abc=1')).toEqual(new Map());
    expect(decodeBucket('m1;abc=;=5;x=-1;ok=z')).toEqual(new Map([['ok', 35]]));
    expect(() => new AgentMarks(0)).toThrow(RangeError);
  });
});
