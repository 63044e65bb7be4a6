// Role: record stage — between the tailer and the batch: decodes lines, reassembles container
// lines (format), joins multiline events, filters them, and says which trailing event must wait
// (re-read later from its first offset).

import { DEFAULT_MAX_LINE_BYTES, type Line } from '../tail/line-splitter.js';
import { containerLineParser, type ContainerLineParser, type Format } from './container-line.js';
import { LineDecoder, type Encoding } from './decoder.js';
import { LineFilter } from './line-filter.js';
import { Multiline, type MultilineOptions } from './multiline.js';
import { applicationLines, type AppLine } from './partial-lines.js';
import type { SourceRecord } from './record.js';

export interface RecordStageOptions {
  encoding?: Encoding | undefined;
  /** The files' layout: raw lines, or a container runtime's (default raw). */
  format?: Format | undefined;
  multiline?: MultilineOptions | undefined;
  includeLines?: readonly string[] | undefined;
  excludeLines?: readonly string[] | undefined;
  /**
   * Longest reassembled container line, bytes (`lines.maxBytes`, default 1 MiB): a longer one is
   * cut there and its rest is the next record.
   */
  maxLineBytes?: number | undefined;
  /**
   * How long an unfinished container line at the end of the file waits for its next part when
   * the tail has no multiline (whose flushTimeoutMs applies then), ms (`lines.partialFlushMs`,
   * default 5000).
   */
  partialFlushMs?: number | undefined;
}

/** 5 s: default wait for the rest of a container line (`lines.partialFlushMs`'s default). */
const DEFAULT_PARTIAL_FLUSH_MS = 5000;

/** What one read's lines became. */
export interface StageResult {
  /** Complete records, in file order. */
  records: SourceRecord[];
  /** Offset of the first line given: where the batch starts. */
  start: number;
  /**
   * Offset up to which the lines were dealt with: past the last record and the dropped lines
   * after it — the held event's first offset when one is held. The batch's end.
   */
  end: number;
  /** Bytes of dropped lines after the last record (up to `end`). */
  skippedAfter: number;
  /** Lines dropped by the filters after the last record. */
  filteredAfter: number;
  /**
   * The last event, when it may still grow (the file's end was reached inside it): it is not
   * in `records`; read it again from `offset` later. `end` is where its lines end now.
   */
  held: { offset: number; end: number } | undefined;
  /**
   * The last record ends where the file ended, although its event could still have grown (sent
   * because no more lines were expected, or its flush timeout passed): its end is not a property
   * of the file, so it must be remembered to be cut there again if it is read again.
   */
  forcedEnd: boolean;
}

/** Whether the last read ended at the file's end (more lines may come) and must be wrapped up. */
export interface StageInput {
  /** No more lines will come for this content (rotated away, truncated, flush timeout): send all. */
  final: boolean;
  /** The read ended at the file's end (not at its budget). */
  eof: boolean;
  /**
   * Whether a record sent earlier ended at this offset (its acknowledgement was lost and the
   * lines are read again): the record must end there again. Default: never.
   */
  endsRecordAt?: ((offset: number) => boolean) | undefined;
}

/** Built once per tail; stateless between calls (a read always starts at an event's first line). */
export class RecordStage {
  readonly decoder: LineDecoder;
  readonly multiline: Multiline | undefined;
  readonly filter: LineFilter;
  readonly parser: ContainerLineParser | undefined;
  readonly maxLineBytes: number;
  readonly #partialFlushMs: number;

  constructor(options: RecordStageOptions) {
    this.decoder = new LineDecoder(options.encoding ?? 'utf-8');
    this.parser = containerLineParser(options.format ?? 'raw');
    this.multiline = options.multiline === undefined ? undefined : new Multiline(options.multiline);
    this.filter = new LineFilter(options);
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.#partialFlushMs = options.partialFlushMs ?? DEFAULT_PARTIAL_FLUSH_MS;
  }

  /** The stage changes nothing (raw, no multiline, no filters, UTF-8): the harvester skips it. */
  get identity(): boolean {
    return (
      this.decoder.passThrough &&
      this.parser === undefined &&
      this.multiline === undefined &&
      this.filter.empty
    );
  }

  /** How long an event that may still grow waits at the end of the file, ms. */
  get flushTimeoutMs(): number {
    if (this.multiline !== undefined) return this.multiline.flushTimeoutMs;
    return this.parser === undefined ? 0 : this.#partialFlushMs;
  }

  /** Turns a read's lines (non-empty, in file order, each read from an event boundary) into records. */
  process(lines: readonly Line[], input: StageInput): StageResult {
    const ml = this.multiline;
    const units = applicationLines(lines, {
      decoder: this.decoder,
      parser: this.parser,
      maxBytes: this.maxLineBytes,
      needText: ml !== undefined || !this.filter.empty,
      endsRecordAt: input.endsRecordAt,
    });
    const start = (units[0] as AppLine).offset;
    const records: SourceRecord[] = [];
    let skipped = 0;
    let filtered = 0;
    let previousEnd = start;

    // The event being gathered: application lines [from, to) of `units`.
    let from = 0;
    let texts: string[] = [];
    let bufs: Buffer[] = [];
    let bytes = 0;
    let lastJoins = false;

    const emit = (to: number, cut: boolean): void => {
      const first = units[from] as AppLine;
      const last = units[to - 1] as AppLine;
      const sourceLength = last.end - first.offset;
      let physical = 0;
      for (let i = from; i < to; i++) physical += (units[i] as AppLine).lines;
      skipped += first.offset - previousEnd;
      previousEnd = last.end;
      if (!this.filter.empty) {
        const text = texts.length === 1 ? (texts[0] as string) : texts.join('\n');
        if (!this.filter.keeps(text)) {
          skipped += sourceLength;
          filtered += physical;
          return;
        }
      }
      let content: Buffer;
      if (bufs.length === 1) content = bufs[0] as Buffer;
      else {
        const parts: Buffer[] = [];
        for (let i = 0; i < bufs.length; i++) {
          if (i > 0) parts.push(NEWLINE);
          parts.push(bufs[i] as Buffer);
        }
        content = Buffer.concat(parts);
      }
      let truncated = 0;
      let invalid = 0;
      let malformed = 0;
      let unfinished = 0;
      for (let i = from; i < to; i++) {
        const unit = units[i] as AppLine;
        truncated += unit.truncatedBytes;
        invalid += unit.invalid;
        malformed += unit.malformed;
        if (unit.unfinished) unfinished++;
      }
      records.push({
        offset: first.offset,
        content,
        sourceLength,
        terminatorLength: logicalTerminator(last.terminatorLength, this.decoder.wide),
        truncatedBytes: truncated,
        skippedBefore: skipped,
        filteredBefore: filtered,
        lines: physical,
        cut,
        invalidSequences: invalid,
        malformedLines: malformed,
        unfinishedLines: unfinished,
        ...(first.stream === undefined ? {} : { stream: first.stream, time: first.time }),
      });
      skipped = 0;
      filtered = 0;
    };

    for (let i = 0; i < units.length; i++) {
      const unit = units[i] as AppLine;
      const joins = ml !== undefined && ml.joins(unit.text);
      if (i > from) {
        const prev = units[i - 1] as AppLine;
        // An event is contiguous bytes of one container stream (stdout and stderr interleave),
        // and never crosses where a record sent before ended (lines read again after a lost ack).
        const together =
          unit.offset === prev.end &&
          unit.stream === prev.stream &&
          input.endsRecordAt?.(unit.offset) !== true;
        let join = ml !== undefined && together && ml.continues(joins, lastJoins);
        let cut = false;
        if (
          join &&
          ml !== undefined &&
          (i - from + 1 > ml.maxLines || bytes + 1 + unit.bytes.length > ml.maxBytes)
        ) {
          join = false;
          cut = true;
        }
        if (!join) {
          emit(i, cut);
          from = i;
          texts = [];
          bufs = [];
          bytes = 0;
        }
      }
      texts.push(unit.text);
      bufs.push(unit.bytes);
      bytes += (bufs.length > 1 ? 1 : 0) + unit.bytes.length;
      lastJoins = joins;
    }

    // The last event: complete, or possibly unfinished (more lines may join it, or the rest of
    // its last container line may come).
    const last = lines[lines.length - 1] as Line;
    const lastUnit = units[units.length - 1] as AppLine;
    const mayGrow =
      (lastUnit.unfinished ||
        (ml !== undefined &&
          ml.open(lastJoins) &&
          units.length - from < ml.maxLines &&
          bytes + 1 <= ml.maxBytes)) &&
      last.terminatorLength !== 0 &&
      input.endsRecordAt?.(lastUnit.end) !== true;
    let held: StageResult['held'];
    // Held: a read cut by its budget (the next lines are on disk already and decide, even for a
    // file rotated away), or at the end of a file more lines may still come to. A read cut by
    // its budget with one event in it is not held: that event fills the budget; it is sent.
    if (mayGrow && (input.eof ? !input.final : from > 0)) {
      held = { offset: (units[from] as AppLine).offset, end: lastUnit.end };
      skipped += (units[from] as AppLine).offset - previousEnd;
    } else {
      emit(units.length, false);
    }
    return {
      records,
      start,
      end: held?.offset ?? previousEnd,
      skippedAfter: skipped,
      filteredAfter: filtered,
      held,
      forcedEnd: mayGrow && held === undefined && input.eof,
    };
  }
}

const NEWLINE = Buffer.from('\n');

/** `\n` is 1 and `\r\n` 2, whatever the encoding (UTF-16's are 2 and 4 bytes on disk). */
function logicalTerminator(bytes: Line['terminatorLength'], wide: boolean): 0 | 1 | 2 {
  if (bytes === 4) return 2;
  if (wide && bytes === 2) return 1;
  return bytes === 0 ? 0 : bytes;
}

/** A stage for the tail's options, or undefined when it would change nothing (the default path). */
export function recordStageFor(options: RecordStageOptions): RecordStage | undefined {
  const stage = new RecordStage(options);
  return stage.identity ? undefined : stage;
}
