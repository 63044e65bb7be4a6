import { execFileSync } from 'node:child_process';
import {
  appendFile,
  copyFile,
  mkdir,
  open,
  rename,
  stat,
  symlink,
  truncate,
  unlink,
  writeFile,
} from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileTailer } from '../../../../src/agent/tail/file-reader.js';
import type { FileTailerOptions, ReadLinesResult } from '../../../../src/agent/tail/file-reader.js';
import { identityOf, sameFile, streamKey } from '../../../../src/agent/tail/fingerprint.js';
import { lineEnd } from '../../../../src/agent/tail/line-splitter.js';
import type { Line } from '../../../../src/agent/tail/line-splitter.js';
import { classifyPath, decideResume, probePath } from '../../../../src/agent/tail/rotation.js';
import { tempDir } from '../../../helpers/temp-dir.js';

const text = (lines: Line[]) => lines.map((l) => l.content.toString('latin1'));

/** Reads until EOF (or a truncation), collecting every line. */
async function drain(
  tailer: FileTailer,
  maxBytes?: number,
  maxLines?: number,
): Promise<{ lines: Line[]; last: ReadLinesResult }> {
  const lines: Line[] = [];
  for (;;) {
    const r = await tailer.readLines(maxBytes, maxLines);
    lines.push(...r.lines);
    if (r.eof || r.truncation) return { lines, last: r };
  }
}

function numbered(from: number, to: number, width = 0): string {
  let s = '';
  for (let i = from; i < to; i += 1) s += `line-${String(i).padStart(width, '0')}\n`;
  return s;
}

describe('FileTailer', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  const open_: FileTailer[] = [];
  const writers: FileHandle[] = [];

  async function tail(path: string, options: FileTailerOptions = {}): Promise<FileTailer> {
    const t = await FileTailer.open(path, options);
    open_.push(t);
    return t;
  }
  async function writer(path: string, flags = 'a'): Promise<FileHandle> {
    const w = await open(path, flags);
    writers.push(w);
    return w;
  }

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterEach(async () => {
    for (const t of open_.splice(0)) await t.close();
    for (const w of writers.splice(0)) await w.close().catch(() => undefined);
    await cleanup();
  });

  it('refuses to open a path that was rotated after the caller stat-ed it', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, 'old-1\nold-2\n');
    const seen = await stat(path);
    // Rotation between the scan's stat and the open: the path now names a new, shorter file.
    await rename(path, `${path}.1`);
    await writeFile(path, 'new-1\n');
    await expect(
      FileTailer.open(path, { start: 12, expect: { dev: seen.dev, ino: seen.ino } }),
    ).rejects.toMatchObject({ code: 'TAIL_FILE_REPLACED', retriable: true });
    // The file it expected, under its new name, opens at its offset as usual.
    const t = await tail(`${path}.1`, { start: 6, expect: { dev: seen.dev, ino: seen.ino } });
    expect(text((await t.readLines()).lines)).toEqual(['old-2']);
  });

  it('reads complete lines with exact offsets and holds back a partial last line', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, 'alpha\r\nbeta\n\ngam');
    const t = await tail(path);
    const r = await t.readLines();
    expect(text(r.lines)).toEqual(['alpha', 'beta', '']);
    expect(r.lines.map((l) => [l.offset, l.terminatorLength])).toEqual([
      [0, 2],
      [7, 1],
      [12, 1],
    ]);
    expect(r.eof).toBe(true);
    expect(r.endOffset).toBe(13);
    expect(t.position).toBe(16);
    expect(t.pendingBytes).toBe(3);

    await appendFile(path, 'ma\ndelta\n');
    const r2 = await t.readLines();
    expect(text(r2.lines)).toEqual(['gamma', 'delta']);
    expect(r2.lines[0]!.offset).toBe(13);
    expect(r2.endOffset).toBe(25);
    expect(t.stats).toMatchObject({ bytesRead: 25, linesRead: 5, truncations: 0 });
  });

  it('keeps up with a file appended to while it is read', async () => {
    const path = join(dir, 'busy.log');
    await writeFile(path, '');
    const w = await writer(path);
    const t = await tail(path, { chunkBytes: 4096 });
    const got: Line[] = [];
    let expected = '';
    for (let round = 0; round < 200; round += 1) {
      // Writes that end mid-line on purpose, so lines straddle reads.
      const piece = numbered(round * 7, round * 7 + 7, 6) + (round % 3 === 0 ? 'par' : '');
      expected += piece;
      await w.write(piece);
      const r = await t.readLines(1000, 50);
      got.push(...r.lines);
      if (round % 3 === 0) {
        await w.write('tial\n');
        expected += 'tial\n';
      }
    }
    got.push(...(await drain(t)).lines);
    const rebuilt = got.map((l) => l.content.toString('latin1') + '\n').join('');
    expect(rebuilt).toBe(expected);
    for (let i = 1; i < got.length; i += 1) expect(got[i]!.offset).toBe(lineEnd(got[i - 1]!));
  });

  it('respects the byte and line budgets but always returns at least one line', async () => {
    const path = join(dir, 'budget.log');
    await writeFile(path, numbered(0, 1000, 4)); // 10 bytes per line, 9 of content
    const t = await tail(path, { chunkBytes: 4096 });
    const r1 = await t.readLines(90, 1000);
    expect(r1.lines).toHaveLength(10);
    expect(r1.eof).toBe(false);
    expect(r1.endOffset).toBe(100);
    expect(t.resumeOffset).toBe(100);
    const r2 = await t.readLines(1_000_000, 7);
    expect(r2.lines).toHaveLength(7);
    expect(r2.lines[0]!.offset).toBe(100);
    const r3 = await t.readLines(1, 1000);
    expect(r3.lines).toHaveLength(1);
    // Read-ahead stays within one chunk plus the partial-line buffer.
    expect(t.bufferedBytes).toBeLessThanOrEqual(4096 + 1024 * 1024 + 1);
    const rest = await drain(t, 5000, 10_000);
    expect(rest.lines).toHaveLength(1000 - 18);
    expect(rest.last.endOffset).toBe(10_000);
  });

  it('stops reading when the next chunk’s first line does not fit the budget left', async () => {
    const path = join(dir, 'edge.log');
    await writeFile(path, numbered(0, 2000, 4)); // 9 bytes of content, 10 on disk
    const t = await tail(path, { chunkBytes: 4096 });
    // The first chunk holds 409 complete lines (3681 content bytes); 5 bytes of budget remain,
    // less than the next line.
    const r = await t.readLines(409 * 9 + 5, 10_000);
    expect(r.lines).toHaveLength(409);
    expect(r.eof).toBe(false);
    expect(t.position).toBeLessThanOrEqual(2 * 4096);
    expect(t.bufferedBytes).toBeLessThanOrEqual(4096 + 1024 * 1024 + 1);
    const rest = await drain(t, 409 * 9 + 5, 10_000);
    expect(r.lines.length + rest.lines.length).toBe(2000);
  });

  it('hands out every line exactly once under random budgets and chunk sizes', async () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let round = 0; round < 12; round += 1) {
      const path = join(dir, `random-${round}.log`);
      const expected: string[] = [];
      let body = '';
      for (let i = 0; i < 3000; i += 1) {
        const line = `${round}:${i}:` + 'q'.repeat(Math.floor(rand() * rand() * 300));
        expected.push(line);
        body += line + (rand() < 0.2 ? '\r\n' : '\n');
      }
      await writeFile(path, body);
      const chunkBytes = 4096 + Math.floor(rand() * 20_000);
      const t = await tail(path, { chunkBytes });
      const got: Line[] = [];
      for (;;) {
        const maxBytes = 1 + Math.floor(rand() * 30_000);
        const maxLines = 1 + Math.floor(rand() * 400);
        const r = await t.readLines(maxBytes, maxLines);
        expect(r.lines.length).toBeLessThanOrEqual(maxLines);
        const bytes = r.lines.reduce((n, l) => n + l.content.length, 0);
        if (r.lines.length > 1) expect(bytes).toBeLessThanOrEqual(maxBytes);
        expect(t.bufferedBytes).toBeLessThanOrEqual(chunkBytes + 1024 * 1024 + 1);
        expect(r.endOffset).toBe(t.resumeOffset);
        got.push(...r.lines);
        if (r.eof) break;
      }
      expect(text(got)).toEqual(expected);
      for (let i = 1; i < got.length; i += 1) expect(got[i]!.offset).toBe(lineEnd(got[i - 1]!));
      expect(lineEnd(got.at(-1)!)).toBe(Buffer.byteLength(body));
    }
  });

  it('seek back to an acked offset re-reads identical lines', async () => {
    const path = join(dir, 'seek.log');
    await writeFile(path, numbered(0, 5000));
    const t = await tail(path, { chunkBytes: 8192 });
    const first = await drain(t, 4000);
    const ack = first.lines[1234]!;
    const expected = first.lines.slice(1234).map((l) => [l.offset, l.content.toString('latin1')]);
    t.seek(ack.offset);
    expect(t.resumeOffset).toBe(ack.offset);
    const again = await drain(t, 3000);
    expect(again.lines.map((l) => [l.offset, l.content.toString('latin1')])).toEqual(expected);
    expect(() => t.seek(-5)).toThrow(expect.objectContaining({ code: 'TAIL_BAD_OFFSET' }));
  });

  it('start: "end" begins at the last line start, so a line being written is shipped whole', async () => {
    const path = join(dir, 'end.log');
    await writeFile(path, 'old 1\nold 2\nhalf');
    const t = await tail(path, { start: 'end' });
    expect(t.position).toBe(12);
    await appendFile(path, ' done\nnew\n');
    expect(text((await t.readLines()).lines)).toEqual(['half done', 'new']);
    await writeFile(join(dir, 'empty.log'), '');
    expect((await tail(join(dir, 'empty.log'), { start: 'end' })).position).toBe(0);
    await writeFile(join(dir, 'complete.log'), 'a\nb\n');
    expect((await tail(join(dir, 'complete.log'), { start: 'end' })).position).toBe(4);
  });

  it('passes NUL bytes and invalid UTF-8 through byte-exact', async () => {
    const path = join(dir, 'binary.log');
    const lines = [
      Buffer.from([0, 0, 0]),
      Buffer.from([0xff, 0xfe, 0xfd]),
      Buffer.from([0xc3, 0x28, 0xa0, 0xa1]),
      Buffer.from([0xed, 0xa0, 0x80, 0x0d, 0x41]),
    ];
    await writeFile(path, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));
    const t = await tail(path);
    const got = (await drain(t)).lines;
    expect(got).toHaveLength(4);
    got.forEach((l, i) => expect(Buffer.compare(l.content, lines[i]!)).toBe(0));
  });

  it('renamed away + new file created: the old descriptor is finished, the new file starts at 0', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, numbered(0, 3));
    const w = await writer(path);
    const old = await tail(path);
    expect(text((await old.readLines()).lines)).toEqual(['line-0', 'line-1', 'line-2']);
    const oldStat = await old.stat();

    // logrotate's default: rename, then the app reopens by path. It still writes a bit to the
    // old descriptor before it notices.
    await rename(path, join(dir, 'app.log.1'));
    await w.write(numbered(3, 5));
    await writeFile(path, 'fresh-0\nfresh-1\n');

    const change = classifyPath(
      { device: oldStat.dev, inode: oldStat.ino, position: old.position, lastSize: old.size },
      await probePath(path),
      await old.stat(),
    );
    expect(change).toEqual({ kind: 'replaced', via: 'rename', oldFile: 'renamed' });

    const rest = await drain(old);
    expect(text(rest.lines)).toEqual(['line-3', 'line-4']);
    expect(rest.last.eof).toBe(true);
    const fresh = await tail(path);
    expect(fresh.identity.inode).not.toBe(old.identity.inode);
    const r = await fresh.readLines();
    expect(text(r.lines)).toEqual(['fresh-0', 'fresh-1']);
    expect(r.lines[0]!.offset).toBe(0);
  });

  it('a deleted file is still drained through the open descriptor', async () => {
    const path = join(dir, 'doomed.log');
    await writeFile(path, numbered(0, 10_000, 5));
    const w = await writer(path);
    const t = await tail(path, { chunkBytes: 4096 });
    const first = await t.readLines(1000);
    await unlink(path);
    await w.write('written after unlink\nand a partial');
    const st = await t.stat();
    expect(st.nlink).toBe(0);
    expect(
      classifyPath(
        { device: st.dev, inode: st.ino, position: t.position, lastSize: t.size },
        await probePath(path),
        st,
      ),
    ).toEqual({ kind: 'deleted' });
    const rest = await drain(t, 64 * 1024);
    const all = [...first.lines, ...rest.lines];
    expect(all).toHaveLength(10_001);
    expect(all.at(-1)!.content.toString()).toBe('written after unlink');
    // Rotated away and idle: the partial line is handed out unterminated.
    const partial = t.flushPartial();
    expect(partial?.content.toString()).toBe('and a partial');
    expect(partial?.terminatorLength).toBe(0);
    expect(t.resumeOffset).toBe(t.position);
  });

  it('copytruncate: detects the truncation, counts unread bytes as lost, restarts at 0', async () => {
    const path = join(dir, 'ct.log');
    const w = await writer(path);
    await w.write(numbered(0, 100, 3)); // 8 bytes of content, 9 on disk per line
    const t = await tail(path, { chunkBytes: 4096 });
    const before = await t.readLines(8 * 40, 10_000);
    expect(before.lines).toHaveLength(40);
    const key0 = streamKey('agent', t.identity, t.generation);

    // A half line is read; then logrotate copies the file and truncates it, and the writer
    // (O_APPEND) carries on at the new end.
    await drain(t);
    await w.write('partial-line-');
    await w.write('x'.repeat(37));
    const mid = await t.readLines(1);
    expect(mid.lines).toHaveLength(0);
    expect(t.pendingBytes).toBe(50);
    const sizeSeen = (await stat(path)).size;
    await copyFile(path, join(dir, 'ct.log.1'));
    await truncate(path, 0);
    await w.write('after-0\nafter-1\n'); // O_APPEND: lands at the new end

    const r = await t.readLines();
    expect(r.truncation).toMatchObject({ cause: 'shrunk', previousGeneration: 0, generation: 1 });
    // The half line read before the truncation is handed out, unterminated, in the old generation.
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]!.terminatorLength).toBe(0);
    expect(r.lines[0]!.content.toString()).toBe('partial-line-' + 'x'.repeat(37));
    expect(r.endOffset).toBe(sizeSeen);
    // Everything seen had been read: nothing is known lost.
    expect(r.truncation!.lostBytes).toBe(0);
    expect(t.generation).toBe(1);
    expect(t.position).toBe(0);
    const after = await t.readLines();
    expect(text(after.lines)).toEqual(['after-0', 'after-1']);
    expect(after.lines[0]!.offset).toBe(0);
    expect(streamKey('agent', t.identity, t.generation)).not.toBe(key0);
    expect(t.stats.truncations).toBe(1);
  });

  it('copytruncate: bytes seen past the read position before truncation are counted as lost', async () => {
    const path = join(dir, 'lost.log');
    await writeFile(path, numbered(0, 1000, 3)); // 9000 bytes
    const t = await tail(path, { chunkBytes: 4096 });
    const r1 = await t.readLines(8 * 10, 10);
    expect(r1.lines).toHaveLength(10);
    // The tailer saw 9000 bytes, read one 4096-byte chunk; the rest is gone with the truncate.
    await truncate(path, 0);
    await appendFile(path, 'new\n');
    const r2 = await drain(t);
    expect(r2.last.truncation).toMatchObject({
      cause: 'shrunk',
      newSize: 4,
      lostBytes: 9000 - 4096,
    });
    // Lines already split from the first chunk were still handed out before the truncation.
    expect(r2.lines.length).toBe(Math.floor(4096 / 9) - 10 + 1);
    expect(r2.lines.at(-1)!.terminatorLength).toBe(0); // the chunk's torn last line
    expect(text((await t.readLines()).lines)).toEqual(['new']);
    expect(t.stats.lostBytes).toBe(9000 - 4096);
  });

  it('truncated and refilled past the read position between looks: caught by the prefix check', async () => {
    const path = join(dir, 'refill.log');
    await writeFile(path, 'original first line\nsecond\n');
    const t = await tail(path);
    expect((await drain(t)).lines).toHaveLength(2);
    await writeFile(path, 'replacement content that is longer than before\nmore\n');
    const r = await t.readLines();
    expect(r.truncation).toMatchObject({ cause: 'rewritten', generation: 1 });
    expect(text((await t.readLines()).lines)).toEqual([
      'replacement content that is longer than before',
      'more',
    ]);
  });

  it('observeSize takes the size of the content being read only, not of one written after a truncation', async () => {
    const path = join(dir, 'observed.log');
    const first = 'first content, line one\nline two\n';
    await writeFile(path, first);
    const t = await tail(path);
    expect((await drain(t)).lines).toHaveLength(2);
    // Grown while reading waits: bytes seen in this content, lost if it is truncated unread.
    await appendFile(path, 'line three\n');
    await t.observeSize();
    expect(t.size).toBe(first.length + 11);
    // Copied away, truncated and written past that size: another content's size, not this one's.
    await writeFile(path, 'second content, longer than the first one\n'.repeat(3));
    await t.observeSize();
    expect(t.size).toBe(first.length + 11);
    const r = await t.readLines();
    expect(r.truncation).toMatchObject({ cause: 'rewritten', lostBytes: 11 });
  });

  it('endContent: the next read starts a new generation at 0, nothing counted lost', async () => {
    const path = join(dir, 'ended.log');
    await writeFile(path, 'the next content, first line\nsecond\n');
    const t = await tail(path);
    t.endContent();
    const r = await t.readLines();
    expect(r.lines).toEqual([]);
    expect(r.truncation).toMatchObject({ cause: 'rewritten', lostBytes: 0, generation: 1 });
    expect(text((await drain(t)).lines)).toEqual(['the next content, first line', 'second']);
    expect(t.stats.lostBytes).toBe(0);
  });

  it('an offset past the end (stale checkpoint) is reported as a truncation', async () => {
    const path = join(dir, 'stale.log');
    await writeFile(path, 'a\nb\n');
    const t = await tail(path, { start: 1000 });
    const r = await t.readLines();
    expect(r.truncation).toMatchObject({ cause: 'shrunk', lostBytes: 0 });
    expect(text((await t.readLines()).lines)).toEqual(['a', 'b']);
  });

  it('a symlinked path: identity follows the target; a retarget is seen as a replacement', async () => {
    await mkdir(join(dir, 'releases'));
    const a = join(dir, 'releases', 'a.log');
    const b = join(dir, 'releases', 'b.log');
    await writeFile(a, 'from a\n');
    await writeFile(b, 'from b\n');
    const link = join(dir, 'current.log');
    await symlink(a, link);
    const t = await tail(link);
    const target = await stat(a);
    expect(t.identity).toMatchObject({ device: target.dev, inode: target.ino });
    expect(text((await t.readLines()).lines)).toEqual(['from a']);
    const before = await probePath(link);
    await unlink(link);
    await symlink(b, link);
    const change = classifyPath(
      { ...t.identity, position: t.position, lastSize: t.size, linkTarget: before.linkTarget },
      await probePath(link),
      await t.stat(),
    );
    expect(change).toEqual({ kind: 'replaced', via: 'symlink', oldFile: 'renamed' });
    const next = await tail(link);
    expect(text((await next.readLines()).lines)).toEqual(['from b']);
  });

  it('grows a short file’s identity into a fingerprint without changing its stream key', async () => {
    const path = join(dir, 'grow.log');
    await writeFile(path, 'tiny\n');
    const t = await tail(path, { fingerprintBytes: 64 });
    const id0 = t.identity;
    expect(id0.fingerprint).toBe('');
    expect(id0.prefixLength).toBe(5);
    await drain(t);
    await appendFile(path, numbered(0, 20));
    await drain(t);
    const id1 = t.identity;
    expect(id1.prefixLength).toBe(64);
    expect(id1.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(streamKey('a', id1, t.generation)).toBe(streamKey('a', id0, 0));
    // After a restart, the registry's short identity still recognises the file.
    const reopened = await tail(path, { fingerprintBytes: 64 });
    expect(decideResume({ identity: id0, offset: 5 }, await reopened.probe(id0))).toEqual({
      action: 'resume',
      offset: 5,
    });
    expect(sameFile(id1, await reopened.probe(id1))).toBe(true);
  });

  it('resume decisions against the file read through the descriptor: reuse and truncation', async () => {
    const path = join(dir, 'resume.log');
    await writeFile(path, 'the original content\n');
    const t = await tail(path);
    const st = await t.stat();
    // A registry entry for this inode whose content was different (the inode was reused).
    const foreign = identityOf({
      device: st.dev,
      inode: st.ino,
      size: 40,
      prefix: Buffer.from('content of a file deleted long ago\n'),
    });
    expect(decideResume({ identity: foreign, offset: 30 }, await t.probe(foreign))).toEqual({
      action: 'restart',
      reason: 'replaced',
    });
    expect(decideResume({ identity: t.identity, offset: 999 }, await t.probe(t.identity))).toEqual({
      action: 'restart',
      reason: 'truncated',
    });
  });

  it('a 100 MB line on disk: memory stays bounded, the line is truncated, the next is intact', async () => {
    const path = join(dir, 'huge.log');
    const MiB = 1024 * 1024;
    const w = await writer(path, 'w');
    await w.write('before\n');
    const block = Buffer.alloc(MiB, 0x7a);
    for (let i = 0; i < 100; i += 1) await w.write(block);
    await w.write('\nafter\n');
    await w.close();
    const t = await tail(path, { chunkBytes: MiB, maxLineBytes: 256 * 1024 });
    const got: Line[] = [];
    let peak = 0;
    for (;;) {
      const r = await t.readLines(512 * 1024, 1000);
      got.push(...r.lines);
      peak = Math.max(peak, t.bufferedBytes);
      if (r.eof) break;
    }
    expect(peak).toBeLessThanOrEqual(MiB + 256 * 1024 + 1);
    expect(text([got[0]!, got[2]!])).toEqual(['before', 'after']);
    expect(got[1]!.content.length).toBe(256 * 1024);
    expect(got[1]!.truncatedBytes).toBe(100 * MiB - 256 * 1024);
    expect(got[2]!.offset).toBe(7 + 100 * MiB + 1);
    expect(t.stats).toMatchObject({ truncatedLines: 1, discardedBytes: 100 * MiB - 256 * 1024 });
  });

  it('refuses what it cannot tail, with stable codes', async () => {
    await expect(FileTailer.open(join(dir, 'missing.log'))).rejects.toMatchObject({
      code: 'TAIL_OPEN_FAILED',
      retriable: false,
      details: { errno: 'ENOENT' },
    });
    await expect(FileTailer.open(dir)).rejects.toMatchObject({ code: 'TAIL_OPEN_FAILED' });
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    // Must fail at once rather than wait for a writer.
    await expect(FileTailer.open(fifo)).rejects.toMatchObject({ code: 'TAIL_OPEN_FAILED' });
    const path = join(dir, 'ok.log');
    await writeFile(path, 'x\n');
    await expect(FileTailer.open(path, { chunkBytes: 10 })).rejects.toMatchObject({
      code: 'TAIL_BAD_OPTION',
    });
    await expect(FileTailer.open(path, { maxLineBytes: 0 })).rejects.toMatchObject({
      code: 'TAIL_BAD_OPTION',
    });
  });

  it('rejects concurrent reads and use after close; close is idempotent', async () => {
    const path = join(dir, 'life.log');
    await writeFile(path, 'a\n');
    const t = await FileTailer.open(path);
    const pending = t.readLines();
    await expect(t.readLines()).rejects.toMatchObject({ code: 'TAIL_BUSY' });
    await pending;
    await t.close();
    await t.close();
    expect(t.closed).toBe(true);
    await expect(t.readLines()).rejects.toMatchObject({ code: 'TAIL_CLOSED' });
    expect(() => t.seek(0)).toThrow(expect.objectContaining({ code: 'TAIL_CLOSED' }));
  });
});
