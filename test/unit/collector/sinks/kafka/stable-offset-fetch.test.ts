import { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  StableOffsetFetcher,
  decodeOffsetFetchV7,
  encodeOffsetFetchV7,
} from '../../../../../src/collector/sinks/kafka/stable-offset-fetch.js';

describe('OffsetFetch v7 encoding', () => {
  it('writes the header’s tagged fields, compact strings and arrays, and require_stable', () => {
    const bytes = encodeOffsetFetchV7('g', 'tp', [0, 2]);
    // prettier-ignore
    expect([...bytes]).toEqual([
      0, // header tagged fields
      2, 0x67, // "g"
      2, // one topic
      3, 0x74, 0x70, // "tp"
      3, 0, 0, 0, 0, 0, 0, 0, 2, // partitions [0, 2]
      0, // topic tagged fields
      1, // require_stable
      0, // tagged fields
    ]);
  });

  it('reads a response: offsets, metadata (null too), error codes, skipping tagged fields', () => {
    // prettier-ignore
    const parts: number[] = [
      1, 0, 3, 0xaa, 0xbb, 0xcc, // header: one tagged field (tag 0, 3 bytes), skipped
      0, 0, 0, 0, // throttle
      2, // one topic
      3, 0x74, 0x70, // "tp"
      3, // two partitions
      0, 0, 0, 0, // partition 0
      0, 0, 0, 0, 0, 0, 0, 42, // offset 42
      0xff, 0xff, 0xff, 0xff, // leader epoch -1
      3, 0x6d, 0x31, // metadata "m1"
      0, 0, // error 0
      0, // tagged fields
      0, 0, 0, 2, // partition 2
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // offset -1
      0xff, 0xff, 0xff, 0xff, // leader epoch -1
      0, // metadata null
      0, 88, // UNSTABLE_OFFSET_COMMIT
      0, // tagged fields
      0, // topic tagged fields
      0, 0, // group error
      0, // tagged fields
    ];
    expect(decodeOffsetFetchV7(Buffer.from(parts))).toEqual({
      errorCode: 0,
      partitions: [
        { topic: 'tp', partition: 0, offset: 42, metadata: 'm1', errorCode: 0 },
        { topic: 'tp', partition: 2, offset: -1, metadata: null, errorCode: 88 },
      ],
    });
  });

  it('finds the kafkajs internals it needs (fails when a kafkajs upgrade moved them)', () => {
    const kafka = new Kafka({ brokers: ['127.0.0.1:1'], clientId: 't' });
    expect(() => new StableOffsetFetcher(kafka)).not.toThrow();
  });
});
