import { describe, expect, it } from 'vitest';
import { RelayError } from '../../../../src/common/errors/relay-error.js';
import { LineSplitter, lineEnd } from '../../../../src/agent/tail/line-splitter.js';
import type { Line, LongLinePolicy } from '../../../../src/agent/tail/line-splitter.js';

interface Plain {
  offset: number;
  content: string;
  terminatorLength: number;
  truncatedBytes: number;
}

/** Lines as comparable values; latin1 maps every byte to one char, so bytes compare exactly. */
function plain(lines: Line[]): Plain[] {
  return lines.map((l) => ({
    offset: l.offset,
    content: l.content.toString('latin1'),
    terminatorLength: l.terminatorLength,
    truncatedBytes: l.truncatedBytes,
  }));
}

function split(
  data: Buffer,
  cuts: number[],
  opts: { maxLineBytes?: number; onLongLine?: LongLinePolicy; startOffset?: number } = {},
): { lines: Line[]; splitter: LineSplitter } {
  const splitter = new LineSplitter(opts);
  const lines: Line[] = [];
  let prev = 0;
  for (const cut of [...cuts, data.length]) {
    splitter.push(data.subarray(prev, cut), lines);
    prev = cut;
  }
  return { lines, splitter };
}

/** The obvious, whole-buffer reference the streaming splitter must agree with. */
function reference(
  data: Buffer,
  max: number,
  policy: LongLinePolicy,
  base = 0,
): { lines: Plain[]; resume: number; truncated: number; skipped: number; discarded: number } {
  const lines: Plain[] = [];
  let start = 0;
  let truncated = 0;
  let skipped = 0;
  let discarded = 0;
  for (;;) {
    const nl = data.indexOf(10, start);
    if (nl === -1) break;
    let end = nl;
    if (end > start && data[end - 1] === 13) end -= 1;
    const len = end - start;
    const term = nl - end + 1;
    if (len <= max) {
      lines.push({
        offset: base + start,
        content: data.subarray(start, end).toString('latin1'),
        terminatorLength: term,
        truncatedBytes: 0,
      });
    } else if (policy === 'truncate') {
      truncated += 1;
      discarded += len - max;
      lines.push({
        offset: base + start,
        content: data.subarray(start, start + max).toString('latin1'),
        terminatorLength: term,
        truncatedBytes: len - max,
      });
    } else {
      skipped += 1;
      discarded += len;
    }
    start = nl + 1;
  }
  return { lines, resume: base + start, truncated, skipped, discarded };
}

/** Deterministic PRNG so a failing case can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('LineSplitter', () => {
  it('splits lines with exact offsets and no terminators', () => {
    const { lines, splitter } = split(Buffer.from('one\ntwo\n\nthree\n'), []);
    expect(plain(lines)).toEqual([
      { offset: 0, content: 'one', terminatorLength: 1, truncatedBytes: 0 },
      { offset: 4, content: 'two', terminatorLength: 1, truncatedBytes: 0 },
      { offset: 8, content: '', terminatorLength: 1, truncatedBytes: 0 },
      { offset: 9, content: 'three', terminatorLength: 1, truncatedBytes: 0 },
    ]);
    expect(splitter.position).toBe(15);
    expect(splitter.resumeOffset).toBe(15);
    expect(lines.map(lineEnd)).toEqual([4, 8, 9, 15]);
  });

  it('starts counting at startOffset', () => {
    const { lines } = split(Buffer.from('a\nb\n'), [], { startOffset: 1000 });
    expect(lines.map((l) => l.offset)).toEqual([1000, 1002]);
  });

  it('strips \\r only before \\n, and keeps a lone \\r as data', () => {
    const { lines } = split(Buffer.from('a\r\nb\rc\n\r\n\r\r\n'), []);
    expect(plain(lines)).toEqual([
      { offset: 0, content: 'a', terminatorLength: 2, truncatedBytes: 0 },
      { offset: 3, content: 'b\rc', terminatorLength: 1, truncatedBytes: 0 },
      { offset: 7, content: '', terminatorLength: 2, truncatedBytes: 0 },
      { offset: 9, content: '\r', terminatorLength: 2, truncatedBytes: 0 },
    ]);
  });

  it('handles \\r\\n split across chunks', () => {
    const data = Buffer.from('ab\r\ncd\r\n');
    const { lines } = split(data, [3]); // 'ab\r' | '\ncd\r\n'
    expect(plain(lines)).toEqual([
      { offset: 0, content: 'ab', terminatorLength: 2, truncatedBytes: 0 },
      { offset: 4, content: 'cd', terminatorLength: 2, truncatedBytes: 0 },
    ]);
    // A chunk holding only the '\r' of a line that began earlier.
    const { lines: l2 } = split(data, [2, 3]);
    expect(plain(l2)).toEqual(plain(lines));
    // A chunk holding only the '\r' of an empty line.
    const { lines: l3 } = split(Buffer.from('x\n\r\n'), [2, 3]);
    expect(plain(l3)).toEqual([
      { offset: 0, content: 'x', terminatorLength: 1, truncatedBytes: 0 },
      { offset: 2, content: '', terminatorLength: 2, truncatedBytes: 0 },
    ]);
  });

  it('holds a partial line until its newline arrives', () => {
    const splitter = new LineSplitter();
    const out: Line[] = [];
    expect(splitter.push(Buffer.from('abc\nde'), out)).toBe(1);
    expect(splitter.resumeOffset).toBe(4);
    expect(splitter.pendingBytes).toBe(2);
    expect(splitter.push(Buffer.from('f'), out)).toBe(0);
    expect(splitter.push(Buffer.from('g\nh'), out)).toBe(1);
    expect(plain(out)[1]).toEqual({
      offset: 4,
      content: 'defg',
      terminatorLength: 1,
      truncatedBytes: 0,
    });
    expect(splitter.resumeOffset).toBe(9);
    expect(splitter.position).toBe(10);
  });

  it('flushPartial hands out the held line unterminated, and later bytes start a new line', () => {
    const splitter = new LineSplitter();
    const out: Line[] = [];
    splitter.push(Buffer.from('a\npartial\r'), out);
    const line = splitter.flushPartial();
    expect(line && plain([line])).toEqual([
      { offset: 2, content: 'partial\r', terminatorLength: 0, truncatedBytes: 0 },
    ]);
    expect(line && lineEnd(line)).toBe(10);
    expect(splitter.resumeOffset).toBe(10);
    expect(splitter.flushPartial()).toBeUndefined();
    splitter.push(Buffer.from('\nmore\n'), out);
    // The '\r' was handed out as data; the '\n' now ends an empty line of its own.
    expect(plain(out.slice(1))).toEqual([
      { offset: 10, content: '', terminatorLength: 1, truncatedBytes: 0 },
      { offset: 11, content: 'more', terminatorLength: 1, truncatedBytes: 0 },
    ]);
  });

  it('hands out lines inside a chunk as views of it (zero copy)', () => {
    const chunk = Buffer.from('hello\nworld\n');
    const { lines } = split(chunk, []);
    for (const l of lines) expect(l.content.buffer).toBe(chunk.buffer);
    expect(lines[1]?.content.byteOffset).toBe(chunk.byteOffset + 6);
  });

  it('passes NUL, invalid UTF-8 and other binary bytes through untouched', () => {
    const weird = Buffer.from([0x00, 0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x0d, 0x00, 0x7f]);
    const data = Buffer.concat([weird, Buffer.from('\n'), weird, Buffer.from('\r\n')]);
    for (let cut = 0; cut <= data.length; cut += 1) {
      const { lines } = split(data, [cut]);
      expect(lines).toHaveLength(2);
      expect(Buffer.compare(lines[0]!.content, weird)).toBe(0);
      expect(Buffer.compare(lines[1]!.content, weird)).toBe(0);
      expect(lines[1]!.offset).toBe(weird.length + 1);
      expect(lines[1]!.terminatorLength).toBe(2);
    }
  });

  it('agrees with the reference at every single cut point', () => {
    const data = Buffer.from('a\r\n\nbb\rb\n\r\n\r\rccc\n\x00\xff\nlast-partial', 'latin1');
    const ref = reference(data, 1000, 'truncate');
    for (let cut = 0; cut <= data.length; cut += 1) {
      const { lines, splitter } = split(data, [cut]);
      expect(plain(lines)).toEqual(ref.lines);
      expect(splitter.resumeOffset).toBe(ref.resume);
    }
  });

  it('agrees with the reference for random data, chunkings and long-line limits', () => {
    const rand = rng(42);
    const alphabet = [10, 10, 13, 0, 0xff, 97, 98, 99, 100, 101];
    for (let round = 0; round < 400; round += 1) {
      const len = Math.floor(rand() * 300);
      const data = Buffer.alloc(len);
      for (let i = 0; i < len; i += 1) {
        // Mostly letters, so some lines grow long.
        data[i] = rand() < 0.85 ? 97 : alphabet[Math.floor(rand() * alphabet.length)]!;
      }
      const max = 1 + Math.floor(rand() * 40);
      const policy: LongLinePolicy = rand() < 0.5 ? 'truncate' : 'skip';
      const base = Math.floor(rand() * 1e6);
      const cuts: number[] = [];
      for (let p = 0; p < len;) {
        p += 1 + Math.floor(rand() * 20);
        if (p < len) cuts.push(p);
      }
      const ref = reference(data, max, policy, base);
      const { lines, splitter } = split(data, cuts, {
        maxLineBytes: max,
        onLongLine: policy,
        startOffset: base,
      });
      const ctx = `round ${round} max ${max} ${policy} cuts ${cuts.join(',')}`;
      expect(plain(lines), ctx).toEqual(ref.lines);
      expect(splitter.resumeOffset, ctx).toBe(ref.resume);
      expect(splitter.position, ctx).toBe(base + len);
      expect(splitter.stats, ctx).toEqual({
        truncatedLines: ref.truncated,
        skippedLines: ref.skipped,
        discardedBytes: ref.discarded,
      });
      expect(splitter.bufferedBytes, ctx).toBeLessThanOrEqual(max + 1);
    }
  });

  describe('long lines', () => {
    it('truncates to maxLineBytes, records the cut, and keeps later offsets exact', () => {
      const data = Buffer.from('0123456789\nok\n');
      const { lines, splitter } = split(data, [], { maxLineBytes: 4 });
      expect(plain(lines)).toEqual([
        { offset: 0, content: '0123', terminatorLength: 1, truncatedBytes: 6 },
        { offset: 11, content: 'ok', terminatorLength: 1, truncatedBytes: 0 },
      ]);
      expect(lineEnd(lines[0]!)).toBe(11);
      expect(splitter.stats).toEqual({ truncatedLines: 1, skippedLines: 0, discardedBytes: 6 });
    });

    it('skips a long line entirely but still advances offsets', () => {
      const data = Buffer.from('0123456789\nok\n');
      const { lines, splitter } = split(data, [3, 7], { maxLineBytes: 4, onLongLine: 'skip' });
      expect(plain(lines)).toEqual([
        { offset: 11, content: 'ok', terminatorLength: 1, truncatedBytes: 0 },
      ]);
      expect(splitter.stats).toEqual({ truncatedLines: 0, skippedLines: 1, discardedBytes: 10 });
    });

    it('does not count a \\r\\n terminator against maxLineBytes, even when split', () => {
      const data = Buffer.from('abcd\r\n');
      for (let cut = 0; cut <= data.length; cut += 1) {
        const { lines, splitter } = split(data, [cut], { maxLineBytes: 4 });
        expect(plain(lines)).toEqual([
          { offset: 0, content: 'abcd', terminatorLength: 2, truncatedBytes: 0 },
        ]);
        expect(splitter.stats.truncatedLines).toBe(0);
      }
    });

    it('flushPartial applies the long-line policy too', () => {
      const t = new LineSplitter({ maxLineBytes: 3 });
      t.push(Buffer.from('abcdef'), []);
      const line = t.flushPartial();
      expect(line && plain([line])).toEqual([
        { offset: 0, content: 'abc', terminatorLength: 0, truncatedBytes: 3 },
      ]);
      const s = new LineSplitter({ maxLineBytes: 3, onLongLine: 'skip' });
      s.push(Buffer.from('abcdef'), []);
      expect(s.flushPartial()).toBeUndefined();
      expect(s.resumeOffset).toBe(6);
      expect(s.stats.skippedLines).toBe(1);
    });

    for (const policy of ['truncate', 'skip'] as const) {
      it(`keeps memory bounded for a 100 MB line fed in 1 MiB chunks (${policy})`, () => {
        const max = 64 * 1024;
        const splitter = new LineSplitter({ maxLineBytes: max, onLongLine: policy });
        const out: Line[] = [];
        const MiB = 1024 * 1024;
        const total = 100 * MiB;
        // One chunk reused: only a copy of a partial line may outlive push(), and that is what
        // is being checked.
        const chunk = Buffer.alloc(MiB, 0x78);
        splitter.push(Buffer.from('before\n'), out);
        let peak = 0;
        for (let fed = 0; fed < total; fed += MiB) {
          splitter.push(chunk, out);
          peak = Math.max(peak, splitter.bufferedBytes);
          expect(splitter.bufferedBytes).toBeLessThanOrEqual(max + 1);
        }
        expect(splitter.pendingBytes).toBe(total);
        splitter.push(Buffer.from('\r\nafter\n'), out);
        expect(peak).toBeLessThanOrEqual(max + 1);
        // The large partial-line buffer is released once the line is done.
        expect(splitter.bufferedBytes).toBe(0);
        const after = { offset: 7 + total + 2, content: 'after', terminatorLength: 1 };
        if (policy === 'truncate') {
          expect(out).toHaveLength(3);
          expect(out[1]!.offset).toBe(7);
          expect(out[1]!.content.length).toBe(max);
          expect(out[1]!.content.every((b) => b === 0x78)).toBe(true);
          expect(out[1]!.truncatedBytes).toBe(total - max);
          expect(out[1]!.terminatorLength).toBe(2);
          expect(lineEnd(out[1]!)).toBe(after.offset);
          expect(plain(out)[2]).toMatchObject(after);
          expect(splitter.stats).toEqual({
            truncatedLines: 1,
            skippedLines: 0,
            discardedBytes: total - max,
          });
        } else {
          expect(out).toHaveLength(2);
          expect(plain(out)[1]).toMatchObject(after);
          expect(splitter.stats).toEqual({
            truncatedLines: 0,
            skippedLines: 1,
            discardedBytes: total,
          });
        }
      });
    }
  });

  it('reset forgets the partial line and moves the position', () => {
    const splitter = new LineSplitter();
    const out: Line[] = [];
    splitter.push(Buffer.from('abc\nhalf'), out);
    splitter.reset(2);
    expect(splitter.position).toBe(2);
    expect(splitter.resumeOffset).toBe(2);
    splitter.push(Buffer.from('c\n'), out);
    expect(plain(out)[1]).toMatchObject({ offset: 2, content: 'c' });
  });

  it('rejects a chunk that does not continue the stream, and bad options', () => {
    const splitter = new LineSplitter();
    splitter.push(Buffer.from('ab'), [], 0);
    expect(() => splitter.push(Buffer.from('c'), [], 5)).toThrow(
      expect.objectContaining({ code: 'TAIL_DISCONTIGUOUS' }),
    );
    expect(() => new LineSplitter({ maxLineBytes: 0 })).toThrow(RelayError);
    expect(() => new LineSplitter({ onLongLine: 'explode' as LongLinePolicy })).toThrow(
      expect.objectContaining({ code: 'TAIL_BAD_OPTION' }),
    );
    expect(() => new LineSplitter({ startOffset: -1 })).toThrow(
      expect.objectContaining({ code: 'TAIL_BAD_OFFSET' }),
    );
    expect(() => splitter.reset(1.5)).toThrow(expect.objectContaining({ code: 'TAIL_BAD_OFFSET' }));
  });

  it('ignores empty chunks', () => {
    const splitter = new LineSplitter();
    const out: Line[] = [];
    splitter.push(Buffer.from('a'), out);
    splitter.push(Buffer.alloc(0), out);
    splitter.push(Buffer.from('\n'), out);
    expect(plain(out)).toEqual([
      { offset: 0, content: 'a', terminatorLength: 1, truncatedBytes: 0 },
    ]);
  });
});
