import { describe, expect, it } from 'vitest';
import { parseCriLine, parseDockerJsonLine } from '../../../../src/agent/records/container-line.js';
import { LineDecoder } from '../../../../src/agent/records/decoder.js';
import {
  RecordStage,
  recordStageFor,
  type RecordStageOptions,
} from '../../../../src/agent/records/record-stage.js';
import type { SourceRecord } from '../../../../src/agent/records/record.js';
import type { Line } from '../../../../src/agent/tail/line-splitter.js';
import { linesOf } from './helpers.js';

const T = '2026-12-07T10:00:00.123456789Z';
const utf8 = new LineDecoder('utf-8');

/** A CRI line as containerd writes it (with its newline). */
function cri(tag: 'P' | 'F', content: string, stream = 'stdout', time = T): string {
  return `${time} ${stream} ${tag} ${content}\n`;
}

/** A Docker json-file line (with its newline). */
function docker(log: string, stream = 'stdout', time = T): string {
  return `${JSON.stringify({ log, stream, time })}\n`;
}

function stage(options: RecordStageOptions): RecordStage {
  return new RecordStage(options);
}

/** UTF-16LE lines the way WideLineSplitter gives them (2-byte `\n`, 4-byte `\r\n`). */
function wideLinesOf(buf: Buffer): Line[] {
  const lines: Line[] = [];
  let pos = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) {
    if (buf[i] !== 10 || buf[i + 1] !== 0) continue;
    const cr = i >= pos + 2 && buf[i - 2] === 13 && buf[i - 1] === 0;
    lines.push({
      offset: pos,
      content: buf.subarray(pos, cr ? i - 2 : i),
      terminatorLength: cr ? 4 : 2,
      truncatedBytes: 0,
    });
    pos = i + 2;
  }
  return lines;
}

/** Each record as [offset, sourceLength, content, physical lines]. */
function shape(records: readonly SourceRecord[]): [number, number, string, number][] {
  return records.map((r) => [r.offset, r.sourceLength, String(r.content), r.lines]);
}

describe('the CRI line parser', () => {
  it('reads time, stream, tag and content (bytes kept as they are)', () => {
    const line = Buffer.from(`${T} stderr F  two  spaces kept `);
    expect(parseCriLine(utf8.decode(line), 1)).toEqual({
      stream: 'stderr',
      time: T,
      partial: false,
      content: Buffer.from(' two  spaces kept '),
      invalid: 0,
    });
    const p = parseCriLine(utf8.decode(Buffer.from('2026-12-07T10:00:00+02:00 stdout P x')), 1);
    expect(p).toMatchObject({ partial: true, content: Buffer.from('x') });
  });

  it('takes empty content, with or without the space after the tag, and extra tags', () => {
    expect(parseCriLine(utf8.decode(Buffer.from(`${T} stdout F `)), 1)?.content).toEqual(
      Buffer.alloc(0),
    );
    expect(parseCriLine(utf8.decode(Buffer.from(`${T} stdout F`)), 1)?.content).toEqual(
      Buffer.alloc(0),
    );
    expect(parseCriLine(utf8.decode(Buffer.from(`${T} stdout F:x y`)), 1)?.content).toEqual(
      Buffer.from('y'),
    );
  });

  it('gives a partial line back the \\r the splitter took for half of a CRLF', () => {
    expect(parseCriLine(utf8.decode(Buffer.from(`${T} stdout P ab`)), 2)?.content).toEqual(
      Buffer.from('ab\r'),
    );
    expect(parseCriLine(utf8.decode(Buffer.from(`${T} stdout F ab`)), 2)?.content).toEqual(
      Buffer.from('ab'),
    );
  });

  it('refuses what is not a CRI line', () => {
    const bad = [
      '',
      'plain text line',
      `${T} stdout X content`,
      `${T} stdin F content`,
      `${T}  stdout F content`,
      `2026-12-07 10:00:00 stdout F content`,
      `${T} stdout`,
      `${T}`,
      `not-a-time stdout F content`,
    ];
    expect(bad.map((l) => parseCriLine(utf8.decode(Buffer.from(l)), 1))).toEqual(
      bad.map(() => undefined),
    );
  });
});

describe('the Docker json-file line parser', () => {
  it('reads log, stream and time; a log ending in \\n (or \\r\\n) is a whole line', () => {
    const parse = (l: string) => parseDockerJsonLine(utf8.decode(Buffer.from(l.trimEnd())));
    expect(parse(docker('hello "quoted" \\ é \u{1F600}\n', 'stderr'))).toEqual({
      stream: 'stderr',
      time: T,
      partial: false,
      content: Buffer.from('hello "quoted" \\ é \u{1F600}'),
      invalid: 0,
    });
    expect(parse(docker('crlf\r\n'))?.content).toEqual(Buffer.from('crlf'));
    expect(parse(docker('\n'))?.content).toEqual(Buffer.alloc(0));
    expect(parse(docker('chunk'))).toMatchObject({ partial: true, content: Buffer.from('chunk') });
  });

  it('refuses what is not a json-file line', () => {
    const bad = [
      'plain text',
      '{"log":"x\\n","stream":"stdout"',
      '[1,2]',
      'null',
      '{"log":1,"stream":"stdout","time":"t"}',
      '{"log":"x\\n","stream":"stdin","time":"t"}',
      '{"log":"x\\n","stream":"stdout"}',
    ];
    expect(bad.map((l) => parseDockerJsonLine(utf8.decode(Buffer.from(l))))).toEqual(
      bad.map(() => undefined),
    );
  });

  it('counts invalid UTF-8 in a line read as U+FFFD', () => {
    const line = Buffer.concat([
      Buffer.from('{"log":"bad '),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(' bytes\\n","stream":"stdout","time":"t"}'),
    ]);
    expect(parseDockerJsonLine(utf8.decode(line))).toMatchObject({
      content: Buffer.from('bad \ufffd\ufffd bytes'),
      invalid: 2,
    });
  });
});

describe('the record stage with format: cri', () => {
  it('is not the identity (the default raw path stays without a stage)', () => {
    expect(recordStageFor({})).toBeUndefined();
    expect(recordStageFor({ format: 'raw' })).toBeUndefined();
    expect(recordStageFor({ format: 'cri' })).toBeDefined();
    expect(recordStageFor({ format: 'docker-json' })).toBeDefined();
  });

  it('reassembles P…P F into one record spanning all its lines, time and stream of the first', () => {
    const text =
      cri('F', 'one') +
      cri('P', 'two-a ', 'stdout', '2026-12-07T10:00:01Z') +
      cri('P', 'two-b ') +
      cri('F', 'two-c') +
      cri('F', 'three', 'stderr');
    const out = stage({ format: 'cri' }).process(linesOf(text, 1000), { final: false, eof: true });
    const l = text.split('\n').map((s) => s.length + 1);
    expect(shape(out.records)).toEqual([
      [1000, l[0], 'one', 1],
      [1000 + l[0]!, l[1]! + l[2]! + l[3]!, 'two-a two-b two-c', 3],
      [1000 + l[0]! + l[1]! + l[2]! + l[3]!, l[4], 'three', 1],
    ]);
    expect(out.records.map((r) => [r.stream, r.time])).toEqual([
      ['stdout', T],
      ['stdout', '2026-12-07T10:00:01Z'],
      ['stderr', T],
    ]);
    expect(out.end).toBe(1000 + Buffer.byteLength(text));
    expect(out.held).toBeUndefined();
    expect(out.records.map((r) => r.malformedLines + r.unfinishedLines)).toEqual([0, 0, 0]);
  });

  it('ships a malformed line as it is, counted, and cuts a chain it interrupts', () => {
    const text =
      cri('F', 'a') + 'garbage line\n' + cri('P', 'b1') + 'more garbage\n' + cri('F', 'c');
    const out = stage({ format: 'cri' }).process(linesOf(text), { final: false, eof: true });
    expect(out.records.map((r) => String(r.content))).toEqual([
      'a',
      'garbage line',
      'b1',
      'more garbage',
      'c',
    ]);
    expect(out.records.map((r) => r.malformedLines)).toEqual([0, 1, 0, 1, 0]);
    expect(out.records.map((r) => r.unfinishedLines)).toEqual([0, 0, 1, 0, 0]);
    expect(out.records.reduce((n, r) => n + r.sourceLength, 0)).toBe(Buffer.byteLength(text));
  });

  it('does not join parts of two streams: the interrupted line is cut, each part once', () => {
    const text = cri('P', 'out-1 ') + cri('F', 'err', 'stderr') + cri('F', 'out-2');
    const out = stage({ format: 'cri' }).process(linesOf(text), { final: false, eof: true });
    expect(out.records.map((r) => [String(r.content), r.stream, r.unfinishedLines])).toEqual([
      ['out-1 ', 'stdout', 1],
      ['err', 'stderr', 0],
      ['out-2', 'stdout', 0],
    ]);
  });

  it('keeps CRLF, empty content and invalid UTF-8 bytes exactly', () => {
    const parts = [
      Buffer.from(`${T} stdout P half\r\n`), // the app's "\r" fell at the end of a part
      Buffer.from(`${T} stdout F line\r\n`),
      Buffer.from(`${T} stdout F \n`),
      Buffer.concat([Buffer.from(`${T} stdout F bad `), Buffer.from([0xc3, 0x28, 0xff, 10])]),
    ];
    const [a, b, c, d] = parts.map((p) => p.length) as [number, number, number, number];
    expect([a, b, c, d]).toEqual([46, 46, 41, 48]);
    const bytes = Buffer.concat(parts);
    const out = stage({ format: 'cri' }).process(linesOf(bytes), { final: false, eof: true });
    expect(out.records.map((r) => r.content)).toEqual([
      Buffer.from('half\rline'),
      Buffer.alloc(0),
      Buffer.concat([Buffer.from('bad '), Buffer.from([0xc3, 0x28, 0xff])]),
    ]);
    expect(out.records.map((r) => [r.offset, r.sourceLength, r.terminatorLength])).toEqual([
      [0, a + b, 2],
      [a + b, c, 1],
      [a + b + c, d, 1],
    ]);
    expect(out.end).toBe(bytes.length);
  });

  it('reads a UTF-16LE CRI file (odd, but decodable): CRLF parts keep their \\r, offsets are the file’s', () => {
    const text = `${T} stdout P a\r\n${T} stdout F b\r\n${T} stdout F c\n`;
    const bytes = Buffer.from(text, 'utf16le');
    const lines = wideLinesOf(bytes);
    const out = stage({ format: 'cri', encoding: 'utf-16le' }).process(lines, {
      final: false,
      eof: true,
    });
    expect(out.records.map((r) => [r.offset, r.sourceLength, String(r.content)])).toEqual([
      [0, 2 * (T.length + 13) * 2, 'a\rb'],
      [4 * (T.length + 13), 2 * (T.length + 12), 'c'],
    ]);
  });

  it('holds a chain at the end of the file until its F, the flush timeout or rotation', () => {
    const done = cri('F', 'done');
    const open = cri('P', 'part-1 ') + cri('P', 'part-2 ');
    const s = stage({ format: 'cri', partialFlushMs: 700 });
    expect(s.flushTimeoutMs).toBe(700);
    const waiting = s.process(linesOf(done + open), { final: false, eof: true });
    expect(waiting.records.map((r) => String(r.content))).toEqual(['done']);
    expect(waiting.held).toEqual({ offset: done.length, end: done.length + open.length });
    expect(waiting.end).toBe(done.length);
    // Re-read from the chain's start with its F written: one whole record.
    const whole = s.process(linesOf(open + cri('F', 'end'), done.length), {
      final: false,
      eof: true,
    });
    expect(shape(whole.records)).toEqual([
      [done.length, open.length + cri('F', 'end').length, 'part-1 part-2 end', 3],
    ]);
    // Flushed (timeout, rotated away): sent as it is, counted as unfinished.
    const flushed = s.process(linesOf(open, done.length), { final: true, eof: true });
    expect(flushed.records.map((r) => [String(r.content), r.unfinishedLines])).toEqual([
      ['part-1 part-2 ', 1],
    ]);
    expect(flushed.held).toBeUndefined();
    // A read cut by its budget inside its only chain: sent rather than waiting forever.
    const budget = s.process(linesOf(open, done.length), { final: false, eof: false });
    expect(budget.records).toHaveLength(1);
  });

  it('cuts a reassembled line at maxLineBytes; the rest is the next record, nothing lost', () => {
    const text = cri('P', 'aaaa') + cri('P', 'bbbb') + cri('P', 'cccc') + cri('F', 'dd');
    const out = stage({ format: 'cri', maxLineBytes: 9 }).process(linesOf(text), {
      final: false,
      eof: true,
    });
    expect(out.records.map((r) => [String(r.content), r.lines, r.unfinishedLines])).toEqual([
      ['aaaabbbb', 2, 1],
      ['ccccdd', 2, 0],
    ]);
    expect(out.records[1]!.offset).toBe(out.records[0]!.offset + out.records[0]!.sourceLength);
  });

  it('joins a Java stack trace written as CRI lines (parts reassembled first), offsets spanning all', () => {
    const trace = [
      '2026-12-07 10:00:00 ERROR order 7 failed',
      'java.lang.IllegalStateException: refused',
      '\tat com.example.Pay.charge(Pay.java:1)',
    ];
    const text =
      cri('F', 'INFO before') +
      cri('F', trace[0]!, 'stderr') +
      cri('P', trace[1]!.slice(0, 10), 'stderr') +
      cri('F', trace[1]!.slice(10), 'stderr') +
      cri('F', trace[2]!, 'stderr') +
      cri('F', 'INFO after');
    const s = stage({
      format: 'cri',
      multiline: { preset: 'java', maxLines: 500, maxBytes: 1 << 20, flushTimeoutMs: 300 },
    });
    const out = s.process(linesOf(text, 50), { final: true, eof: true });
    const sizes = text.split('\n').map((x) => x.length + 1);
    expect(shape(out.records)).toEqual([
      [50, sizes[0], 'INFO before', 1],
      [50 + sizes[0]!, sizes[1]! + sizes[2]! + sizes[3]! + sizes[4]!, trace.join('\n'), 4],
      [50 + Buffer.byteLength(text) - sizes[5]!, sizes[5], 'INFO after', 1],
    ]);
    // Without final the last event may still grow: held from its first line.
    const held = s.process(linesOf(text, 50), { final: false, eof: true });
    expect(held.records).toHaveLength(2);
    expect(held.held?.offset).toBe(50 + Buffer.byteLength(text) - sizes[5]!);
  });

  it('never joins the other stream’s lines into a multiline event', () => {
    const text =
      cri('F', 'java.lang.Error: boom', 'stderr') +
      cri('F', '\tat a.B.c(B.java:1)', 'stdout') +
      cri('F', '\tat a.B.d(B.java:2)', 'stderr');
    const s = stage({
      format: 'cri',
      multiline: { pattern: String.raw`^\s`, maxLines: 500, maxBytes: 1 << 20, flushTimeoutMs: 1 },
    });
    expect(
      s.process(linesOf(text), { final: true, eof: true }).records.map((r) => String(r.content)),
    ).toEqual(['java.lang.Error: boom', '\tat a.B.c(B.java:1)', '\tat a.B.d(B.java:2)']);
  });

  it('filters reassembled lines; the dropped bytes are skipped, lines counted', () => {
    const text = cri('P', 'DEBUG a') + cri('F', 'b') + cri('F', 'INFO c');
    const out = stage({ format: 'cri', excludeLines: ['^DEBUG'] }).process(linesOf(text), {
      final: true,
      eof: true,
    });
    expect(out.records.map((r) => [String(r.content), r.skippedBefore, r.filteredBefore])).toEqual([
      ['INFO c', cri('P', 'DEBUG a').length + cri('F', 'b').length, 2],
    ]);
  });
});

describe('the record stage with format: docker-json', () => {
  it('reassembles a line Docker split in 16 KiB chunks, with exact offsets', () => {
    const long = Array.from({ length: 40_000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join(
      '',
    );
    const chunks = [long.slice(0, 16384), long.slice(16384, 32768), long.slice(32768)];
    const text =
      docker('short\n') +
      docker(chunks[0]!) +
      docker(chunks[1]!) +
      docker(`${chunks[2]!}\n`) +
      docker('after\n', 'stderr');
    const out = stage({ format: 'docker-json' }).process(linesOf(text, 7), {
      final: false,
      eof: true,
    });
    const sizes = text.split('\n').map((x) => x.length + 1);
    expect(shape(out.records)).toEqual([
      [7, sizes[0], 'short', 1],
      [7 + sizes[0]!, sizes[1]! + sizes[2]! + sizes[3]!, long, 3],
      [7 + Buffer.byteLength(text) - sizes[4]!, sizes[4], 'after', 1],
    ]);
    expect(out.records.map((r) => r.stream)).toEqual(['stdout', 'stdout', 'stderr']);
  });

  it('ships malformed lines as they are (counted), keeps escapes, CRLF and empty lines right', () => {
    const text =
      docker('tab\tquote" back\\ nl-inside\\n é\r\n') +
      '{"log":"cut short\n' +
      docker('\n') +
      'plain\r\n';
    const out = stage({ format: 'docker-json' }).process(linesOf(text), {
      final: false,
      eof: true,
    });
    expect(out.records.map((r) => [String(r.content), r.malformedLines])).toEqual([
      ['tab\tquote" back\\ nl-inside\\n é', 0],
      ['{"log":"cut short', 1],
      ['', 0],
      ['plain', 1],
    ]);
    expect(out.records.reduce((n, r) => n + r.sourceLength, 0)).toBe(Buffer.byteLength(text));
  });

  it('holds an unfinished chunk chain at the end of the file, sends it on rotation', () => {
    const text = docker('x'.repeat(100));
    const s = stage({ format: 'docker-json' });
    expect(s.process(linesOf(text), { final: false, eof: true }).held).toEqual({
      offset: 0,
      end: text.length,
    });
    const sent = s.process(linesOf(text), { final: true, eof: true });
    expect(sent.records.map((r) => [r.content.length, r.unfinishedLines])).toEqual([[100, 1]]);
  });

  it('counts invalid UTF-8 replaced in a json line', () => {
    const bytes = Buffer.concat([
      Buffer.from('{"log":"a'),
      Buffer.from([0xff]),
      Buffer.from('b\\n","stream":"stdout","time":"t"}\n'),
    ]);
    const out = stage({ format: 'docker-json' }).process(linesOf(bytes), {
      final: true,
      eof: true,
    });
    expect(out.records.map((r) => [String(r.content), r.invalidSequences])).toEqual([
      ['a\ufffdb', 1],
    ]);
  });
});
