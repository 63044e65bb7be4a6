/**
 * Compressed files among the logs: a glob like `app.log*` also matches `app.log.2.gz`, whose
 * bytes are not lines. Recognised by the format's magic number at offset 0, never by name, so a
 * rotated generation is caught however the rotation tool names it.
 */

/** Compression formats recognised by their first bytes. */
export type CompressionFormat = 'gzip' | 'bzip2' | 'xz' | 'zstd';

const MAGIC: readonly { format: CompressionFormat; bytes: Buffer }[] = [
  { format: 'gzip', bytes: Buffer.from([0x1f, 0x8b]) },
  { format: 'bzip2', bytes: Buffer.from('BZh', 'latin1') },
  { format: 'xz', bytes: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) },
  { format: 'zstd', bytes: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]) },
];

/** Longest magic number, in bytes: a file's first this-many bytes decide. */
export const MAGIC_BYTES = Math.max(...MAGIC.map((m) => m.bytes.length));

/** The compression format whose magic number `prefix` (a file's first bytes) starts with. */
export function compressionOf(prefix: Uint8Array): CompressionFormat | undefined {
  for (const m of MAGIC) {
    if (prefix.length >= m.bytes.length && m.bytes.equals(prefix.subarray(0, m.bytes.length)))
      return m.format;
  }
  return undefined;
}
