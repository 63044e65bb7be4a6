import type { Line } from '../../../../src/agent/tail/line-splitter.js';

/** Splits `text` (or bytes) into Lines at `\n` the way the tailer does, from `start`. */
export function linesOf(text: string | Buffer, start = 0): Line[] {
  const buf = typeof text === 'string' ? Buffer.from(text) : text;
  const lines: Line[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(10, pos);
    if (nl === -1) break;
    let end = nl;
    let term: 1 | 2 = 1;
    if (end > pos && buf[end - 1] === 13) {
      end -= 1;
      term = 2;
    }
    lines.push({
      offset: start + pos,
      content: buf.subarray(pos, end),
      terminatorLength: term,
      truncatedBytes: 0,
    });
    pos = nl + 1;
  }
  return lines;
}
