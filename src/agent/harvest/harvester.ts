import { NO_FIELDS, type BatchFields, type Batch } from '../../common/wire/index.js';
import { streamKey, type FileIdentity, type InodeRef } from '../tail/fingerprint.js';
import type { FileTailer } from '../tail/file-reader.js';
import { lineEnd, type Line } from '../tail/line-splitter.js';
import type { RecordStage } from '../records/record-stage.js';
import { isPlainLine, recordEnd, type SourceRecord } from '../records/record.js';
import { CutPoints } from './cut-points.js';
import { LagClock } from './lag-clock.js';

/** A batch on its way, as the harvester remembers it (the bytes stay in the file). */
export interface SentBatch {
  /** Offsets [start, end) in the file. */
  start: number;
  end: number;
  /** The harvester's epoch when it was sent: answers from before a rewind are ignored. */
  epoch: number;
  generation: number;
  lines: number;
  /** Set once committed (or rejected) while an earlier batch is still unanswered. */
  done: boolean;
  /**
   * Its last record ends where the file ended when it was read, not where the file says (an
   * event flushed by its timeout, a partial line): the cut must be on disk before it is sent.
   */
  forced?: boolean;
}

/** Identity fields of the registry entry (`fingerprint` holds `<prefixLength>/<prefixHash>`). */
export function encodeIdentity(identity: FileIdentity): string {
  return `${identity.prefixLength}/${identity.prefixHash}`;
}

export function decodeIdentity(
  device: string,
  inode: string,
  fingerprint: string,
): FileIdentity | undefined {
  const [length, hash] = fingerprint.split('/');
  if (!hash || !/^\d+$/.test(length ?? '')) return undefined;
  const prefixLength = Number(length);
  return {
    device: Number(device),
    inode: Number(inode),
    prefixLength,
    prefixHash: hash,
    fingerprint: '',
  };
}

/**
 * The content a file held before it was truncated in place (copytruncate), while its last
 * batches are answered. Then the agent looks for the rotated copy to read the rest from.
 */
export interface PreviousGeneration {
  /** Stream key of the old content. */
  key: string;
  identity: FileIdentity;
  generation: number;
  /** Offset up to which the old content was acknowledged. */
  acked: number;
  /** End of what was read of the old content (sent, or in flight). */
  readEnd: number;
  /** Size the old content was last seen to have, in bytes (≥ readEnd). */
  seenSize: number;
  /** Its batches still unanswered, in offset order. */
  inFlight: SentBatch[];
  /** How the truncation was seen: the file shrank, or its first bytes changed. */
  cause: 'shrunk' | 'rewritten';
  /** A batch of it failed: the bytes from `acked` on were not all committed. */
  failed: boolean;
}

export interface HarvesterOptions {
  agentId: string;
  host: string;
  topic: string;
  /** The tail the file belongs to (`local:<i>`, `remote:<id>`): closed when that tail stops. */
  tailName: string;
  /** Content bytes per batch. */
  maxBatchBytes: number;
  maxBatchLines: number;
  /** Idle time after which a rotated-away file's partial last line is sent, in ms. */
  partialFlushMs: number;
  /** Longest a line waits for its batch to fill, in ms (0: send what is there at once). */
  maxWaitMs: number;
  /**
   * The tail's record stage (format, multiline, filters, encoding); undefined: lines are shipped
   * as they are read, with no per-line work (the default).
   */
  records?: RecordStage | undefined;
  /**
   * The fields every batch of the file carries (records/fields.ts `batchFields`: the tail's
   * static ones merged with any found for the file). Absent: none.
   */
  fields?: BatchFields | undefined;
}

/** Counts of the record stage in shipped batches (resends included), since the last take. */
export interface RecordCounts {
  /** Lines dropped by includeLines/excludeLines. */
  filteredLines: number;
  /** Multiline events cut at maxLines/maxBytes. */
  cutEvents: number;
  /** Invalid byte sequences replaced by U+FFFD while decoding. */
  invalidSequences: number;
  /** Lines not in the tail's container format, shipped as they are. */
  malformedLines: number;
  /** Container lines shipped before their last part (cut, interrupted, or flushed). */
  unfinishedLines: number;
}

function emptyRecordCounts(): RecordCounts {
  return {
    filteredLines: 0,
    cutEvents: 0,
    invalidSequences: 0,
    malformedLines: 0,
    unfinishedLines: 0,
  };
}

/** A truncation in place seen by a read: what the harvester needs to switch generations. */
interface GenerationSwitch {
  cause: 'shrunk' | 'rewritten';
  generation: number;
  identity: FileIdentity;
  readEnd: number;
  lostBytes: number;
}

/**
 * One file being collected: its tailer, what was acked, what is in flight. The file is the
 * buffer — on a retry or a lost connection the harvester seeks back to the acked offset and
 * reads the same lines again; nothing unacknowledged is held in memory.
 */
export class Harvester {
  readonly opts: HarvesterOptions;
  /** The file's reader; closed (state kept) while the harvester is parked. */
  tailer: FileTailer;
  /** Path the file is known by (updated on rename). */
  path: string;
  /** Path the stream is keyed by in records: the first one it was known by. */
  readonly keyPath: string;
  /** Offset up to which every line was acknowledged. */
  acked: number;
  generation: number;
  epoch = 0;
  readonly inFlight: SentBatch[] = [];
  /** No new batch before this time (ms since epoch): set by retry-after. */
  pausedUntil = 0;
  /** True when no path matched by the globs points at this file any more (renamed away, deleted). */
  orphaned = false;
  /** Last time the file gave new lines, in ms. */
  lastDataAt = Date.now();
  /** True once the file's end was reached in the last read. */
  atEof = false;
  /** Bytes seen in the file and lost to a truncation before they could be read. */
  lostBytes = 0;
  /** The content before a truncation in place, until the agent has dealt with its rest. */
  previous: PreviousGeneration | undefined;
  /**
   * Set when this file is a copy (copytruncate's `app.log.1`) read as the rest of another file's
   * truncated content: batches carry that file's device and inode (and this generation), so
   * they continue its stream, and the collectors' marks drop what was already delivered.
   */
  readonly continues: InodeRef | undefined;
  busy = false;
  /** When the bytes not yet acked were first seen: the stream's lag in seconds. */
  readonly lag = new LagClock();
  closed = false;
  /**
   * Birth time of the file in ms (0 where the file system keeps none): of two files with one
   * key path, the one born first is the older generation and is read first.
   */
  bornMs = 0;
  /**
   * Whether the last scan found this file at its key path (the live name). Of two generations,
   * one at a rotated name (or no name) holds older lines than the one at the live name, whether
   * rotation renamed the file away or copied it (copytruncate).
   */
  atLiveName = true;
  /**
   * For a generation begun by a truncation seen at run time, until its first byte is read: when
   * the content before it was last seen (ms); contents copied and truncated since may have been
   * missed (see the agent's #missedContents). Undefined otherwise.
   */
  generationStartedAt: number | undefined;
  /** When a read last looked at the file (ms): its content then was the one being read. */
  contentSeenAt: number | undefined;
  /** Size and first bytes of the file when #missedContents last looked (again on a change). */
  missedCheckedAt: string | undefined;
  /** Not read before the agent has completed this many scans (a generation may be missing). */
  holdUntilScan = 0;
  /**
   * Parked: the descriptor is closed to stay within `files.maxOpenFiles` (idle, or its turn
   * ended) while offset, identity and generation are kept; `unpark` with the reopened tailer.
   */
  parked = false;
  /** Where reading goes on when the file is opened again (set when parked). */
  resumeAt = 0;
  /** It was parked with bytes left to read (its turn ended). */
  parkedBacklog = false;
  /** A parked file's size as the last scan saw it (its tailer's is from when it was closed). */
  seenSize = 0;

  /** The file's size as last known: for lag, also while the file is closed. */
  get knownSize(): number {
    return this.parked ? Math.max(this.tailer.size, this.seenSize) : this.tailer.size;
  }
  /** The file's size when it was parked: a scan seeing another size means new content. */
  get parkedSize(): number {
    return this.tailer.size;
  }
  /** Where the last scan saw the file (it is opened again there). */
  seenPath: string;
  /**
   * Where the file really is when its path is a symlink (the kubelet's /var/log/containers links
   * into /var/log/pods): a closed file rotated meanwhile is looked for next to it too.
   */
  realPath: string;
  /** A parked file's mtime at the first scan after parking: a change means new content. */
  parkedMtimeMs: number | undefined;
  /** Since when (ms) a parked file waits for a descriptor (it has, or may have, data). */
  waitingSince: number | undefined;
  /** When the file was opened (or opened again), ms. */
  openedAt = Date.now();
  /** Its turn is over: no new batches; parked once those in flight are answered. */
  yielding = false;
  /** Batch budgets: the configured ones, halved when a collector refuses a batch as too large. */
  budgetBytes: number;
  budgetLines: number;
  /** A rewind happened: seek back to `acked` before the next read (never during one). */
  #seekPending = false;
  #lingerSince: number | undefined;
  #reported = { truncated: 0, skipped: 0, discardedBytes: 0 };
  /** A multiline event held at the end of the file: its first offset, where its lines ended, since when. */
  #held: { offset: number; end: number; since: number } | undefined;
  /** Where sent, unacknowledged records ended: lines read again are cut there again. */
  readonly #cuts = new CutPoints();
  #recordCounts: RecordCounts = emptyRecordCounts();

  constructor(
    opts: HarvesterOptions,
    tailer: FileTailer,
    path: string,
    acked: number,
    keyPath: string = path,
    continues?: InodeRef,
  ) {
    this.continues = continues;
    this.opts = opts;
    this.tailer = tailer;
    this.path = path;
    this.seenPath = path;
    this.realPath = path;
    this.keyPath = keyPath;
    this.acked = acked;
    this.generation = tailer.generation;
    this.budgetBytes = opts.maxBatchBytes;
    this.budgetLines = opts.maxBatchLines;
  }

  /** Long-line counts since the last call (for metrics). */
  takeLongLineCounts(): { truncated: number; skipped: number; discardedBytes: number } {
    const stats = this.tailer.stats;
    const delta = {
      truncated: stats.truncatedLines - this.#reported.truncated,
      skipped: stats.skippedLines - this.#reported.skipped,
      discardedBytes: stats.discardedBytes - this.#reported.discardedBytes,
    };
    this.#reported = {
      truncated: stats.truncatedLines,
      skipped: stats.skippedLines,
      discardedBytes: stats.discardedBytes,
    };
    return delta;
  }

  /** Record-stage counts since the last call (for metrics). */
  takeRecordCounts(): RecordCounts {
    const counts = this.#recordCounts;
    this.#recordCounts = emptyRecordCounts();
    return counts;
  }

  /**
   * A collector refused a batch as too large (its limits are lower than ours): halve the budget
   * and send the same lines again in smaller batches. False when the batch was a single line
   * already, which can never pass: then it is skipped (and counted) by the caller.
   */
  shrink(sent: SentBatch, now: number): boolean {
    if (sent.lines <= 1) return false;
    this.budgetBytes = Math.max(1024, Math.floor(this.budgetBytes / 2));
    this.budgetLines = Math.max(1, Math.min(this.budgetLines, Math.floor(sent.lines / 2)));
    return this.rewind(sent, 0, now);
  }

  get key(): string {
    return streamKey(this.opts.agentId, this.continues ?? this.tailer.identity, this.generation);
  }

  get identity(): FileIdentity {
    return this.tailer.identity;
  }

  /** Everything read was acknowledged (for a parked file: and nothing new seen in it). */
  get drained(): boolean {
    if (this.parked) return this.waitingSince === undefined;
    return (
      this.inFlight.length === 0 &&
      this.previous === undefined &&
      this.atEof &&
      this.tailer.pendingBytes === 0
    );
  }

  /** May send now: not paused, not closed, not reading. */
  ready(now: number): boolean {
    return !this.closed && !this.busy && !this.parked && !this.yielding && now >= this.pausedUntil;
  }

  /** Its descriptor may be closed now: nothing in flight, no old generation or copy to finish. */
  get parkable(): boolean {
    return (
      !this.closed &&
      !this.busy &&
      !this.parked &&
      this.inFlight.length === 0 &&
      this.previous === undefined &&
      this.continues === undefined
    );
  }

  /**
   * Closes the descriptor, keeping what is needed to go on: the offset to read from next (the
   * start of a held partial line, or the acked offset after a rewind), identity and generation.
   * A parked harvester holds no read buffer. `waitingSince` is set when it has data left.
   */
  async park(now: number): Promise<void> {
    const backlog = !this.atEof || this.tailer.size > this.tailer.position;
    this.resumeAt = this.#seekPending ? this.acked : this.tailer.resumeOffset;
    this.#seekPending = false;
    this.#lingerSince = undefined;
    this.parked = true;
    this.yielding = false;
    this.parkedMtimeMs = undefined;
    this.parkedBacklog = backlog;
    this.waitingSince = backlog ? now : undefined;
    await this.tailer.close();
  }

  /** Goes on with the reopened tailer (see FileTailer.reopen). */
  unpark(tailer: FileTailer, now: number): void {
    this.tailer = tailer;
    this.parked = false;
    this.waitingSince = undefined;
    this.openedAt = now;
    this.atEof = false;
    this.#reported = { truncated: 0, skipped: 0, discardedBytes: 0 };
  }

  /**
   * Reads the next batch from the file, or undefined when there is nothing to send now.
   * A truncation switches the harvester to the new generation (a new stream key).
   */
  async nextBatch(now: number): Promise<{ batch: Batch; sent: SentBatch } | undefined> {
    // A new generation (after copytruncate) waits until the old one's batches are answered:
    // the collector processes generations as separate streams, so they could overtake each other.
    if (this.previous !== undefined) return undefined;
    const before = this.tailer.identity;
    if (this.#seekPending) {
      this.#seekPending = false;
      this.tailer.seek(this.acked);
    }
    const epoch = this.epoch;
    const result = await this.tailer.readLines(this.budgetBytes, this.budgetLines);
    if (epoch !== this.epoch && !result.truncation) {
      // A rewind arrived while reading: these lines will be read again from the acked offset.
      return undefined;
    }
    this.atEof = result.eof;
    let lines = result.lines;
    // A copy's last line will never be finished: it is sent at once.
    if (
      lines.length === 0 &&
      (this.continues !== undefined ||
        (this.orphaned && now - this.lastDataAt >= this.opts.partialFlushMs)) &&
      this.tailer.pendingBytes > 0
    ) {
      const partial = this.tailer.flushPartial();
      if (partial) lines = [partial];
    }
    lines = this.#cuts.split(lines);
    const truncation = result.truncation && {
      ...result.truncation,
      identity: before,
      readEnd: result.endOffset,
    };
    const partial = lines[lines.length - 1];
    if (truncation && partial?.terminatorLength === 0) {
      // The old content's unterminated last line: its copy (copytruncate) has it whole, so it
      // is read from there; without a copy it is counted as lost (seen, never delivered).
      lines = lines.slice(0, -1);
      truncation.lostBytes += truncation.readEnd - partial.offset;
      truncation.readEnd = partial.offset;
    }
    if (lines.length === 0) {
      if (truncation) this.#switchGeneration(truncation);
      return undefined;
    }
    const readCount = lines.length;
    // Linger: a small batch at the end of the file waits (up to maxWaitMs from when its first
    // line was seen) for more lines; the lines are read again then, not held in memory.
    if (
      result.eof &&
      !this.orphaned &&
      !this.continues &&
      !result.truncation &&
      this.opts.maxWaitMs > 0
    ) {
      const bytes = lines.reduce((n, l) => n + l.content.length, 0);
      this.#lingerSince ??= now;
      if (
        bytes < this.opts.maxBatchBytes / 2 &&
        lines.length < this.opts.maxBatchLines / 2 &&
        now - this.#lingerSince < this.opts.maxWaitMs
      ) {
        this.tailer.seek((lines[0] as Line).offset);
        this.atEof = false;
        return undefined;
      }
    }
    this.#lingerSince = undefined;
    this.lastDataAt = now;
    if (this.opts.records !== undefined)
      return this.#recordBatch(this.opts.records, lines, result.eof, truncation, now);
    // Lines are contiguous except after a skipped long line: a batch never spans a gap.
    let count = 1;
    while (
      count < lines.length &&
      (lines[count] as Line).offset === lineEnd(lines[count - 1] as Line)
    )
      count++;
    if (count < lines.length) {
      this.tailer.seek((lines[count] as Line).offset);
      lines = lines.slice(0, count);
    }
    const generation = this.generation;
    const batch = this.#toBatch(lines, generation, now);
    const sent: SentBatch = {
      start: batch.startOffset,
      end: batch.endOffset,
      epoch: this.epoch,
      generation,
      lines: lines.length,
      done: false,
      forced: (lines[lines.length - 1] as Line).terminatorLength === 0 && !truncation,
    };
    this.inFlight.push(sent);
    this.#cuts.add(sent.end, sent.forced);
    if (truncation && count === readCount) this.#switchGeneration(truncation);
    return { batch, sent };
  }

  /**
   * The record stage's way from lines to a batch: multiline events, filtered lines (skipped
   * bytes on the wire), decoded content. An event that may still grow is not sent: the tailer
   * goes back to its first line and reads it again next time (the file is the buffer), until a
   * line that starts another event arrives, the content ends, or the flush timeout passes.
   */
  #recordBatch(
    stage: RecordStage,
    lines: Line[],
    eof: boolean,
    truncation: GenerationSwitch | undefined,
    now: number,
  ): { batch: Batch; sent: SentBatch } | undefined {
    const first = lines[0] as Line;
    const readEnd = lineEnd(lines[lines.length - 1] as Line);
    let held = this.#held;
    // The same event, with no line added since it was held: the flush timeout runs.
    const idle = held !== undefined && held.offset === first.offset && held.end === readEnd;
    const timedOut = idle && now - (held as { since: number }).since >= stage.flushTimeoutMs;
    // No line will be added to the last event of a file rotated away (at a rotated name, or no
    // name), of a copy, or of content truncated since: it is sent at once.
    const final =
      Boolean(truncation) ||
      this.orphaned ||
      !this.atLiveName ||
      this.continues !== undefined ||
      timedOut;
    const cuts = this.#cuts;
    const out = stage.process(lines, {
      final,
      // A truncation ends the old content: nothing more of it can be read.
      eof: eof || Boolean(truncation),
      endsRecordAt: cuts.size === 0 ? undefined : (offset) => cuts.endsAt(offset),
    });
    if (out.held !== undefined) {
      if (!idle || held === undefined) held = { ...out.held, since: now };
      this.#held = held;
      this.tailer.seek(out.held.offset);
      this.atEof = false;
    } else this.#held = undefined;
    let records = out.records;
    let end = out.end;
    let skippedAfter = out.skippedAfter;
    let filteredAfter = out.filteredAfter;
    // Decoding can make content longer than on disk: keep the batch within its budgets.
    if (!truncation && records.length > 1) {
      let bytes = 0;
      let count = 0;
      while (count < records.length) {
        const n = (records[count] as SourceRecord).content.length;
        if (count > 0 && (count >= this.budgetLines || bytes + n > this.budgetBytes)) break;
        bytes += n;
        count++;
      }
      if (count < records.length) {
        const rest = records[count] as SourceRecord;
        end = rest.offset - rest.skippedBefore;
        skippedAfter = 0;
        filteredAfter = 0;
        records = records.slice(0, count);
        this.#held = undefined;
        this.tailer.seek(end);
        this.atEof = false;
      }
    }
    if (records.length === 0 && skippedAfter === 0) {
      if (truncation) this.#switchGeneration(truncation);
      return undefined;
    }
    const counts = this.#recordCounts;
    counts.filteredLines += filteredAfter;
    for (const r of records) {
      counts.filteredLines += r.filteredBefore;
      if (r.cut) counts.cutEvents++;
      counts.invalidSequences += r.invalidSequences;
      counts.malformedLines += r.malformedLines;
      counts.unfinishedLines += r.unfinishedLines;
    }
    const generation = this.generation;
    const batch = this.#recordsToBatch(records, out.start, end, skippedAfter, generation, now);
    const sent: SentBatch = {
      start: batch.startOffset,
      end: batch.endOffset,
      epoch: this.epoch,
      generation,
      lines: records.length,
      done: false,
      forced: out.forcedEnd && end === out.end && !truncation,
    };
    this.inFlight.push(sent);
    this.#cuts.add(sent.end, sent.forced);
    if (truncation) this.#switchGeneration(truncation);
    return { batch, sent };
  }

  #recordsToBatch(
    records: readonly SourceRecord[],
    start: number,
    end: number,
    skippedAfter: number,
    generation: number,
    now: number,
  ): Batch {
    const plain = records.every(isPlainLine);
    const everyNewline = records.every((r) => r.terminatorLength === 1);
    const anyTruncated = records.some((r) => r.truncatedBytes > 0);
    const anySkipped = records.some((r) => r.skippedBefore > 0);
    const last = records[records.length - 1];
    return {
      ...this.#header(generation, now),
      startOffset: start,
      endOffset: last === undefined ? end : recordEnd(last) + skippedAfter,
      lines: Buffer.concat(records.map((r) => r.content)),
      lineLengths: records.map((r) => r.content.length),
      terminatorLengths: everyNewline ? [] : records.map((r) => r.terminatorLength),
      truncatedBytes: anyTruncated ? records.map((r) => r.truncatedBytes) : [],
      sourceLengths: plain ? [] : records.map((r) => r.sourceLength),
      skippedBefore: anySkipped ? records.map((r) => r.skippedBefore) : [],
      skippedAfter,
    };
  }

  /**
   * The file was truncated in place: reading goes on at 0 under the next generation, and what
   * is in flight of the old content is kept apart until answered (see {@link previous}).
   */
  #switchGeneration(t: GenerationSwitch): void {
    this.previous = {
      key: this.key,
      identity: t.identity,
      generation: this.generation,
      acked: this.acked,
      readEnd: t.readEnd,
      seenSize: t.readEnd + t.lostBytes,
      inFlight: this.inFlight.splice(0),
      cause: t.cause,
      failed: false,
    };
    this.generation = t.generation;
    this.acked = 0;
    this.epoch++;
    this.#held = undefined;
    this.#cuts.clear();
  }

  /** Whether `sent` is an unanswered batch of the content before a truncation. */
  isPrevious(sent: SentBatch): boolean {
    return this.previous?.inFlight.includes(sent) === true && !sent.done;
  }

  /**
   * An answer to a batch of the content before a truncation. Returns the old content's new
   * acked offset when it moved, so the caller can checkpoint it.
   */
  settlePrevious(sent: SentBatch, committed: boolean): number | undefined {
    const prev = this.previous;
    if (!prev || !this.isPrevious(sent)) return undefined;
    if (!committed) {
      // The old bytes cannot be read again from this file: the copy (if any) has them.
      prev.failed = true;
      prev.inFlight.length = 0;
      return undefined;
    }
    sent.done = true;
    let moved: number | undefined;
    while (prev.inFlight[0]?.done) moved = (prev.inFlight.shift() as SentBatch).end;
    if (moved !== undefined && !prev.failed) prev.acked = moved;
    return moved !== undefined && !prev.failed ? moved : undefined;
  }

  #toBatch(lines: readonly Line[], generation: number, now: number): Batch {
    const first = lines[0] as Line;
    const last = lines[lines.length - 1] as Line;
    // Copy the contents into one blob so the read chunks they point into can be freed.
    const blob = Buffer.concat(lines.map((l) => l.content));
    const everyNewline = lines.every((l) => l.terminatorLength === 1);
    const anyTruncated = lines.some((l) => l.truncatedBytes > 0);
    return {
      ...this.#header(generation, now),
      startOffset: first.offset,
      endOffset: lineEnd(last),
      lines: blob,
      lineLengths: lines.map((l) => l.content.length),
      terminatorLengths: everyNewline ? [] : lines.map((l) => l.terminatorLength),
      truncatedBytes: anyTruncated ? lines.map((l) => l.truncatedBytes) : [],
    };
  }

  /** The batch fields that do not depend on its lines. */
  #header(
    generation: number,
    now: number,
  ): Omit<
    Batch,
    'startOffset' | 'endOffset' | 'lines' | 'lineLengths' | 'terminatorLengths' | 'truncatedBytes'
  > {
    const identity = this.tailer.identity;
    return {
      agentId: this.opts.agentId,
      seq: 0,
      stream: {
        host: this.opts.host,
        path: this.path,
        keyPath: this.keyPath,
        device: this.continues?.device ?? identity.device,
        inode: this.continues?.inode ?? identity.inode,
        fingerprint: identity.fingerprint,
        generation,
      },
      topic: this.opts.topic,
      readTimeMs: now,
      sourceLengths: [],
      skippedBefore: [],
      skippedAfter: 0,
      // The same frozen object for every batch of the file: encoded, never copied.
      fields: this.opts.fields ?? NO_FIELDS,
    };
  }

  /** Ends of records sent, not yet acknowledged, that the file alone does not fix (to persist). */
  get forcedCuts(): number[] {
    return this.#cuts.forced();
  }

  /** Forced cuts persisted before a restart (all past the acked offset the harvester resumes at). */
  restoreCuts(offsets: readonly number[]): void {
    for (const c of offsets) if (c > this.acked) this.#cuts.add(c, true);
  }

  /** False for an answer from before a rewind (its lines are being read and sent again). */
  isCurrent(sent: SentBatch): boolean {
    return sent.epoch === this.epoch && !sent.done && this.inFlight.includes(sent);
  }

  /**
   * A batch was committed (or rejected: skipped for good). Returns the new acked offset when it
   * moved, so the caller can checkpoint it.
   */
  settle(sent: SentBatch): number | undefined {
    if (!this.isCurrent(sent)) return undefined;
    sent.done = true;
    let moved: number | undefined;
    while (this.inFlight[0]?.done) {
      moved = (this.inFlight.shift() as SentBatch).end;
    }
    if (moved !== undefined) {
      this.acked = moved;
      this.#cuts.dropThrough(moved);
    }
    return moved;
  }

  /**
   * A batch was not committed: forget everything in flight and read again from the acked
   * offset after `delayMs`. Returns false when the answer is stale (from before a rewind).
   */
  rewind(sent: SentBatch, delayMs: number, now: number): boolean {
    if (sent.epoch !== this.epoch || sent.generation !== this.generation) return false;
    this.epoch++;
    this.inFlight.length = 0;
    this.#seekPending = true;
    this.atEof = false;
    this.pausedUntil = now + delayMs;
    return true;
  }
}
