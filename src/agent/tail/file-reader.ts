/**
 * FileTailer: reads one file through a descriptor it keeps open, so a file renamed or deleted
 * under it can still be finished, and hands out complete lines within a byte budget.
 *
 * The file is the agent's buffer: nothing is kept for unacknowledged batches. The caller
 * remembers the offset of the last acked line and `seek()`s back to it to send again. Memory
 * per tailer is bounded by one read chunk plus `maxLineBytes + 1`, whatever the file holds.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { RelayError } from '../../common/errors/relay-error.js';
import { verifyConfined } from './confine.js';
import { DEFAULT_FINGERPRINT_BYTES, identityOf, probeFile, sameFile } from './fingerprint.js';
import type { FileIdentity, FileProbe } from './fingerprint.js';
import { checkFileOffset, LineSplitter, TailErrorCode } from './line-splitter.js';
import type { Line, LineSplitterOptions, SplitterStats } from './line-splitter.js';
import { detectTruncation } from './rotation.js';
import { WideLineSplitter, type WideByteOrder } from './wide-line-splitter.js';
import type { StatLike, TruncationCause } from './rotation.js';

/** 1 MiB: default read size, and the default `readLines` byte budget (the wire's batch size). */
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;
/** 10 000: default `readLines` line budget (the wire's batch line limit). */
export const DEFAULT_READ_LINES = 10_000;
const MIN_CHUNK_BYTES = 4 * 1024;
const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
/** Read past the budget by this much, so terminators and a straddling line rarely need a 2nd read. */
const READ_SLACK_BYTES = 64 * 1024;

export interface FileTailerOptions extends Omit<LineSplitterOptions, 'startOffset'> {
  /**
   * Where to start reading: a byte offset (e.g. an acked checkpoint), or `'end'` for the start
   * of the file's last line, so a line being written as the agent starts is shipped whole.
   * Default 0. An offset past the end is reported as a truncation on the first read.
   */
  start?: number | 'end';
  /**
   * Largest single `read()`, in bytes, 4 KiB – 64 MiB. Default 1 MiB. A read asks for about the
   * budget left in the `readLines` call (plus 64 KiB), capped by this.
   */
  chunkBytes?: number;
  /** Prefix length the fingerprint covers, in bytes. Default 1024. */
  fingerprintBytes?: number;
  /**
   * Re-check the file's first bytes whenever its size or mtime changed, to catch a file
   * truncated and refilled past our position between two looks. Costs one read of at most
   * `fingerprintBytes` per change. Default true.
   */
  verifyPrefix?: boolean;
  /** Generation of the content being read (from the registry). Default 0. */
  generation?: number;
  /**
   * The file is UTF-16 in this byte order: lines end with the 2-byte `\n` unit at an even
   * offset (see WideLineSplitter). Default: unset (lines end at a 0x0A byte).
   */
  wide?: WideByteOrder | undefined;
  /**
   * The file the caller found at `path` (by stat): when the path names another file by the
   * time it is opened (rotated in between), `open` fails with TAIL_FILE_REPLACED instead of
   * applying that file's offset to the new one.
   */
  expect?: { dev: number; ino: number };
  /**
   * Absolute folders the opened file must lie in (a remote tail's `remote.allow`). Checked on
   * the descriptor after `open` and before any read, so a symlink flipped between a check and
   * the open cannot lead outside: `open` fails with TAIL_OUTSIDE_ROOTS. Default: unset (any).
   */
  confine?: readonly string[];
}

/** A truncation seen by `readLines`: reading restarted at offset 0 as a new generation. */
export interface TruncationEvent {
  cause: TruncationCause;
  /** Size of the file when the truncation was seen, in bytes. */
  newSize: number;
  /**
   * Bytes lost: the file was seen holding them past the read position, then they were gone.
   * A lower bound (see `Truncation.lostBytes`). A held partial line is not counted: it is
   * handed out, unterminated, as the last of the result's lines.
   */
  lostBytes: number;
  /** Generation of the content before (the result's lines belong to it) and after. */
  previousGeneration: number;
  generation: number;
}

/** What one `readLines` call returns. */
export interface ReadLinesResult {
  /** Complete lines in file order, within the budget (at least one if any is ready). */
  lines: Line[];
  /**
   * Offset of the first byte not handed out (the tailer's `resumeOffset` after the call, or, on
   * truncation, the old generation's). It lies past skipped long lines, so once every returned
   * line is acked it is the offset to checkpoint; a batch's own end offset on the wire is
   * `lineEnd()` of its last line. Lines are contiguous except where a long line was skipped:
   * compare `line.offset` with `lineEnd(previous)` and start a new batch at a gap.
   */
  endOffset: number;
  /** True when no complete line is available now: the file's current end was reached. */
  eof: boolean;
  /** Set when the content restarted; `lines` belong to the previous generation. */
  truncation: TruncationEvent | undefined;
}

/** Counters over the tailer's life (all generations). */
export interface TailerStats extends SplitterStats {
  /** Bytes read from the file (re-reads after `seek()` count again). */
  bytesRead: number;
  /** Lines handed out by `readLines` and `flushPartial`. */
  linesRead: number;
  /** Truncations seen (copytruncate, truncate in place, offset past the end). */
  truncations: number;
  /** Sum of `TruncationEvent.lostBytes`. */
  lostBytes: number;
}

/** Reads lines from one open file. Not safe for concurrent calls: serialise them. */
export class FileTailer {
  /** The path the file was opened at (it may since have been renamed or deleted). */
  readonly path: string;
  readonly chunkBytes: number;
  readonly fingerprintBytes: number;
  readonly verifyPrefix: boolean;

  #handle: FileHandle;
  readonly #options: FileTailerOptions;
  #splitter: LineSplitter | WideLineSplitter;
  #identity: FileIdentity;
  #generation: number;
  /** Offset of the next byte to read. */
  #position: number;
  /** File size at the last fstat (or read) in bytes. */
  #size: number;
  #mtimeMs = Number.NaN;
  /** Set by {@link endContent}: the next readLines starts a new generation. */
  #contentEnded = false;
  /** Lines split but not yet handed out (from the last chunk read); head index into it. */
  #ready: Line[] = [];
  #readyHead = 0;
  #readyChunkBytes = 0;
  #busy = false;
  #closed = false;
  #bytesRead = 0;
  #linesRead = 0;
  #truncations = 0;
  #lostBytes = 0;

  private constructor(
    path: string,
    handle: FileHandle,
    probe: FileProbe,
    options: FileTailerOptions,
    start: number,
    carried?: { identity: FileIdentity; size: number },
  ) {
    this.path = path;
    this.#handle = handle;
    this.#options = options;
    this.chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.fingerprintBytes = options.fingerprintBytes ?? DEFAULT_FINGERPRINT_BYTES;
    this.verifyPrefix = options.verifyPrefix ?? true;
    this.#generation = options.generation ?? 0;
    this.#identity = carried?.identity ?? identityOf(probe, this.fingerprintBytes);
    this.#size = carried?.size ?? probe.size;
    this.#position = start;
    this.#splitter =
      options.wide === undefined
        ? new LineSplitter({ ...options, startOffset: start })
        : new WideLineSplitter(options.wide, { ...options, startOffset: start });
  }

  /**
   * Opens the file again after `close()` (to free its descriptor while it was idle), at `path`
   * (where it was seen last), as if it had stayed open: the same identity (device, inode,
   * fingerprint prefix), generation and last seen size, reading from `resumeAt` (the
   * `resumeOffset` when it was closed). The path must name the same device and inode, else
   * TAIL_FILE_REPLACED. Whether the content is still the one read is checked by the next read
   * exactly as for a file kept open: its first bytes against the identity, its size against the
   * last one seen, so a file truncated in place (copytruncate) while closed is reported as a
   * truncation. Statistics start again at 0.
   */
  async reopen(path: string, resumeAt: number): Promise<FileTailer> {
    if (!this.#closed) {
      throw new RelayError(TailErrorCode.BadOption, `${this.path}: reopen of an open tailer`, {
        details: { path: this.path },
      });
    }
    const options: FileTailerOptions = {
      ...this.#options,
      start: checkFileOffset(resumeAt),
      generation: this.#generation,
      expect: { dev: this.#identity.device, ino: this.#identity.inode },
    };
    let handle: FileHandle;
    try {
      handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      throw openError(path, err);
    }
    try {
      const st = await handle.stat();
      if (!st.isFile() || st.dev !== this.#identity.device || st.ino !== this.#identity.inode) {
        throw new RelayError(
          TailErrorCode.Replaced,
          `${path} is not the file read before (expected ${this.#identity.device}:${this.#identity.inode}, found ${st.dev}:${st.ino})`,
          { details: { path }, retriable: true },
        );
      }
      if (options.confine) await verifyConfined(handle, st, path, options.confine);
      const probe: FileProbe = {
        device: st.dev,
        inode: st.ino,
        size: st.size,
        prefix: Buffer.alloc(0),
      };
      return new FileTailer(path, handle, probe, options, resumeAt, {
        identity: this.#identity,
        size: this.#size,
      });
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err instanceof RelayError ? err : openError(path, err);
    }
  }

  /**
   * Opens `path` (following symlinks) for reading and takes its identity through the new
   * descriptor. Throws `TAIL_OPEN_FAILED` (retriable only for descriptor exhaustion) when the
   * path is missing, unreadable or not a regular file.
   */
  static async open(path: string, options: FileTailerOptions = {}): Promise<FileTailer> {
    checkOptions(options);
    const maxLine = new LineSplitter(options).maxLineBytes; // validates the splitter's options
    let handle: FileHandle;
    try {
      // O_NONBLOCK: opening a FIFO must not hang a libuv thread until a writer shows up.
      handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      throw openError(path, err);
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) {
        throw new RelayError(TailErrorCode.OpenFailed, `${path} is not a regular file`, {
          details: { path },
        });
      }
      const expect = options.expect;
      if (expect && (st.dev !== expect.dev || st.ino !== expect.ino)) {
        throw new RelayError(
          TailErrorCode.Replaced,
          `${path} was replaced while being opened (expected ${expect.dev}:${expect.ino}, found ${st.dev}:${st.ino})`,
          { details: { path }, retriable: true },
        );
      }
      // Before the first read: bytes of an unverified descriptor must never be handed out.
      if (options.confine) await verifyConfined(handle, st, path, options.confine);
      const probe = await probeFile(handle, options);
      const start =
        options.start === 'end'
          ? await lastLineStart(handle, probe.size, maxLine, options.wide)
          : checkFileOffset(options.start ?? 0);
      return new FileTailer(path, handle, probe, options, start);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err instanceof RelayError ? err : openError(path, err);
    }
  }

  /** Identity of the content being read; its prefix grows until it holds the fingerprint. */
  get identity(): FileIdentity {
    return { ...this.#identity };
  }

  /** The identity without a copy (read only): for comparing thousands of files cheaply. */
  get identityView(): Readonly<FileIdentity> {
    return this.#identity;
  }

  /** Generation of the content being read; raised by one at each truncation. */
  get generation(): number {
    return this.#generation;
  }

  /** Offset of the next byte the tailer will read from the file. */
  get position(): number {
    return this.#position;
  }

  /**
   * Offset of the first byte not yet handed out as a line: where reading would resume after a
   * restart with nothing lost (the start of a held partial line or of the next queued line).
   */
  get resumeOffset(): number {
    const next = this.#ready[this.#readyHead];
    return next !== undefined ? next.offset : this.#splitter.resumeOffset;
  }

  /** File size at the last look, in bytes. */
  get size(): number {
    return this.#size;
  }

  /** Bytes the tailer keeps in memory: the queued chunk and the partial-line buffer. */
  get bufferedBytes(): number {
    const queued = this.#readyHead < this.#ready.length ? this.#readyChunkBytes : 0;
    return queued + this.#splitter.bufferedBytes;
  }

  /** Bytes of a partial last line held back until its newline arrives. */
  get pendingBytes(): number {
    return this.#splitter.pendingBytes;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get stats(): TailerStats {
    return {
      ...this.#splitter.stats,
      bytesRead: this.#bytesRead,
      linesRead: this.#linesRead,
      truncations: this.#truncations,
      lostBytes: this.#lostBytes,
    };
  }

  /**
   * Reads and returns complete lines, at most `maxLines` of them and at most `maxBytes` of
   * content (terminators excluded) — except that one line is always returned when one is
   * ready, however long (it is at most `maxLineBytes`). Reads ahead at most one chunk.
   *
   * @param maxBytes content byte budget. Default 1 MiB.
   * @param maxLines line budget. Default 10 000.
   */
  async readLines(
    maxBytes: number = DEFAULT_CHUNK_BYTES,
    maxLines: number = DEFAULT_READ_LINES,
  ): Promise<ReadLinesResult> {
    if (!(maxBytes >= 1) || !(maxLines >= 1)) {
      throw new RelayError(TailErrorCode.BadOption, 'readLines budgets must be ≥ 1', {
        details: { maxBytes, maxLines },
      });
    }
    this.#enter();
    try {
      if (this.#contentEnded) {
        this.#contentEnded = false;
        return await this.#restart([], {
          cause: 'rewritten',
          newSize: this.#size,
          lostBytes: 0,
          probe: undefined,
        });
      }
      let lines: Line[] = [];
      let bytes = 0;
      let looked = false;
      let shortRead = false;
      for (;;) {
        if (this.#readyHead < this.#ready.length) {
          const ready = this.#ready;
          const head = this.#readyHead;
          let i = head;
          while (i < ready.length) {
            const n = (ready[i] as Line).content.length;
            const count = lines.length + (i - head);
            if (count > 0 && (count >= maxLines || bytes + n > maxBytes)) break;
            bytes += n;
            i += 1;
          }
          if (i < ready.length) {
            // Budget reached inside the queue: the rest waits for the next call, and nothing
            // more may be read, or the queue would grow past one chunk.
            for (let j = head; j < i; j += 1) lines.push(ready[j] as Line);
            this.#readyHead = i;
            break;
          }
          if (lines.length === 0 && head === 0) {
            // The common case: all of the chunk's lines fit; hand the array over, no copying.
            lines = ready;
          } else {
            for (let j = head; j < i; j += 1) lines.push(ready[j] as Line);
          }
          this.#ready = [];
          this.#readyHead = 0;
        }
        if (lines.length >= maxLines || bytes >= maxBytes) break;

        if (this.#position >= this.#size || shortRead) {
          if (looked) return this.#result(lines, true);
          looked = true;
          const truncation = await this.#look();
          if (truncation !== undefined) return this.#restart(lines, truncation);
          if (this.#position >= this.#size) return this.#result(lines, true);
        }
        // Nothing read although the last look promised bytes: the file shrank; look again.
        const read = await this.#readChunk(maxBytes - bytes);
        if (typeof read !== 'number') return this.#restart(lines, read);
        shortRead = read === 0;
      }
      return this.#result(lines, false);
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Forgets what was read ahead and reads from `offset` next (an acked checkpoint, to send
   * unacknowledged lines again). `offset` must be a line start in the current generation for the
   * lines to split as before; an offset past the end is reported as a truncation.
   */
  seek(offset: number): void {
    this.#enter();
    try {
      checkFileOffset(offset);
      this.#dropReady();
      this.#splitter.reset(offset);
      this.#position = offset;
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Hands out the held partial line (`terminatorLength` 0), for a file rotated away and idle:
   * its newline will never come. Later bytes, if any, start a new line.
   */
  flushPartial(): Line | undefined {
    this.#enter();
    try {
      // Lines already queued come before the partial one; hand them out first via readLines.
      if (this.#readyHead < this.#ready.length) return undefined;
      const line = this.#splitter.flushPartial();
      if (line !== undefined) this.#linesRead += 1;
      return line;
    } finally {
      this.#busy = false;
    }
  }

  /**
   * The content the identity names is known to be gone from the file although its first bytes
   * could not tell (a copytruncate copy of it was found): the next `readLines` reports a
   * truncation (`rewritten`, nothing lost) and reads the file from 0 as a new generation.
   */
  endContent(): void {
    this.#checkOpen();
    this.#contentEnded = true;
  }

  /** fstat of the open descriptor: `nlink` 0 means the file was deleted. */
  async stat(): Promise<StatLike> {
    this.#checkOpen();
    try {
      const st = await this.#handle.stat();
      return { dev: st.dev, ino: st.ino, size: st.size, nlink: st.nlink };
    } catch (err) {
      throw readError(this.path, err);
    }
  }

  /**
   * Notes how large the file is now without reading it (only ever raising the size known, and
   * only while the file still starts with this content's first bytes), so that bytes lost to a
   * later truncation are counted even while reading is held back by backpressure. Does nothing
   * while a read is in progress.
   */
  async observeSize(): Promise<void> {
    if (this.#closed || this.#busy) return;
    const st = await this.#handle.stat().catch(() => undefined);
    const id = this.#identity;
    if (!st || this.#busy) return;
    const grew = st.size > this.#size;
    // The identity grows with the file while reading waits (an older generation goes first):
    // a copy of this content (copytruncate) is recognised by it.
    const canGrowPrefix = id.prefixLength < this.fingerprintBytes && st.size > id.prefixLength;
    // Grown, or so it seems: truncated and written past the old size since the last look, the
    // file holds another content, whose size is not this one's (taken for it, the bytes lost to
    // the next truncation would be overcounted). The first bytes tell.
    const mustVerify = grew && this.verifyPrefix && id.prefixLength > 0;
    if (!canGrowPrefix && !mustVerify) {
      if (grew) this.#size = st.size;
      return;
    }
    const probe = await probeFile(this.#handle, {
      fingerprintBytes: this.fingerprintBytes,
      knownPrefixLength: id.prefixLength,
    }).catch(() => undefined);
    if (!probe || this.#busy || this.#closed || this.#identity !== id || !sameFile(id, probe))
      return;
    // The size was taken before the first bytes were seen to be this content's: it is its own.
    if (st.size > this.#size) this.#size = st.size;
    if (canGrowPrefix && probe.prefix.length > id.prefixLength)
      this.#identity = identityOf(probe, this.fingerprintBytes);
  }

  /**
   * The file as seen through the descriptor now (size and first bytes), covering `prefixLength`
   * bytes of `known` when given: feed it to `decideResume()` or `sameFile()`.
   */
  async probe(known?: FileIdentity): Promise<FileProbe> {
    this.#checkOpen();
    return probeFile(this.#handle, {
      fingerprintBytes: this.fingerprintBytes,
      knownPrefixLength: known?.prefixLength ?? 0,
    });
  }

  /** Closes the descriptor. Idempotent; waits for a read in progress. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#dropReady();
    this.#splitter.reset(this.#position);
    try {
      await this.#handle.close();
    } catch (err) {
      throw readError(this.path, err);
    }
  }

  #enter(): void {
    this.#checkOpen();
    if (this.#busy) {
      throw new RelayError(TailErrorCode.Busy, `${this.path}: concurrent use of a tailer`, {
        details: { path: this.path },
      });
    }
    this.#busy = true;
  }

  #checkOpen(): void {
    if (this.#closed) {
      throw new RelayError(TailErrorCode.Closed, `${this.path}: tailer is closed`, {
        details: { path: this.path },
      });
    }
  }

  #dropReady(): void {
    this.#ready = [];
    this.#readyHead = 0;
    this.#readyChunkBytes = 0;
  }

  #result(lines: Line[], eof: boolean): ReadLinesResult {
    this.#linesRead += lines.length;
    return { lines, endOffset: this.resumeOffset, eof, truncation: undefined };
  }

  /**
   * Reads the next chunk and splits it into the ready queue (which is empty here). Returns the
   * bytes read, or the truncation found when the file's first bytes changed by the end of the
   * read (the chunk is then dropped: it may hold new content read at an old offset).
   */
  async #readChunk(
    budget: number,
  ): Promise<number | (TruncationEventBase & { probe: FileProbe | undefined })> {
    // Reading about what the caller can take keeps the read-ahead queue (and the lines that
    // survive into the next call, which the GC must then promote) small.
    const want = Math.min(
      this.chunkBytes,
      this.#size - this.#position,
      Math.max(budget + READ_SLACK_BYTES, MIN_CHUNK_BYTES),
    );
    // A fresh buffer per read: handed-out lines are views of it and must stay valid.
    const buf = Buffer.allocUnsafeSlow(want);
    let bytesRead: number;
    try {
      ({ bytesRead } = await this.#handle.read(buf, 0, want, this.#position));
    } catch (err) {
      throw readError(this.path, err);
    }
    if (this.#closed) throw new RelayError(TailErrorCode.Closed, `${this.path}: tailer is closed`);
    // Shrunk since the last look. #size stays: it is what tells how many seen bytes were lost.
    if (bytesRead === 0) return 0;
    // copytruncate while reading mid-file: truncated and written again past our position since
    // the last look, the read returned new content at an old offset. Checked after the read, so
    // a chunk kept was read before any truncation (unless the new content starts with the same
    // bytes, which nothing can tell).
    const id = this.#identity;
    if (this.verifyPrefix && id.prefixLength > 0) {
      const probe = await probeFile(this.#handle, {
        fingerprintBytes: this.fingerprintBytes,
        knownPrefixLength: id.prefixLength,
      }).catch((err: unknown) => {
        throw readError(this.path, err);
      });
      if (!sameFile(id, probe)) {
        return {
          cause: probe.size < this.#position ? 'shrunk' : 'rewritten',
          newSize: probe.size,
          lostBytes: Math.max(0, this.#size - this.#position),
          probe,
        };
      }
      if (probe.prefix.length > id.prefixLength)
        this.#identity = identityOf(probe, this.fingerprintBytes);
    }
    const chunk = bytesRead === want ? buf : buf.subarray(0, bytesRead);
    this.#splitter.push(chunk, this.#ready, this.#position);
    this.#readyChunkBytes = buf.length;
    this.#position += bytesRead;
    this.#bytesRead += bytesRead;
    return bytesRead;
  }

  /** fstat (and the prefix when something changed): refreshes size/identity, finds truncation. */
  async #look(): Promise<(TruncationEventBase & { probe: FileProbe | undefined }) | undefined> {
    let size: number;
    let mtimeMs: number;
    try {
      const st = await this.#handle.stat();
      size = st.size;
      mtimeMs = st.mtimeMs;
    } catch (err) {
      throw readError(this.path, err);
    }
    const changed = size !== this.#size || mtimeMs !== this.#mtimeMs;
    const id = this.#identity;
    const mustVerify = this.verifyPrefix && changed && id.prefixLength > 0;
    const canGrowPrefix = id.prefixLength < this.fingerprintBytes && size > id.prefixLength;
    let probe: FileProbe | undefined;
    let prefixMatches: boolean | undefined;
    if (mustVerify || canGrowPrefix) {
      probe = await probeFile(this.#handle, {
        fingerprintBytes: this.fingerprintBytes,
        knownPrefixLength: id.prefixLength,
      });
      size = probe.size;
      prefixMatches = sameFile(id, probe);
    }
    const truncation = detectTruncation(this.#position, this.#size, size, prefixMatches);
    this.#mtimeMs = mtimeMs;
    if (truncation !== undefined) return { ...truncation, probe };
    this.#size = size;
    if (probe !== undefined && probe.prefix.length > id.prefixLength) {
      this.#identity = identityOf(probe, this.fingerprintBytes);
    }
    return undefined;
  }

  /** Ends the current generation (flushing its partial line) and restarts reading at 0. */
  async #restart(
    lines: Line[],
    truncation: TruncationEventBase & { probe: FileProbe | undefined },
  ): Promise<ReadLinesResult> {
    // The partial line's rest, if the writer ever sends it, lands at the start of the new
    // content; handing out the first half now is better than dropping it.
    const partial = this.#splitter.flushPartial();
    if (partial !== undefined) lines.push(partial);
    const endOffset = this.#splitter.resumeOffset;
    const probe =
      truncation.probe ??
      (await probeFile(this.#handle, { fingerprintBytes: this.fingerprintBytes }));
    const previousGeneration = this.#generation;
    this.#generation += 1;
    this.#identity = identityOf(probe, this.fingerprintBytes);
    // The probe's fstat may predate the truncation that its prefix read saw (copytruncate
    // between the two): a size taken now belongs to the new content, or a later look would take
    // the old size for this content's and report a truncation that did not happen.
    const now = await this.#handle.stat().catch(() => undefined);
    this.#size = now === undefined ? probe.size : Math.min(probe.size, now.size);
    this.#position = 0;
    this.#splitter.reset(0);
    this.#dropReady();
    this.#truncations += 1;
    this.#lostBytes += truncation.lostBytes;
    this.#linesRead += lines.length;
    return {
      lines,
      endOffset,
      eof: false,
      truncation: {
        cause: truncation.cause,
        newSize: truncation.newSize,
        lostBytes: truncation.lostBytes,
        previousGeneration,
        generation: this.#generation,
      },
    };
  }
}

type TruncationEventBase = Omit<TruncationEvent, 'previousGeneration' | 'generation'>;

/** Offset just after the last `\n` within the last `maxLine + 1` bytes (else the file's size). */
async function lastLineStart(
  handle: FileHandle,
  size: number,
  maxLine: number,
  wide?: WideByteOrder,
): Promise<number> {
  if (size === 0) return 0;
  const span = Math.min(size, maxLine + 1);
  const buf = Buffer.allocUnsafe(span);
  let filled = 0;
  while (filled < span) {
    const { bytesRead } = await handle.read(buf, filled, span - filled, size - span + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  if (wide !== undefined) {
    // The last `\n` code unit at an even offset.
    const unit = Buffer.from(wide === 'le' ? [0x0a, 0x00] : [0x00, 0x0a]);
    const view = buf.subarray(0, filled);
    for (let i = view.lastIndexOf(unit); i !== -1; i = i > 0 ? view.lastIndexOf(unit, i - 1) : -1) {
      if ((size - span + i) % 2 === 0) return size - span + i + 2;
    }
    return size;
  }
  const nl = buf.subarray(0, filled).lastIndexOf(10);
  // No newline within a line's maximum length: starting mid-line is unavoidable; start at the end.
  return nl === -1 ? size : size - span + nl + 1;
}

function checkOptions(options: FileTailerOptions): void {
  const chunk = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunk) || chunk < MIN_CHUNK_BYTES || chunk > MAX_CHUNK_BYTES) {
    throw new RelayError(
      TailErrorCode.BadOption,
      `chunkBytes must be an integer in [${MIN_CHUNK_BYTES}, ${MAX_CHUNK_BYTES}]`,
      { details: { chunkBytes: chunk } },
    );
  }
  const generation = options.generation ?? 0;
  if (!Number.isSafeInteger(generation) || generation < 0) {
    throw new RelayError(TailErrorCode.BadOption, 'generation must be a non-negative integer', {
      details: { generation },
    });
  }
}

function openError(path: string, err: unknown): RelayError {
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  return new RelayError(TailErrorCode.OpenFailed, `cannot open ${path}: ${String(err)}`, {
    // Running out of descriptors passes; a missing or forbidden file does not.
    retriable: errno === 'EMFILE' || errno === 'ENFILE' || errno === 'EAGAIN',
    cause: err,
    details: { path, errno },
  });
}

function readError(path: string, err: unknown): RelayError {
  if (err instanceof RelayError) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  return new RelayError(TailErrorCode.ReadFailed, `cannot read ${path}: ${String(err)}`, {
    retriable: true,
    cause: err,
    details: { path, errno },
  });
}
