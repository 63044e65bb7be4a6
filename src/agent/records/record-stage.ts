// Role: record stage — between the tailer and the batch: decodes lines, joins multiline events,
// filters them, and says which trailing event must wait (re-read later from its first offset).

import { lineEnd, type Line } from '../tail/line-splitter.js';
import { LineDecoder, type Encoding } from './decoder.js';
import { LineFilter } from './line-filter.js';
import { Multiline, type MultilineOptions } from './multiline.js';
import type { SourceRecord } from './record.js';

export interface RecordStageOptions {
  encoding?: Encoding | undefined;
  multiline?: MultilineOptions | undefined;
  includeLines?: readonly string[] | undefined;
  excludeLines?: readonly string[] | undefined;
}

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

  constructor(options: RecordStageOptions) {
    this.decoder = new LineDecoder(options.encoding ?? 'utf-8');
    this.multiline = options.multiline === undefined ? undefined : new Multiline(options.multiline);
    this.filter = new LineFilter(options);
  }

  /** The stage changes nothing (no multiline, no filters, UTF-8): the harvester skips it. */
  get identity(): boolean {
    return this.decoder.passThrough && this.multiline === undefined && this.filter.empty;
  }

  get flushTimeoutMs(): number {
    return this.multiline?.flushTimeoutMs ?? 0;
  }

  /** Turns a read's lines (non-empty, in file order, each read from an event boundary) into records. */
  process(lines: readonly Line[], input: StageInput): StageResult {
    const ml = this.multiline;
    const start = (lines[0] as Line).offset;
    const records: SourceRecord[] = [];
    let skipped = 0;
    let filtered = 0;
    let previousEnd = start;

    // The event being gathered: lines [from, to) of `lines`.
    let from = 0;
    let texts: string[] = [];
    let bufs: Buffer[] = [];
    let bytes = 0;
    let invalid = 0;
    let lastJoins = false;

    const emit = (to: number, cut: boolean): void => {
      const first = lines[from] as Line;
      const last = lines[to - 1] as Line;
      const sourceLength = lineEnd(last) - first.offset;
      const text = texts.length === 1 ? (texts[0] as string) : texts.join('\n');
      skipped += first.offset - previousEnd;
      previousEnd = first.offset + sourceLength;
      if (!this.filter.empty && !this.filter.keeps(text)) {
        skipped += sourceLength;
        filtered += to - from;
        return;
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
      for (let i = from; i < to; i++) truncated += (lines[i] as Line).truncatedBytes;
      records.push({
        offset: first.offset,
        content,
        sourceLength,
        terminatorLength: logicalTerminator(last.terminatorLength, this.decoder.wide),
        truncatedBytes: truncated,
        skippedBefore: skipped,
        filteredBefore: filtered,
        lines: to - from,
        cut,
        invalidSequences: invalid,
      });
      skipped = 0;
      filtered = 0;
    };

    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as Line;
      const decoded = this.decoder.decode(line.content);
      const joins = ml !== undefined && ml.joins(decoded.text);
      if (i > from) {
        const prev = lines[i - 1] as Line;
        const contiguous = line.offset === lineEnd(prev);
        let join =
          ml !== undefined &&
          contiguous &&
          ml.continues(joins, lastJoins) &&
          input.endsRecordAt?.(line.offset) !== true;
        let cut = false;
        if (
          join &&
          ml !== undefined &&
          (i - from + 1 > ml.maxLines || bytes + 1 + decoded.bytes.length > ml.maxBytes)
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
          invalid = 0;
        }
      }
      texts.push(decoded.text);
      bufs.push(decoded.bytes);
      bytes += (texts.length > 1 ? 1 : 0) + decoded.bytes.length;
      invalid += decoded.invalid;
      lastJoins = joins;
    }

    // The last event: complete, or possibly unfinished (more lines may join it).
    const last = lines[lines.length - 1] as Line;
    const mayGrow =
      ml !== undefined &&
      last.terminatorLength !== 0 &&
      ml.open(lastJoins) &&
      input.endsRecordAt?.(lineEnd(last)) !== true &&
      lines.length - from < ml.maxLines &&
      bytes + 1 <= ml.maxBytes;
    let held: StageResult['held'];
    // Held: a read cut by its budget (the next lines are on disk already and decide, even for a
    // file rotated away), or at the end of a file more lines may still come to. A read cut by
    // its budget with one event in it is not held: that event fills the budget; it is sent.
    if (mayGrow && (input.eof ? !input.final : from > 0)) {
      held = { offset: (lines[from] as Line).offset, end: lineEnd(last) };
      skipped += (lines[from] as Line).offset - previousEnd;
    } else {
      emit(lines.length, false);
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
