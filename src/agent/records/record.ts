// Role: the record type — what the record stage hands the harvester in place of raw lines: one
// event (a line, a reassembled container line, or several joined by multiline), its content as
// shipped, and where it lies on disk.

/**
 * One record of a file: a line, or a multiline event of several lines, as it will be shipped.
 *
 * On disk the record covers `sourceLength` bytes from `offset` (all its lines and their
 * terminators); `skippedBefore` bytes of lines dropped by filters (or skipped as too long) lie
 * just before it. Acknowledging it moves the checkpoint to `offset + sourceLength`.
 */
export interface SourceRecord {
  /** Byte offset in the file of the record's first own byte. */
  readonly offset: number;
  /**
   * What is shipped: UTF-8 (decoded when the tail has an `encoding`; the application's content
   * without the runtime's prefix or JSON for a container format), lines joined by `\n`.
   */
  readonly content: Buffer;
  /** On-disk bytes the record covers, terminator of its last line included. */
  readonly sourceLength: number;
  /** Terminator of its last line on disk (0: an unterminated last line flushed as it was). */
  readonly terminatorLength: 0 | 1 | 2;
  /** Bytes cut from its lines as too long (`lines.maxBytes`), summed. */
  readonly truncatedBytes: number;
  /** Bytes of dropped lines (filtered, or skipped as too long) between the previous record and this one. */
  readonly skippedBefore: number;
  /** Lines dropped by filters between the previous record and this one. */
  readonly filteredBefore: number;
  /** Lines of the file the record is made of. */
  readonly lines: number;
  /** The record was cut at multiline.maxLines / maxBytes: the rest of its event is the next record. */
  readonly cut: boolean;
  /** Invalid byte sequences replaced by U+FFFD while decoding its lines. */
  readonly invalidSequences: number;
  /** Lines not in the tail's container format, shipped as they are (format cri/docker-json). */
  readonly malformedLines: number;
  /**
   * Container lines in it that end before their last part (cut at lines.maxBytes, interrupted
   * by the other stream's line, or sent before the rest was written): the rest, if it comes,
   * is the next record.
   */
  readonly unfinishedLines: number;
  /**
   * The container stream and runtime time of its first line (format cri/docker-json). Kept for
   * the stage (an event never joins lines of two streams); not on the wire, which has no
   * per-record metadata: the content is what is shipped.
   */
  readonly stream?: 'stdout' | 'stderr';
  readonly time?: string | undefined;
}

/** Offset just past a record on disk: where the next record (or skipped run) starts. */
export function recordEnd(record: SourceRecord): number {
  return record.offset + record.sourceLength;
}

/** Whether the record's on-disk footprint is what its content and terminator say (a plain line). */
export function isPlainLine(record: SourceRecord): boolean {
  return (
    record.sourceLength === record.content.length + record.truncatedBytes + record.terminatorLength
  );
}
