/**
 * WideLineSplitter: the line splitter for UTF-16 files (a tail's `encoding: utf-16le/utf-16be`),
 * where a line ends with the 2-byte code unit U+000A at an even file offset — never at a lone
 * 0x0A byte, which also occurs inside other characters (U+4E0A 上 is 0A 4E in UTF-16LE).
 *
 * Same contract as {@link LineSplitter} (views of chunks, `resumeOffset`, bounded memory, long
 * lines truncated or skipped and counted); terminators are 2 bytes (`\n`) or 4 (`\r\n`). Only
 * used for UTF-16 tails: the default byte splitter is untouched.
 */
import { RelayError } from '../../common/errors/relay-error.js';
import {
  checkFileOffset,
  DEFAULT_MAX_LINE_BYTES,
  TailErrorCode,
  type Line,
  type LineSplitterOptions,
  type LongLinePolicy,
  type SplitterStats,
} from './line-splitter.js';

export type WideByteOrder = 'le' | 'be';

export class WideLineSplitter {
  readonly maxLineBytes: number;
  readonly onLongLine: LongLinePolicy;
  readonly #nl: Buffer;
  readonly #cr: Buffer;
  /** Longest content kept, rounded down to whole code units. */
  readonly #maxEven: number;
  #position: number;
  /** Offset of the pending line's first byte. */
  #lineStart = 0;
  /** The pending line's bytes (normal mode), or its last byte (discarding mode). */
  #window: Buffer | undefined;
  #windowOffset = 0;
  /** A pending line longer than maxLineBytes: its kept head, and the bytes dropped after it. */
  #head: Buffer | undefined;
  #dropped = 0;
  #stats: SplitterStats = { truncatedLines: 0, skippedLines: 0, discardedBytes: 0 };

  constructor(order: WideByteOrder, options: LineSplitterOptions = {}) {
    const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isSafeInteger(max) || max < 2) {
      throw new RelayError(TailErrorCode.BadOption, `maxLineBytes must be an integer ≥ 2`, {
        details: { maxLineBytes: max },
      });
    }
    this.maxLineBytes = max;
    this.#maxEven = max - (max % 2);
    this.onLongLine = options.onLongLine ?? 'truncate';
    this.#nl = Buffer.from(order === 'le' ? [0x0a, 0x00] : [0x00, 0x0a]);
    this.#cr = Buffer.from(order === 'le' ? [0x0d, 0x00] : [0x00, 0x0d]);
    this.#position = checkFileOffset(options.startOffset ?? 0);
  }

  get position(): number {
    return this.#position;
  }

  get resumeOffset(): number {
    return this.pendingBytes > 0 ? this.#lineStart : this.#position;
  }

  get pendingBytes(): number {
    if (this.#head !== undefined)
      return this.#head.length + this.#dropped + (this.#window?.length ?? 0);
    return this.#window?.length ?? 0;
  }

  get bufferedBytes(): number {
    return (this.#head?.length ?? 0) + (this.#window?.length ?? 0);
  }

  get stats(): SplitterStats {
    return { ...this.#stats };
  }

  push(chunk: Buffer, out: Line[], offset?: number): number {
    const base = this.#position;
    if (offset !== undefined && offset !== base) {
      throw new RelayError(
        TailErrorCode.Discontiguous,
        `chunk at offset ${offset} does not continue the stream at ${base}`,
        { details: { offset, expected: base } },
      );
    }
    if (chunk.length === 0) return 0;
    this.#position = base + chunk.length;
    const before = out.length;
    const window = this.#window;
    const data = window === undefined ? chunk : Buffer.concat([window, chunk]);
    const dataOffset = window === undefined ? base : this.#windowOffset;
    this.#window = undefined;
    let start = 0; // index in data of the pending line's first kept byte
    let pos = 0;
    for (;;) {
      const nl = data.indexOf(this.#nl, pos);
      if (nl === -1) break;
      if ((dataOffset + nl) % 2 !== 0) {
        pos = nl + 1;
        continue;
      }
      if (this.#head !== undefined) {
        // The end of a line already over the limit: everything before nl was dropped.
        this.#longLine(out, this.#head, this.#dropped + nl, 2);
        this.#head = undefined;
        this.#dropped = 0;
      } else {
        let end = nl;
        let term: 2 | 4 = 2;
        if (end - start >= 2 && data[end - 2] === this.#cr[0] && data[end - 1] === this.#cr[1]) {
          end -= 2;
          term = 4;
        }
        const lineOffset = dataOffset + start;
        const n = end - start;
        if (n <= this.maxLineBytes) {
          out.push({
            offset: lineOffset,
            content: data.subarray(start, end),
            terminatorLength: term,
            truncatedBytes: 0,
          });
        } else {
          this.#lineStart = lineOffset;
          this.#longLine(out, data.subarray(start, start + this.#maxEven), n - this.#maxEven, term);
        }
      }
      pos = nl + 2;
      start = pos;
      this.#lineStart = dataOffset + start;
    }
    // The rest is the pending line.
    if (this.#head !== undefined) {
      // Still over the limit: keep only the last byte (half of a newline, perhaps).
      this.#dropped += data.length - 1;
      this.#window = Buffer.from(data.subarray(data.length - 1));
      this.#windowOffset = dataOffset + data.length - 1;
    } else if (start < data.length) {
      const rest = data.subarray(start);
      this.#lineStart = dataOffset + start;
      if (rest.length > this.maxLineBytes + 4) {
        this.#head = Buffer.from(rest.subarray(0, this.#maxEven));
        this.#dropped = rest.length - this.#maxEven - 1;
        this.#window = Buffer.from(rest.subarray(rest.length - 1));
        this.#windowOffset = dataOffset + data.length - 1;
      } else {
        this.#window = Buffer.from(rest);
        this.#windowOffset = this.#lineStart;
      }
    }
    return out.length - before;
  }

  /** A line over maxLineBytes: truncated (its head kept) or skipped, and counted. */
  #longLine(out: Line[], head: Buffer, dropped: number, term: 0 | 2 | 4): void {
    if (this.onLongLine === 'truncate') {
      this.#stats.truncatedLines += 1;
      this.#stats.discardedBytes += dropped;
      out.push({
        offset: this.#lineStart,
        content: head,
        terminatorLength: term,
        truncatedBytes: dropped,
      });
    } else {
      this.#stats.skippedLines += 1;
      this.#stats.discardedBytes += head.length + dropped;
    }
  }

  flushPartial(): Line | undefined {
    if (this.pendingBytes === 0) return undefined;
    const out: Line[] = [];
    if (this.#head !== undefined) {
      this.#longLine(out, this.#head, this.#dropped + (this.#window?.length ?? 0), 0);
    } else {
      const rest = this.#window as Buffer;
      if (rest.length <= this.maxLineBytes) {
        out.push({
          offset: this.#lineStart,
          content: rest,
          terminatorLength: 0,
          truncatedBytes: 0,
        });
      } else {
        this.#longLine(out, rest.subarray(0, this.#maxEven), rest.length - this.#maxEven, 0);
      }
    }
    this.#clear();
    return out[0];
  }

  reset(offset: number): void {
    this.#position = checkFileOffset(offset);
    this.#clear();
  }

  #clear(): void {
    this.#window = undefined;
    this.#head = undefined;
    this.#dropped = 0;
  }
}
