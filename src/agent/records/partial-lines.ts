// Role: partial lines — the record stage's first step: a read's physical lines become the
// application's lines (a CRI P…P F chain or Docker's 16 KiB chunks reassembled), each knowing the
// file bytes it spans, so that multiline and the filters work on what the application wrote.

import { lineEnd, type Line } from '../tail/line-splitter.js';
import type { ContainerLineParser } from './container-line.js';
import type { DecodedLine, LineDecoder } from './decoder.js';

/**
 * One line of the application: a physical line of a raw file, or the reassembled parts of a
 * container line. It spans the file bytes [offset, end): its physical lines, terminators included.
 */
export interface AppLine {
  offset: number;
  end: number;
  /** Its content as text (for multiline and the filters); '' when the stage has no use for it. */
  text: string;
  /** Its content as shipped (UTF-8, no newline). */
  bytes: Buffer;
  /** Physical lines it is made of. */
  lines: number;
  /** Terminator of its last physical line, on disk. */
  terminatorLength: Line['terminatorLength'];
  /** Bytes cut from its physical lines by the splitter (`lines.maxBytes`). */
  truncatedBytes: number;
  invalid: number;
  /** Physical lines that were not in the tail's format (shipped as they are): 0 or 1. */
  malformed: number;
  /** Container stream and runtime time of its first part (container formats only). */
  stream?: 'stdout' | 'stderr' | undefined;
  time?: string | undefined;
  /**
   * Its last part was partial: the line was cut before its end (longer than the limit, or
   * another stream's line came between its parts) — or, for the read's last line, it may still
   * grow (`open`).
   */
  unfinished: boolean;
}

export interface PartialLinesOptions {
  decoder: LineDecoder;
  /** The format's parser; undefined: raw, each physical line is an application line. */
  parser: ContainerLineParser | undefined;
  /** Longest reassembled content, bytes; a longer line is cut there (the rest is the next line). */
  maxBytes: number;
  /** Whether `text` is needed (multiline or filters). */
  needText: boolean;
  /** Where a record sent before ended: a chain never joins across it (see StageInput). */
  endsRecordAt?: ((offset: number) => boolean) | undefined;
}

interface Chain {
  first: number;
  last: number;
  parts: Buffer[];
  bytes: number;
  stream: 'stdout' | 'stderr';
  time: string;
  invalid: number;
  truncated: number;
}

/** The application's lines of `lines` (non-empty, in file order), in file order. */
export function applicationLines(lines: readonly Line[], options: PartialLinesOptions): AppLine[] {
  const { decoder, parser, maxBytes, needText } = options;
  const out: AppLine[] = [];
  if (parser === undefined) {
    for (const line of lines) out.push(asItIs(line, decoder.decode(line.content), 0));
    return out;
  }

  let chain: Chain | undefined;
  const close = (unfinished: boolean): void => {
    const c = chain as Chain;
    const first = lines[c.first] as Line;
    const last = lines[c.last] as Line;
    const bytes = c.parts.length === 1 ? (c.parts[0] as Buffer) : Buffer.concat(c.parts, c.bytes);
    out.push({
      offset: first.offset,
      end: lineEnd(last),
      text: needText ? bytes.toString('utf8') : '',
      bytes,
      lines: c.last - c.first + 1,
      terminatorLength: last.terminatorLength,
      truncatedBytes: c.truncated,
      invalid: c.invalid,
      malformed: 0,
      stream: c.stream,
      time: c.time,
      unfinished,
    });
    chain = undefined;
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as Line;
    const d = decoder.decode(line.content);
    // The parser is told the logical terminator: 2 for `\r\n`, in UTF-16 files too.
    const crlf = line.terminatorLength === (decoder.wide ? 4 : 2);
    const parsed = parser(d, crlf ? 2 : 1);
    if (parsed === undefined) {
      // Not in the format: shipped as it is, on its own (it ends a chain it interrupts).
      if (chain) close(true);
      out.push(asItIs(line, d, 1));
      continue;
    }
    if (chain) {
      const prev = lines[chain.last] as Line;
      // A record spans contiguous bytes of one stream: a part after a gap (a skipped long
      // line), of the other stream, or past the limit ends the chain, cut.
      if (
        line.offset !== lineEnd(prev) ||
        parsed.stream !== chain.stream ||
        chain.bytes + parsed.content.length > maxBytes ||
        options.endsRecordAt?.(line.offset) === true
      )
        close(true);
    }
    if (chain === undefined) {
      chain = {
        first: i,
        last: i,
        parts: [parsed.content],
        bytes: parsed.content.length,
        stream: parsed.stream,
        time: parsed.time,
        invalid: d.invalid + parsed.invalid,
        truncated: line.truncatedBytes,
      };
    } else {
      chain.last = i;
      chain.parts.push(parsed.content);
      chain.bytes += parsed.content.length;
      chain.invalid += d.invalid + parsed.invalid;
      chain.truncated += line.truncatedBytes;
    }
    if (!parsed.partial) close(false);
  }
  // The read ended inside a chain: it may still grow (the stage holds it or sends it cut).
  if (chain) close(true);
  return out;
}

/** A physical line that is an application line as it is (a raw file's, or one not in the format). */
function asItIs(line: Line, d: DecodedLine, malformed: 0 | 1): AppLine {
  return {
    offset: line.offset,
    end: lineEnd(line),
    text: d.text,
    bytes: d.bytes,
    lines: 1,
    terminatorLength: line.terminatorLength,
    truncatedBytes: line.truncatedBytes,
    invalid: d.invalid,
    malformed,
    unfinished: false,
  };
}
