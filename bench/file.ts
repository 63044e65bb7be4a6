/**
 * The bench's input: a file of fixed-size lines (100 bytes with the newline), each with a
 * sequence number so no two lines are the same.
 */
import { open } from 'node:fs/promises';

/** Bytes per line, newline included. */
export const LINE_BYTES = 100;

const LINES_PER_WRITE = 40_960; // ~4 MB per write() call

/** The largest whole number of lines that fits in `mib` MiB, in bytes. */
export function fileBytesFor(mib: number): number {
  return Math.floor((mib * 1024 * 1024) / LINE_BYTES) * LINE_BYTES;
}

/** Writes `bytes` (a multiple of LINE_BYTES) of lines to `path`; returns the line count. */
export async function generateFile(path: string, bytes: number): Promise<number> {
  if (bytes <= 0 || bytes % LINE_BYTES !== 0) {
    throw new Error(`file size must be a positive multiple of ${LINE_BYTES}, got ${bytes}`);
  }
  const prefix = '2025-01-01T00:00:00.000Z INFO  [worker-3] bench.app: request served seq=';
  const digits = 12;
  const suffix = ' status=200 ';
  const pad = LINE_BYTES - 1 - prefix.length - digits - suffix.length;
  if (pad < 0) throw new Error('line template longer than a line');
  const template = Buffer.from(`${prefix}${'0'.repeat(digits)}${suffix}${'x'.repeat(pad)}\n`);
  const seqAt = prefix.length;

  const total = bytes / LINE_BYTES;
  const block = Buffer.alloc(LINES_PER_WRITE * LINE_BYTES);
  for (let i = 0; i < LINES_PER_WRITE; i++) template.copy(block, i * LINE_BYTES);
  const handle = await open(path, 'w');
  try {
    let seq = 0;
    while (seq < total) {
      const n = Math.min(LINES_PER_WRITE, total - seq);
      for (let i = 0; i < n; i++) {
        let v = seq + i;
        const end = i * LINE_BYTES + seqAt + digits;
        for (let d = 1; d <= digits; d++) {
          block[end - d] = 48 + (v % 10);
          v = Math.floor(v / 10);
        }
      }
      const len = n * LINE_BYTES;
      let written = 0;
      while (written < len) {
        const r = await handle.write(block, written, len - written);
        written += r.bytesWritten;
      }
      seq += n;
    }
  } finally {
    await handle.close();
  }
  return total;
}
