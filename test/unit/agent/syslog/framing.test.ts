import { describe, expect, it } from 'vitest';
import { SyslogFramer, spoolLine } from '../../../../src/agent/syslog/framing.js';

const text = (frames: { message: Buffer; truncated: boolean }[]) =>
  frames.map((f) => [String(f.message), f.truncated]);

describe('SyslogFramer (RFC 6587)', () => {
  it('reads octet-counted frames, messages with newlines inside included', () => {
    const f = new SyslogFramer(1024);
    const a = '<34>1 2026-12-07T10:00:00Z host app - - - one';
    const b = '<34>1 2026-12-07T10:00:01Z host app - - - two\nlines';
    const wire = `${Buffer.byteLength(a)} ${a}${Buffer.byteLength(b)} ${b}`;
    expect(text(f.push(Buffer.from(wire)))).toEqual([
      [a, false],
      [b, false],
    ]);
  });

  it('reads newline-delimited frames (CRLF too) and skips empty lines', () => {
    const f = new SyslogFramer(1024);
    expect(text(f.push(Buffer.from('<13>Dec  7 10:00:00 host app: a\r\n\n<13>b\n')))).toEqual([
      ['<13>Dec  7 10:00:00 host app: a', false],
      ['<13>b', false],
    ]);
  });

  it('tells the framing apart per frame, and waits for the rest of a frame split across chunks', () => {
    const f = new SyslogFramer(1024);
    const wire = Buffer.from('<13>plain\n11 <13>counted<14>x\n2026-12-07 starts with digits\n');
    const out: [string, boolean][] = [];
    // One byte at a time: every cut of the stream must give the same messages.
    for (const byte of wire)
      out.push(...(text(f.push(Buffer.from([byte]))) as [string, boolean][]));
    expect(out).toEqual([
      ['<13>plain', false],
      ['<13>counted', false],
      ['<14>x', false],
      ['2026-12-07 starts with digits', false],
    ]);
  });

  it('cuts a message over the limit and skips its rest, in both framings', () => {
    const f = new SyslogFramer(480);
    const long = 'x'.repeat(1000);
    const wire = `1000 ${long}<13>after counted\n${'y'.repeat(1000)}\n<13>after delimited\n`;
    const out = text(f.push(Buffer.from(wire)));
    expect(out).toEqual([
      ['x'.repeat(480), true],
      ['<13>after counted', false],
      ['y'.repeat(480), true],
      ['<13>after delimited', false],
    ]);
  });

  it('gives an unterminated last message when the connection ends', () => {
    const f = new SyslogFramer(1024);
    expect(f.push(Buffer.from('<13>a\n<13>last'))).toHaveLength(1);
    expect(text([f.end()!])).toEqual([['<13>last', false]]);
    expect(f.end()).toBeUndefined();
  });
});

describe('spoolLine', () => {
  it('keeps a message one line: trailing newlines dropped, inner CR/LF written as \\r \\n', () => {
    expect(String(spoolLine(Buffer.from('<13>a\n')))).toBe('<13>a');
    expect(String(spoolLine(Buffer.from('<13>trace\n\tat x\r\n\tat y\n')))).toBe(
      '<13>trace\\n\tat x\\r\\n\tat y',
    );
    expect(spoolLine(Buffer.from('\n'))).toHaveLength(0);
  });
});
