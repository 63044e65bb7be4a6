import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileTailer } from '../../../../src/agent/tail/file-reader.js';
import { lineEnd, type Line } from '../../../../src/agent/tail/line-splitter.js';
import { WideLineSplitter } from '../../../../src/agent/tail/wide-line-splitter.js';
import { tempDir } from '../../../helpers/temp-dir.js';

const le = (s: string) => Buffer.from(s, 'utf16le');
const be = (s: string) => Buffer.from(s, 'utf16le').swap16();

function split(order: 'le' | 'be', bytes: Buffer, chunk = bytes.length, max?: number) {
  const s = new WideLineSplitter(order, max === undefined ? {} : { maxLineBytes: max });
  const out: Line[] = [];
  for (let i = 0; i < bytes.length; i += chunk) s.push(bytes.subarray(i, i + chunk), out);
  const decode = (b: Buffer) =>
    order === 'le' ? b.toString('utf16le') : Buffer.from(b).swap16().toString('utf16le');
  return {
    splitter: s,
    lines: out.map((l) => ({ ...l, text: decode(l.content), content: Buffer.from(l.content) })),
  };
}

describe('WideLineSplitter (UTF-16)', () => {
  // 上 is U+4E0A: its bytes hold 0x0A (0A 4E in LE, 4E 0A in BE), which is no line end.
  const text = '订单上线\r\nabc\n上\n\nend';

  it.each(['le', 'be'] as const)('splits %s at the \\n code unit only, CRLF counted', (order) => {
    const bytes = order === 'le' ? le(text) : be(text);
    const { lines, splitter } = split(order, bytes);
    expect(lines.map((l) => [l.text, l.offset, l.terminatorLength])).toEqual([
      ['订单上线', 0, 4],
      ['abc', 12, 2],
      ['上', 20, 2],
      ['', 24, 2],
    ]);
    expect(splitter.resumeOffset).toBe(26);
    expect(splitter.pendingBytes).toBe(6);
    const partial = splitter.flushPartial();
    expect(partial && [partial.offset, partial.terminatorLength, partial.content.length]).toEqual([
      26, 0, 6,
    ]);
    // Every line's on-disk span is contiguous with the next.
    for (let i = 1; i < lines.length; i++)
      expect(lines[i]!.offset).toBe(lineEnd(lines[i - 1] as Line));
  });

  it.each([1, 2, 3, 5, 7])('gives the same lines whatever the chunk size (%i bytes)', (chunk) => {
    const bytes = le(text + '\n');
    expect(split('le', bytes, chunk).lines).toEqual(split('le', bytes).lines);
    const big = be(text + '\n');
    expect(split('be', big, chunk).lines).toEqual(split('be', big).lines);
  });

  it('truncates a long line to whole code units and counts it, keeping the offsets right', () => {
    const bytes = le('0123456789abcdef\nxy\n');
    for (const chunk of [1, 3, 40]) {
      const { lines, splitter } = split('le', bytes, chunk, 9);
      expect(lines.map((l) => [l.text, l.offset, l.truncatedBytes, l.terminatorLength])).toEqual([
        ['0123', 0, 24, 2],
        ['xy', 34, 0, 2],
      ]);
      expect(splitter.stats).toEqual({ truncatedLines: 1, skippedLines: 0, discardedBytes: 24 });
      expect(splitter.resumeOffset).toBe(40);
    }
  });

  it('skips a long line with onLongLine: skip', () => {
    const s = new WideLineSplitter('be', { maxLineBytes: 8, onLongLine: 'skip' });
    const out: Line[] = [];
    s.push(be('a very long line\nok\n'), out);
    expect(out.map((l) => l.offset)).toEqual([34]);
    expect(s.stats.skippedLines).toBe(1);
  });

  it('resumes from an offset after reset', () => {
    const s = new WideLineSplitter('le', { startOffset: 12 });
    const out: Line[] = [];
    s.push(le(text).subarray(12), out, 12);
    expect(out.map((l) => l.offset)).toEqual([12, 20, 24]);
    s.reset(20);
    expect(s.pendingBytes).toBe(0);
    expect(s.position).toBe(20);
  });

  it('is what a FileTailer opened with wide uses, startAt end included', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const path = join(dir, 'w.log');
      // The last line being written holds 上 (0A 4E): "end" starts at its first byte.
      await writeFile(path, le('one\n上上 partial'));
      const fromEnd = await FileTailer.open(path, { start: 'end', wide: 'le' });
      expect(fromEnd.position).toBe(8);
      await fromEnd.close();
      const tailer = await FileTailer.open(path, { wide: 'le' });
      const read = await tailer.readLines();
      expect(read.lines.map((l) => [l.offset, l.terminatorLength])).toEqual([[0, 2]]);
      expect(read.endOffset).toBe(8);
      await tailer.close();
    } finally {
      await cleanup();
    }
  });
});
