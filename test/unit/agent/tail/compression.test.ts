import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compressionOf } from '../../../../src/agent/tail/compression.js';

describe('compressionOf', () => {
  it('recognises gzip, bzip2, xz and zstd by their magic numbers', () => {
    expect(compressionOf(gzipSync('line 1\n'))).toBe('gzip');
    expect(compressionOf(Buffer.from('BZh91AY&SY'))).toBe('bzip2');
    expect(compressionOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00]))).toBe('xz');
    expect(compressionOf(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x04]))).toBe('zstd');
  });

  it('takes text, a short prefix and an empty file for plain', () => {
    expect(compressionOf(Buffer.from('2024-01-01 line\n'))).toBeUndefined();
    expect(compressionOf(Buffer.from([0x1f]))).toBeUndefined();
    expect(compressionOf(Buffer.from([0xfd, 0x37, 0x7a]))).toBeUndefined();
    expect(compressionOf(Buffer.alloc(0))).toBeUndefined();
  });
});
