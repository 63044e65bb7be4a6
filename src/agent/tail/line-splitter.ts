import { RelayError } from '../../common/errors/relay-error.js';

/** Stable error codes of the tail package (files, splitter, identity, rotation). */
export const TailErrorCode = {
  /** An option is out of range (e.g. `maxLineBytes` < 1). */
  BadOption: 'TAIL_BAD_OPTION',
  /** A chunk was pushed at an offset that does not continue the previous one. */
  Discontiguous: 'TAIL_DISCONTIGUOUS',
  /** `seek()` or a start offset is not a non-negative safe integer. */
  BadOffset: 'TAIL_BAD_OFFSET',
  /** The file could not be opened (details.errno has the system code). */
  OpenFailed: 'TAIL_OPEN_FAILED',
  /** Reading or stat-ing the open descriptor failed (details.errno has the system code). */
  ReadFailed: 'TAIL_READ_FAILED',
  /** The tailer was used after `close()`. */
  Closed: 'TAIL_CLOSED',
  /** The path names another file than expected (rotated between a stat and the open). */
  Replaced: 'TAIL_FILE_REPLACED',
  /** The opened file lies outside the roots it was confined to (`remote.allow`); nothing was read. */
  OutsideRoots: 'TAIL_OUTSIDE_ROOTS',
  /** Two reads were started at once on one tailer; callers must serialise them. */
  Busy: 'TAIL_BUSY',
} as const;

/**
 * One line of a file.
 *
 * On disk the line occupies `content.length + truncatedBytes + terminatorLength` bytes starting
 * at `offset`; {@link lineEnd} computes where the next line starts.
 */
export interface Line {
  /** Byte offset in the file of the line's first byte. Resuming here re-reads this line. */
  readonly offset: number;
  /**
   * The line's bytes without the terminator, untouched (binary, NUL, invalid UTF-8 pass through).
   * Usually a view into a read buffer, not a copy: copy it if you keep it long, or it pins the
   * whole read chunk in memory.
   */
  readonly content: Buffer;
  /**
   * 1 for `\n`, 2 for `\r\n`, 0 for a partial line handed out by `flushPartial()`; in a UTF-16
   * file (WideLineSplitter) 2 for `\n` and 4 for `\r\n`.
   */
  readonly terminatorLength: 0 | 1 | 2 | 4;
  /** Bytes cut from the end of the content because the line exceeded `maxLineBytes` (else 0). */
  readonly truncatedBytes: number;
}

/** What happens to a line whose content is longer than `maxLineBytes`. */
export type LongLinePolicy = 'truncate' | 'skip';

export interface LineSplitterOptions {
  /**
   * Longest line content (terminator excluded) passed on, in bytes. Default 1 MiB, the wire's
   * default batch size: a line must fit in one batch. Memory held for a partial line never
   * exceeds this plus one byte, however long the line on disk.
   */
  maxLineBytes?: number;
  /**
   * `truncate` (default) passes on the first `maxLineBytes` bytes and records the rest in
   * `truncatedBytes`; `skip` drops the whole line. Either way offsets advance past the line and
   * it is counted in {@link SplitterStats}.
   */
  onLongLine?: LongLinePolicy;
  /** File offset of the first byte that will be pushed. Default 0. */
  startOffset?: number;
}

/** Counters of lines that were not passed on as they were. Monotonic for the splitter's life. */
export interface SplitterStats {
  /** Lines longer than `maxLineBytes` passed on truncated. */
  truncatedLines: number;
  /** Lines longer than `maxLineBytes` dropped (`onLongLine: 'skip'`). */
  skippedLines: number;
  /** Content bytes dropped by truncation or skipping (terminators not counted). */
  discardedBytes: number;
}

/** 1 MiB: default `maxLineBytes`. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

const LF = 10;
const CR = 13;
/** A partial-line buffer larger than this is released after use rather than kept for reuse. */
const RETAIN_PENDING_BYTES = 64 * 1024;
const MIN_PENDING_CAPACITY = 256;

/** Offset just past a line on disk: where the following line starts. */
export function lineEnd(line: Line): number {
  return line.offset + line.content.length + line.truncatedBytes + line.terminatorLength;
}

/**
 * Incremental line splitter over a file's bytes, fed chunk by chunk in file order.
 *
 * Lines wholly inside a chunk are handed out as views of that chunk (no copy). Only a line that
 * spans chunks is copied, once, when its newline arrives; while it waits, at most
 * `maxLineBytes + 1` of its bytes are kept (the `+ 1` is a possible `\r` whose `\n` has not
 * arrived yet) and the rest is counted and discarded as it streams by.
 */
export class LineSplitter {
  readonly maxLineBytes: number;
  readonly onLongLine: LongLinePolicy;

  #position: number;
  /** Offset where the pending partial line starts (meaningful while #pendingTotal > 0). */
  #lineStart = 0;
  /** Bytes of the pending partial line seen so far, kept or not. */
  #pendingTotal = 0;
  /** Leading bytes of the pending line kept in #pending (≤ maxLineBytes + 1). */
  #pendingLen = 0;
  #pending: Buffer | undefined;
  /** Last byte of the pending line, kept even when discarded: it may be the `\r` of `\r\n`. */
  #lastByte = -1;
  #stats: SplitterStats = { truncatedLines: 0, skippedLines: 0, discardedBytes: 0 };

  constructor(options: LineSplitterOptions = {}) {
    const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RelayError(TailErrorCode.BadOption, `maxLineBytes must be an integer ≥ 1`, {
        details: { maxLineBytes: max },
      });
    }
    const policy = options.onLongLine ?? 'truncate';
    if (policy !== 'truncate' && policy !== 'skip') {
      throw new RelayError(TailErrorCode.BadOption, `onLongLine must be 'truncate' or 'skip'`, {
        details: { onLongLine: policy },
      });
    }
    this.maxLineBytes = max;
    this.onLongLine = policy;
    this.#position = checkFileOffset(options.startOffset ?? 0);
  }

  /** File offset of the next byte expected by `push()`. */
  get position(): number {
    return this.#position;
  }

  /**
   * Offset of the first byte not yet handed out as (or skipped as part of) a line: the start of
   * the held partial line, or `position` when none is held. Re-reading from here loses nothing.
   */
  get resumeOffset(): number {
    return this.#pendingTotal > 0 ? this.#lineStart : this.#position;
  }

  /** Bytes of the held partial line seen so far, including any already discarded. */
  get pendingBytes(): number {
    return this.#pendingTotal;
  }

  /** Bytes of memory the splitter holds for the partial line (≤ maxLineBytes + 1). */
  get bufferedBytes(): number {
    return this.#pending === undefined ? 0 : this.#pending.length;
  }

  /** A snapshot of the long-line counters. */
  get stats(): SplitterStats {
    return { ...this.#stats };
  }

  /**
   * Splits `chunk` (the file's bytes at `position`) and appends every line it completes to `out`.
   * The lines may be views of `chunk`, so the caller must not overwrite `chunk` while it uses them.
   * Returns the number of lines appended.
   *
   * @param offset where `chunk` was read from, checked against `position` when given.
   */
  push(chunk: Buffer, out: Line[], offset?: number): number {
    const base = this.#position;
    if (offset !== undefined && offset !== base) {
      throw new RelayError(
        TailErrorCode.Discontiguous,
        `chunk at offset ${offset} does not continue the stream at ${base}`,
        { details: { offset, expected: base } },
      );
    }
    const len = chunk.length;
    if (len === 0) return 0;
    this.#position = base + len;
    const before = out.length;
    let pos = 0;

    if (this.#pendingTotal > 0) {
      const nl = chunk.indexOf(LF);
      if (nl === -1) {
        this.#appendPending(chunk, 0, len);
        return 0;
      }
      this.#completePending(chunk, nl, out);
      pos = nl + 1;
    }

    const max = this.maxLineBytes;
    while (pos < len) {
      const nl = chunk.indexOf(LF, pos);
      if (nl === -1) break;
      let end = nl;
      let term: 1 | 2 = 1;
      if (end > pos && chunk[end - 1] === CR) {
        end -= 1;
        term = 2;
      }
      const n = end - pos;
      if (n <= max) {
        out.push({
          offset: base + pos,
          content: chunk.subarray(pos, end),
          terminatorLength: term,
          truncatedBytes: 0,
        });
      } else if (this.onLongLine === 'truncate') {
        this.#stats.truncatedLines += 1;
        this.#stats.discardedBytes += n - max;
        out.push({
          offset: base + pos,
          content: chunk.subarray(pos, pos + max),
          terminatorLength: term,
          truncatedBytes: n - max,
        });
      } else {
        this.#stats.skippedLines += 1;
        this.#stats.discardedBytes += n;
      }
      pos = nl + 1;
    }

    if (pos < len) {
      this.#lineStart = base + pos;
      this.#appendPending(chunk, pos, len);
    }
    return out.length - before;
  }

  /**
   * Hands out the held partial line as a line with `terminatorLength` 0 (a trailing `\r` stays in
   * the content: without its `\n` it is data), or undefined when none is held or it was skipped
   * as too long. For a file that is finished (rotated away and idle, or truncated under us):
   * later bytes, if any, start a new line at `position`.
   */
  flushPartial(): Line | undefined {
    const total = this.#pendingTotal;
    if (total === 0) return undefined;
    const offset = this.#lineStart;
    const max = this.maxLineBytes;
    let line: Line | undefined;
    if (total <= max) {
      line = { offset, content: this.#copyPending(total), terminatorLength: 0, truncatedBytes: 0 };
    } else if (this.onLongLine === 'truncate') {
      this.#stats.truncatedLines += 1;
      this.#stats.discardedBytes += total - max;
      line = {
        offset,
        content: this.#copyPending(max),
        terminatorLength: 0,
        truncatedBytes: total - max,
      };
    } else {
      this.#stats.skippedLines += 1;
      this.#stats.discardedBytes += total;
    }
    this.#clearPending();
    return line;
  }

  /** Forgets any partial line and expects the next chunk at `offset` (after a seek/truncation). */
  reset(offset: number): void {
    this.#position = checkFileOffset(offset);
    this.#clearPending();
    this.#pending = undefined;
  }

  #appendPending(chunk: Buffer, from: number, to: number): void {
    const n = to - from;
    const room = this.maxLineBytes + 1 - this.#pendingLen;
    const keep = n < room ? n : room;
    if (keep > 0) {
      const need = this.#pendingLen + keep;
      let buf = this.#pending;
      if (buf === undefined || buf.length < need) {
        let cap = buf === undefined ? MIN_PENDING_CAPACITY : buf.length * 2;
        while (cap < need) cap *= 2;
        cap = Math.min(cap, this.maxLineBytes + 1);
        const grown = Buffer.allocUnsafe(cap);
        if (buf !== undefined && this.#pendingLen > 0) buf.copy(grown, 0, 0, this.#pendingLen);
        buf = grown;
        this.#pending = buf;
      }
      chunk.copy(buf, this.#pendingLen, from, from + keep);
      this.#pendingLen = need;
    }
    this.#pendingTotal += n;
    this.#lastByte = chunk[to - 1];
  }

  /** Ends the pending line at `chunk[nl]` (a `\n`) and emits it per the long-line policy. */
  #completePending(chunk: Buffer, nl: number, out: Line[]): void {
    const total = this.#pendingTotal + nl;
    const last = nl > 0 ? chunk[nl - 1] : this.#lastByte;
    const term: 1 | 2 = last === CR ? 2 : 1;
    const contentLen = total - (term - 1);
    const max = this.maxLineBytes;
    const offset = this.#lineStart;
    if (contentLen <= max) {
      out.push({
        offset,
        content: this.#joinPending(chunk, contentLen),
        terminatorLength: term,
        truncatedBytes: 0,
      });
    } else if (this.onLongLine === 'truncate') {
      this.#stats.truncatedLines += 1;
      this.#stats.discardedBytes += contentLen - max;
      out.push({
        offset,
        content: this.#joinPending(chunk, max),
        terminatorLength: term,
        truncatedBytes: contentLen - max,
      });
    } else {
      this.#stats.skippedLines += 1;
      this.#stats.discardedBytes += contentLen;
    }
    this.#clearPending();
  }

  /** The first `n` bytes of the pending line followed by the head of `chunk`, as one new buffer. */
  #joinPending(chunk: Buffer, n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    const fromPending = Math.min(n, this.#pendingLen);
    if (fromPending > 0 && this.#pending !== undefined) {
      this.#pending.copy(out, 0, 0, fromPending);
    }
    if (n > fromPending) chunk.copy(out, fromPending, 0, n - fromPending);
    return out;
  }

  #copyPending(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    if (n > 0 && this.#pending !== undefined) this.#pending.copy(out, 0, 0, n);
    return out;
  }

  #clearPending(): void {
    this.#pendingTotal = 0;
    this.#pendingLen = 0;
    this.#lastByte = -1;
    // One huge line must not pin its buffer for the life of a file; small buffers are reused.
    if (this.#pending !== undefined && this.#pending.length > RETAIN_PENDING_BYTES) {
      this.#pending = undefined;
    }
  }
}

/** Returns `offset` if it is a non-negative safe integer, else throws `TAIL_BAD_OFFSET`. */
export function checkFileOffset(offset: number): number {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RelayError(TailErrorCode.BadOffset, `offset must be a non-negative integer`, {
      details: { offset },
    });
  }
  return offset;
}
