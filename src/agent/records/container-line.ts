// Role: container line parsers — read one physical line of a container runtime's log file (CRI:
// containerd, CRI-O; Docker's json-file) into its stream, time, partial flag and content.

import { isUtf8 } from 'node:buffer';
import type { DecodedLine } from './decoder.js';

/** The log file layouts a tail may declare (`format`). */
export const FORMATS = ['raw', 'cri', 'docker-json'] as const;

export type Format = (typeof FORMATS)[number];

/** One physical line of a container log, parsed. */
export interface ContainerLine {
  /** The container's output stream the line came from. */
  stream: 'stdout' | 'stderr';
  /** The runtime's timestamp, as written (RFC 3339 with nanoseconds). */
  time: string;
  /** The application's line goes on in the next line of the same stream (CRI `P`, Docker chunk). */
  partial: boolean;
  /** The application's bytes this line carries (UTF-8; no newline). */
  content: Buffer;
  /** Invalid UTF-8 sequences replaced by U+FFFD while parsing it, beyond the decoder's count. */
  invalid: number;
}

/**
 * Reads one physical line (decoded; its terminator 1 for `\n`, 2 for `\r\n`); undefined when it
 * is not in the format.
 */
export type ContainerLineParser = (
  line: DecodedLine,
  terminatorLength: number,
) => ContainerLine | undefined;

const SPACE = 0x20;
const CR = Buffer.from('\r');
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * CRI: `<RFC 3339 time> <stdout|stderr> <tag> <content>`, the tag `P` (partial) or `F` (full),
 * possibly followed by `:`-separated tags the CRI reserves for later. The content's bytes are
 * kept as they are (invalid UTF-8 included), like any line of a UTF-8 tail.
 */
export function parseCriLine(
  line: DecodedLine,
  terminatorLength: number,
): ContainerLine | undefined {
  const buf = line.bytes;
  const s1 = buf.indexOf(SPACE);
  if (s1 <= 0) return undefined;
  const time = buf.toString('latin1', 0, s1);
  if (!RFC3339.test(time)) return undefined;
  const s2 = buf.indexOf(SPACE, s1 + 1);
  if (s2 === -1) return undefined;
  const stream = buf.toString('latin1', s1 + 1, s2);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const s3 = buf.indexOf(SPACE, s2 + 1);
  const tags = buf.toString('latin1', s2 + 1, s3 === -1 ? buf.length : s3);
  const tag = tags.split(':', 1)[0];
  if (tag !== 'P' && tag !== 'F') return undefined;
  const partial = tag === 'P';
  let content = s3 === -1 ? Buffer.alloc(0) : buf.subarray(s3 + 1);
  // A partial line ends where the runtime's buffer was full, not at a newline: a `\r` the line
  // splitter took for half of a CRLF is the application's byte.
  if (partial && terminatorLength === 2) content = Buffer.concat([content, CR]);
  return { stream, time, partial, content, invalid: 0 };
}

const REPLACEMENT = '\ufffd';

/**
 * Docker's json-file: `{"log":"...\n","stream":"stdout","time":"..."}`. `log` is the content,
 * its trailing newline (CRLF) removed; a `log` without one is a chunk of a line Docker split at
 * 16 KiB, continued by the next line of the same stream.
 */
export function parseDockerJsonLine(line: DecodedLine): ContainerLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line.text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { log, stream, time } = value as Record<string, unknown>;
  if (typeof log !== 'string' || (stream !== 'stdout' && stream !== 'stderr')) return undefined;
  if (typeof time !== 'string') return undefined;
  const partial = !log.endsWith('\n');
  let text = log;
  if (!partial) text = log.endsWith('\r\n') ? log.slice(0, -2) : log.slice(0, -1);
  let invalid = 0;
  // A UTF-8 tail's line is not decoded (the decoder counted nothing): the bytes JSON.parse
  // read as U+FFFD are counted here.
  if (line.invalid === 0 && !isUtf8(line.bytes)) {
    for (const ch of text) if (ch === REPLACEMENT) invalid++;
    invalid = Math.max(invalid, 1);
  }
  return { stream, time, partial, content: Buffer.from(text, 'utf8'), invalid };
}

/** The parser of a format; undefined for raw (no parsing). */
export function containerLineParser(format: Format): ContainerLineParser | undefined {
  if (format === 'cri') return parseCriLine;
  if (format === 'docker-json') return parseDockerJsonLine;
  return undefined;
}
