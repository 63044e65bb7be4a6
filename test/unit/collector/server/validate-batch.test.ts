import { describe, expect, it } from 'vitest';
import { isValidTopic, validateBatch } from '../../../../src/collector/server/validate-batch.js';
import type { Batch } from '../../../../src/common/wire/index.js';
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

  it('follows Kafka topic rules', () => {
    expect(['app', 'a.b-c_d', 'x'.repeat(249)].every(isValidTopic)).toBe(true);
    expect(['', '.', '..', 'a b', 'x'.repeat(250), 'é'].some(isValidTopic)).toBe(false);
  });
});
