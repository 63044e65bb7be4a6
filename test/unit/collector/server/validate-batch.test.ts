import { describe, expect, it } from 'vitest';
import { isValidTopic, validateBatch } from '../../../../src/collector/server/validate-batch.js';
import { NO_FIELDS, fieldKeyProblem, type Batch } from '../../../../src/common/wire/index.js';
import { makeBatch } from '../../../helpers/batches.js';

const limits = { maxBatchBytes: 1024, maxBatchLines: 10 };

describe('validateBatch', () => {
  it('accepts a well-formed batch and gives each line its file offset', () => {
    const result = validateBatch(makeBatch(['ab', '', 'cde'], 100), limits);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.batch.lines.map(String)).toEqual(['ab', '', 'cde']);
    expect(result.batch.offsets).toEqual([100, 103, 104]);
    expect(result.batch.endOffset).toBe(108);
    expect(result.batch.streamKey).toBe('agent-1:1:42:0');
    // An agent that sends no key path (older) is keyed by the path.
    expect(result.batch.keyPath).toBe('/var/log/app.log');
    const rotated = makeBatch(['x'], 0);
    rotated.stream = {
      ...rotated.stream!,
      path: '/var/log/app.log.1',
      keyPath: '/var/log/app.log',
    };
    const checked = validateBatch(rotated, limits);
    expect(checked.ok && checked.batch.keyPath).toBe('/var/log/app.log');
  });

  it('counts CRLF terminators, unterminated last lines and truncated bytes in the offsets', () => {
    const batch = makeBatch(['ab', 'cd', 'ef'], 0, {
      terminatorLengths: [2, 1, 0],
      truncatedBytes: [0, 5, 0],
      endOffset: 2 + 2 + 2 + 5 + 1 + 2,
    });
    const result = validateBatch(batch, limits);
    expect(result.ok && result.batch.offsets).toEqual([0, 4, 12]);
  });

  it.each([
    ['an empty agent id', { agentId: '' }, 'MISSING_FIELD'],
    ['no stream', { stream: undefined }, 'MISSING_FIELD'],
    ['a topic with a slash', { topic: 'a/b' }, 'BAD_TOPIC'],
    ['the topic ..', { topic: '..' }, 'BAD_TOPIC'],
    ['an end offset that does not match', { endOffset: 5 }, 'OFFSETS_MISMATCH'],
    ['line lengths longer than the blob', { lineLengths: [2, 0, 9] }, 'LENGTHS_MISMATCH'],
    ['line lengths shorter than the blob', { lineLengths: [1, 0, 3] }, 'LENGTHS_MISMATCH'],
    ['terminator lengths of another count', { terminatorLengths: [1] }, 'LENGTHS_MISMATCH'],
    ['a terminator of 3 bytes', { terminatorLengths: [3, 1, 1] }, 'LENGTHS_MISMATCH'],
  ] as [string, Partial<Batch>, string][])('rejects %s', (_what, overrides, code) => {
    const result = validateBatch({ ...makeBatch(['ab', '', 'cde'], 100), ...overrides }, limits);
    expect(result.ok ? 'accepted' : result.rejection.code).toBe(code);
  });

  it('enforces the byte and line limits', () => {
    const big = validateBatch(makeBatch(['x'.repeat(2000)]), limits);
    expect(big.ok ? '' : big.rejection.code).toBe('BATCH_TOO_LARGE');
    const many = validateBatch(makeBatch(Array.from({ length: 11 }, () => 'a')), limits);
    expect(many.ok ? '' : many.rejection.code).toBe('TOO_MANY_LINES');
  });

  it('passes binary, NUL and invalid UTF-8 bytes through untouched', () => {
    const raw = Buffer.from([0x00, 0xff, 0xc3, 0x28, 0x0d]);
    const result = validateBatch(makeBatch([raw]), limits);
    expect(result.ok && Buffer.compare(result.batch.lines[0] ?? Buffer.alloc(0), raw)).toBe(0);
  });

  describe('records whose footprint differs from their content (source_lengths, skipped bytes)', () => {
    it('places multiline and decoded records by their on-disk lengths', () => {
      // A 3-line event of 40 bytes on disk whose content is 30, then a GBK line: 4 bytes on disk
      // (2 characters) + "\n", shipped as 6 bytes of UTF-8.
      const batch = makeBatch(['x'.repeat(30), '中文'], 100, {
        sourceLengths: [40, 5],
        endOffset: 145,
      });
      const result = validateBatch(batch, limits);
      expect(result.ok && result.batch.offsets).toEqual([100, 140]);
      expect(result.ok && result.batch.startOffset).toBe(100);
    });

    it('places records after filtered-out lines and passes the end over trailing ones', () => {
      const batch = makeBatch(['ab', 'cd'], 10, {
        skippedBefore: [7, 4],
        skippedAfter: 9,
        endOffset: 10 + 7 + 3 + 4 + 3 + 9,
      });
      const result = validateBatch(batch, limits);
      expect(result.ok && result.batch.offsets).toEqual([17, 24]);
      expect(result.ok && result.batch.startOffset).toBe(10);
      expect(result.ok && result.batch.endOffset).toBe(36);
    });

    it('accepts a batch of zero records that only passes over filtered-out lines', () => {
      const batch = makeBatch([], 50, { skippedAfter: 120, endOffset: 170 });
      const result = validateBatch(batch, limits);
      expect(result.ok && result.batch.lines).toEqual([]);
      expect(result.ok && [result.batch.startOffset, result.batch.endOffset]).toEqual([50, 170]);
      const wrong = validateBatch(makeBatch([], 50, { skippedAfter: 120, endOffset: 160 }), limits);
      expect(wrong.ok ? '' : wrong.rejection.reason).toMatch(/= 170, but end_offset is 160/);
    });

    it.each([
      [
        'source lengths of another count',
        { sourceLengths: [40] },
        /1 source lengths for 2 records/,
      ],
      [
        'skipped counts of another count',
        { skippedBefore: [1, 2, 3] },
        /3 skipped_before counts for 2 records/,
      ],
      [
        'a record shorter on disk than its terminator',
        { sourceLengths: [1, 0], endOffset: 101 },
        /record 1 covers 0 bytes/,
      ],
      [
        'an end offset that ignores the skipped bytes',
        { skippedAfter: 5 },
        /but end_offset is 106/,
      ],
      [
        'a blob without line lengths',
        { lineLengths: [], endOffset: 100 },
        /no line lengths for a 4-byte blob/,
      ],
    ] as [string, Partial<Batch>, RegExp][])(
      'rejects %s, saying why',
      (_what, overrides, reason) => {
        const result = validateBatch({ ...makeBatch(['ab', 'cd'], 100), ...overrides }, limits);
        expect(result.ok ? 'accepted' : result.rejection.code).toMatch(/MISMATCH/);
        expect(result.ok ? '' : result.rejection.reason).toMatch(reason);
      },
    );
  });

  describe('fields', () => {
    it('passes a batch’s fields to the sinks, and the shared empty set when it has none', () => {
      const fields = { service: 'checkout', env: 'prod', 'k8s.pod': 'checkout-7d9f' };
      const result = validateBatch(makeBatch(['ab'], 0, { fields }), limits);
      expect(result.ok && result.batch.fields).toEqual(fields);
      // An older agent sends none: the batch is accepted as before, with no fields.
      const old = validateBatch(makeBatch(['ab'], 0), limits);
      expect(old.ok && old.batch.fields).toBe(NO_FIELDS);
    });

    it('accepts 64 fields and values of 1024 bytes, the limits', () => {
      const many = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`f${i}`, 'v']));
      expect(validateBatch(makeBatch(['ab'], 0, { fields: many }), limits).ok).toBe(true);
      const long = { note: 'é'.repeat(512) };
      expect(validateBatch(makeBatch(['ab'], 0, { fields: long }), limits).ok).toBe(true);
    });

    it.each([
      [
        'more than 64 fields',
        Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`f${i}`, 'v'])),
        'more than 64 fields (65)',
      ],
      [
        'a reserved key',
        { service: 'a', offset: '7' },
        'field key "offset" is reserved (agent, host, path, offset, time, line, stream are the envelope\'s own)',
      ],
      [
        'a bad key',
        { 'bad key': 'x' },
        'field key "bad key" is not a letter or _ then up to 63 of [A-Za-z0-9_.-]',
      ],
      [
        'a key of 65 characters',
        { ['k'.repeat(65)]: 'x' },
        `field key "${'k'.repeat(65)}" is not a letter or _ then up to 63 of [A-Za-z0-9_.-]`,
      ],
      [
        'a value over 1024 bytes',
        { note: 'é'.repeat(513) },
        'field "note" has a 1026-byte value, over 1024',
      ],
    ] as [string, Record<string, string>, string][])(
      'rejects %s as BAD_FIELDS, saying which',
      (_what, fields, reason) => {
        const result = validateBatch(makeBatch(['ab'], 0, { fields }), limits);
        expect(result.ok ? undefined : result.rejection).toEqual({ code: 'BAD_FIELDS', reason });
      },
    );

    it('refuses __proto__ as a key: it cannot survive a JavaScript object', () => {
      expect(fieldKeyProblem('__proto__')).toBe(
        'field key "__proto__" cannot be carried (a JavaScript object key)',
      );
      expect(fieldKeyProblem('_proto')).toBeUndefined();
    });
  });

  it('follows Kafka topic rules', () => {
    expect(['app', 'a.b-c_d', 'x'.repeat(249)].every(isValidTopic)).toBe(true);
    expect(['', '.', '..', 'a b', 'x'.repeat(250), 'é'].some(isValidTopic)).toBe(false);
  });
});
