import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LineDecoder } from '../../../../src/agent/records/decoder.js';
import { RecordStage } from '../../../../src/agent/records/record-stage.js';
import type { Line } from '../../../../src/agent/tail/line-splitter.js';
import { WideLineSplitter } from '../../../../src/agent/tail/wide-line-splitter.js';
import { linesOf } from './helpers.js';

// Known byte sequences: "中文" in GBK is D6 D0 CE C4; "日本" in Shift_JIS 93 FA 96 7B;
// "中文" in Big5 A4 A4 A4 E5; "한국" in EUC-KR C7 D1 B1 B9; "é" in Latin-1 E9.
const gbk = Buffer.from([0xd6, 0xd0, 0xce, 0xc4]);

describe('LineDecoder', () => {
  it.each([
    ['gbk', [0xd6, 0xd0, 0xce, 0xc4], '中文'],
    ['gb18030', [0xd6, 0xd0, 0xce, 0xc4, 0x81, 0x30, 0x81, 0x30], '中文\u0080'],
    ['big5', [0xa4, 0xa4, 0xa4, 0xe5], '中文'],
    ['shift_jis', [0x93, 0xfa, 0x96, 0x7b], '日本'],
    ['euc-kr', [0xc7, 0xd1, 0xb1, 0xb9], '한국'],
    ['latin1', [0x63, 0x61, 0x66, 0xe9, 0x80], 'café\u0080'],
  ] as const)('decodes %s to UTF-8', (encoding, bytes, text) => {
    const out = new LineDecoder(encoding).decode(Buffer.from(bytes));
    expect(out.text).toBe(text);
    expect(out.bytes.equals(Buffer.from(text, 'utf8'))).toBe(true);
    expect(out.invalid).toBe(0);
  });

  it('replaces invalid sequences by U+FFFD and counts them, never throws', () => {
    // A lead byte with a bad trail, and a lone lead byte at the end.
    const out = new LineDecoder('gbk').decode(Buffer.from([0x41, 0xd6, 0x0a, 0x42, 0xd6]));
    expect(out.text).toContain('\ufffd');
    expect(out.invalid).toBeGreaterThanOrEqual(1);
    expect(new LineDecoder('shift_jis').decode(Buffer.from([0xff, 0xfe])).invalid).toBeGreaterThan(
      0,
    );
  });

  it('replaces and counts a GBK byte 0xFF (never a GBK byte) rather than mapping it to U+F8F5', () => {
    // Node's ICU "gbk" is windows-936, which maps 0xFF to the private-use U+F8F5 as if valid;
    // glibc's iconv and the WHATWG decoder refuse it.
    const out = new LineDecoder('gbk').decode(Buffer.from([0xd6, 0xd0, 0xff, 0xce, 0xc4, 0xff]));
    expect(out.text).toBe('中\ufffd文\ufffd');
    expect(out.invalid).toBe(2);
  });

  it('decodes GBK as GB18030 does (the WHATWG gbk decoder): standard code points, not PUA', () => {
    // A2 E3 is € in GB18030 (and to a browser reading GBK); windows-936 gives U+E76C.
    const out = new LineDecoder('gbk').decode(Buffer.from([0x41, 0xa2, 0xe3, 0x80]));
    expect(out.text).toBe('A€€');
    expect(out.invalid).toBe(0);
  });

  it('passes UTF-8 bytes through untouched (the same buffer)', () => {
    const raw = Buffer.from([0xff, 0x41]);
    expect(new LineDecoder('utf-8').decode(raw).bytes).toBe(raw);
  });

  it('passes pure ASCII lines through without decoding, whatever the encoding', () => {
    const ascii = Buffer.from('2026-12-07 INFO ok \\ ~');
    for (const e of ['gbk', 'shift_jis', 'big5', 'euc-kr', 'gb18030', 'latin1'] as const) {
      const out = new LineDecoder(e).decode(ascii);
      expect(out.bytes).toBe(ascii);
      expect(out.text).toBe(new TextDecoder(e === 'latin1' ? 'utf-8' : e).decode(ascii));
    }
  });

  it('agrees with iconv on a longer GBK text', () => {
    const text = '订单 42 支付失败：余额不足，请稍后再试。';
    let encoded: Buffer;
    try {
      encoded = execFileSync('iconv', ['-f', 'utf-8', '-t', 'gbk'], { input: text });
    } catch {
      return; // iconv is optional here; the table above covers the decoder.
    }
    expect(new LineDecoder('gbk').decode(encoded).text).toBe(text);
  });
});

describe('decoded records keep the source file’s offsets', () => {
  it('ships UTF-8 content with the on-disk length of the GBK bytes', () => {
    const file = Buffer.concat([gbk, Buffer.from('\r\nok\n'), gbk, Buffer.from('\n')]);
    const out = new RecordStage({ encoding: 'gbk' }).process(linesOf(file, 10), {
      final: false,
      eof: true,
    });
    expect(out.records.map((r) => [r.offset, r.sourceLength, String(r.content)])).toEqual([
      [10, 6, '中文'],
      [16, 3, 'ok'],
      [19, 5, '中文'],
    ]);
    expect(out.records[0]?.content.length).toBe(6);
    expect(out.end).toBe(24);
  });
});

describe('UTF-16 records', () => {
  it('decode UTF-16LE/BE lines (no ASCII shortcut: their bytes hold NULs)', () => {
    expect(new LineDecoder('utf-16le').decode(Buffer.from('ab上', 'utf16le')).text).toBe('ab上');
    const bytes = Buffer.from('ab上', 'utf16le').swap16();
    expect(new LineDecoder('utf-16be').decode(bytes).text).toBe('ab上');
    // An odd byte out: replaced and counted.
    expect(new LineDecoder('utf-16le').decode(Buffer.from([0x41, 0x00, 0x42])).invalid).toBe(1);
  });

  it('join multiline events and keep on-disk lengths with 2- and 4-byte terminators', () => {
    const file = Buffer.from('boom\r\n at x\r\nnext\n', 'utf16le');
    const lines: Line[] = [];
    new WideLineSplitter('le').push(file, lines);
    const stage = new RecordStage({
      encoding: 'utf-16le',
      multiline: { pattern: String.raw`^\s`, maxLines: 10, maxBytes: 4096, flushTimeoutMs: 0 },
    });
    const out = stage.process(lines, { final: true, eof: true });
    expect(
      out.records.map((r) => [String(r.content), r.offset, r.sourceLength, r.terminatorLength]),
    ).toEqual([
      ['boom\n at x', 0, 26, 2],
      ['next', 26, 10, 1],
    ]);
  });
});
