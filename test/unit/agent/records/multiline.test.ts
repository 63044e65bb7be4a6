import { describe, expect, it } from 'vitest';
import { RecordStage } from '../../../../src/agent/records/record-stage.js';
import type { MultilineOptions } from '../../../../src/agent/records/multiline.js';
import { linesOf } from './helpers.js';

const limits = { maxLines: 500, maxBytes: 1024 * 1024, flushTimeoutMs: 5000 };

function events(text: string, multiline: Partial<MultilineOptions>, final = true): string[] {
  const stage = new RecordStage({ multiline: { ...limits, ...multiline } });
  return stage.process(linesOf(text), { final, eof: true }).records.map((r) => String(r.content));
}

const javaTrace = [
  '2026-12-07 10:00:00.123 ERROR [http-nio-8080-exec-1] c.e.OrderController - order 42 failed',
  'java.lang.IllegalStateException: payment refused',
  '\tat com.example.PaymentService.charge(PaymentService.java:88)',
  '\tat com.example.OrderController.place(OrderController.java:41)',
  '\t... 12 more',
  'Caused by: java.net.SocketTimeoutException: Read timed out',
  '\tat java.base/java.net.SocketInputStream.read(SocketInputStream.java:168)',
  '\tSuppressed: java.io.IOException: close failed',
  '\t\tat com.example.Http.close(Http.java:12)',
  '\t... 3 common frames omitted',
].join('\n');

const pythonTrace = [
  '2026-12-07 10:00:01,002 ERROR worker: job 7 failed',
  'Traceback (most recent call last):',
  '  File "/app/worker.py", line 31, in run',
  '    result = handler(job)',
  '  File "/app/handlers.py", line 12, in handler',
  '    return int(job["n"])',
  "ValueError: invalid literal for int() with base 10: 'x'",
  '',
  'During handling of the above exception, another exception occurred:',
  '',
  'Traceback (most recent call last):',
  '  File "/app/worker.py", line 33, in run',
  '    raise JobFailed(job) from None',
  'worker.errors.JobFailedError: job 7',
].join('\n');

const goPanic = [
  'panic: runtime error: index out of range [5] with length 3',
  '',
  'goroutine 1 [running]:',
  'main.pick(...)',
  '\t/app/main.go:12',
  'main.main()',
  '\t/app/main.go:8 +0x1d',
  'github.com/example/svc/internal.(*Server).Serve(0xc000010000, {0x0, 0x0})',
  '\t/go/pkg/mod/github.com/example/svc/internal/server.go:77 +0x2a5',
  'created by main.start in goroutine 1',
  '\t/app/main.go:20 +0x3c',
  'exit status 2',
].join('\n');

describe('multiline presets with real traces', () => {
  it('java: a log line and its whole stack trace (causes, suppressed, omitted frames) are one event', () => {
    const text = `2026-12-07 09:59:59.000 INFO  c.e.App - started\n${javaTrace}\n2026-12-07 10:00:02.000 INFO c.e.App - next\n`;
    const got = events(text, { preset: 'java' });
    expect(got).toEqual([
      '2026-12-07 09:59:59.000 INFO  c.e.App - started',
      javaTrace,
      '2026-12-07 10:00:02.000 INFO c.e.App - next',
    ]);
  });

  it('python: a traceback with a chained exception is one event', () => {
    const text = `${pythonTrace}\n2026-12-07 10:00:02,000 INFO worker: job 8 done\n`;
    expect(events(text, { preset: 'python' })).toEqual([
      pythonTrace,
      '2026-12-07 10:00:02,000 INFO worker: job 8 done',
    ]);
  });

  it('go: a panic with its goroutine trace is one event', () => {
    const text = `2026/12/07 10:00:00 serving on :8080\n${goPanic}\n2026/12/07 10:00:05 restarted\n`;
    expect(events(text, { preset: 'go' })).toEqual([
      '2026/12/07 10:00:00 serving on :8080',
      goPanic,
      '2026/12/07 10:00:05 restarted',
    ]);
  });
});

describe('pattern, negate and match (Filebeat semantics)', () => {
  const text = ['[1] a', 'x', 'y', '[2] b', '[3] c', 'z', ''].join('\n');

  it('negate: false, match: after — matching lines are appended to the line before', () => {
    expect(events(text, { pattern: '^[a-z]$', negate: false, match: 'after' })).toEqual([
      '[1] a\nx\ny',
      '[2] b',
      '[3] c\nz',
    ]);
  });

  it('negate: true, match: after — lines not matching the start pattern are appended', () => {
    expect(events(text, { pattern: String.raw`^\[\d\]`, negate: true, match: 'after' })).toEqual([
      '[1] a\nx\ny',
      '[2] b',
      '[3] c\nz',
    ]);
  });

  it('negate: false, match: before — matching lines are prepended to the next line', () => {
    // Lines ending with a backslash continue on the next line.
    const cont = ['a \\', 'b \\', 'c', 'd', 'e \\', 'f', ''].join('\n');
    expect(events(cont, { pattern: String.raw`\\$`, negate: false, match: 'before' })).toEqual([
      'a \\\nb \\\nc',
      'd',
      'e \\\nf',
    ]);
  });

  it('negate: true, match: before — lines not matching the end pattern are prepended to the next', () => {
    const blocks = ['begin 1', 'body', 'END', 'begin 2', 'END', ''].join('\n');
    expect(events(blocks, { pattern: '^END$', negate: true, match: 'before' })).toEqual([
      'begin 1\nbody\nEND',
      'begin 2\nEND',
    ]);
  });
});

describe('event limits, offsets and held events', () => {
  it('cuts an event at maxLines; the rest starts a new event, and the cut is flagged', () => {
    const text = 'head\n' + Array.from({ length: 7 }, (_, i) => ` at ${i}`).join('\n') + '\n';
    const stage = new RecordStage({
      multiline: { ...limits, pattern: String.raw`^\s`, maxLines: 3 },
    });
    const out = stage.process(linesOf(text), { final: true, eof: true });
    expect(out.records.map((r) => r.lines)).toEqual([3, 3, 2]);
    expect(out.records.map((r) => r.cut)).toEqual([true, true, false]);
  });

  it('cuts an event at maxBytes (content, inner newlines included)', () => {
    const text = 'aaaa\n bbb\n ccc\n ddd\n';
    const stage = new RecordStage({
      multiline: { ...limits, pattern: String.raw`^\s`, maxBytes: 10 },
    });
    const out = stage.process(linesOf(text), { final: true, eof: true });
    expect(out.records.map((r) => String(r.content))).toEqual(['aaaa\n bbb', ' ccc\n ddd']);
  });

  it('gives each event the offset of its first byte and its on-disk length (CRLF included)', () => {
    const text = 'one\r\n at x\r\ntwo\n';
    const stage = new RecordStage({ multiline: { ...limits, pattern: String.raw`^\s` } });
    const out = stage.process(linesOf(text, 100), { final: true, eof: true });
    expect(out.records.map((r) => [r.offset, r.sourceLength, String(r.content)])).toEqual([
      [100, 12, 'one\n at x'],
      [112, 4, 'two'],
    ]);
    expect(out.end).toBe(116);
  });

  it('holds the last event at the end of the file until more lines, the end, or a flush', () => {
    const text = 'first\n at a\nsecond\n at b\n';
    const stage = new RecordStage({ multiline: { ...limits, pattern: String.raw`^\s` } });
    const open = stage.process(linesOf(text), { final: false, eof: true });
    expect(open.records.map((r) => String(r.content))).toEqual(['first\n at a']);
    expect(open.held).toEqual({ offset: 12, end: 25 });
    expect(open.end).toBe(12);
    // Only the held event in the read: nothing to send.
    const alone = stage.process(linesOf('second\n at b\n', 12), { final: false, eof: true });
    expect(alone.records).toEqual([]);
    expect(alone.held).toEqual({ offset: 12, end: 25 });
    // The flush timeout passed (or the file was rotated away): sent.
    const flushed = stage.process(linesOf('second\n at b\n', 12), { final: true, eof: true });
    expect(flushed.records.map((r) => String(r.content))).toEqual(['second\n at b']);
    expect(flushed.held).toBeUndefined();
    // Its end is where the file ended, not where the file says: the harvester must remember it.
    expect(flushed.forcedEnd).toBe(true);
    expect(open.forcedEnd).toBe(false);
  });

  it('holds the last event of a read cut by its budget even in a file rotated away (events stay whole)', () => {
    const stage = new RecordStage({ multiline: { ...limits, pattern: String.raw`^\s` } });
    const out = stage.process(linesOf('first\n at a\nsecond\n at b\n'), {
      final: true,
      eof: false,
    });
    expect(out.records.map((r) => String(r.content))).toEqual(['first\n at a']);
    expect(out.held).toEqual({ offset: 12, end: 25 });
    expect(out.forcedEnd).toBe(false);
  });

  it('ends an event where a record sent before ended (lines read again after a lost ack)', () => {
    const stage = new RecordStage({ multiline: { ...limits, pattern: String.raw`^\s` } });
    const out = stage.process(linesOf('first\n at a\n at b\nnext\n'), {
      final: false,
      eof: true,
      endsRecordAt: (offset) => offset === 12,
    });
    expect(out.records.map((r) => [String(r.content), r.offset])).toEqual([
      ['first\n at a', 0],
      [' at b', 12],
    ]);
    expect(out.held).toEqual({ offset: 18, end: 23 });
  });

  it('does not hold a match-before event whose last line ends it', () => {
    const stage = new RecordStage({
      multiline: { ...limits, pattern: String.raw`\\$`, match: 'before' },
    });
    expect(stage.process(linesOf('a \\\nb\n'), { final: false, eof: true }).held).toBeUndefined();
    expect(stage.process(linesOf('a \\\nb \\\n'), { final: false, eof: true }).held).toEqual({
      offset: 0,
      end: 8,
    });
  });

  it('sends a lone event that filled the read budget rather than waiting forever', () => {
    const stage = new RecordStage({ multiline: { ...limits, pattern: String.raw`^\s` } });
    const out = stage.process(linesOf('a\n b\n c\n'), { final: false, eof: false });
    expect(out.records).toHaveLength(1);
    expect(out.held).toBeUndefined();
  });
});
