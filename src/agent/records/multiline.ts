// Role: multiline — decides which lines of a file belong to one event (a Java stack trace, a
// Python traceback, a Go panic), with Filebeat's pattern/negate/match semantics and presets.

/** How lines join into events, as Filebeat's `multiline.type: pattern` has it. */
export interface MultilineRuleSpec {
  /** A regex tested against each line (decoded, without its terminator). */
  pattern: string;
  /**
   * false: the lines that match the pattern are the ones joined; true: the lines that do NOT
   * match are joined (the pattern then describes an event's first line, e.g. a timestamp).
   */
  negate: boolean;
  /**
   * `after`: a joined line is appended to the line before it (continuation lines);
   * `before`: a joined line is prepended to the line after it (the event ends at the first
   * line that is not joined).
   */
  match: 'after' | 'before';
}

export type MultilinePreset = 'java' | 'python' | 'go';

/**
 * Presets: continuation patterns (negate false, match after) for the traces each runtime
 * prints after a log line. Any line that is not a continuation starts a new event.
 */
export const MULTILINE_PRESETS: Readonly<Record<MultilinePreset, MultilineRuleSpec>> = {
  // Exception class line, "\tat ...", "\t... 12 more", "Caused by: ...", "\tSuppressed: ...",
  // and logback's "... common frames omitted".
  java: {
    pattern: [
      String.raw`^\s+at\s`,
      String.raw`^\s+\.\.\.\s\d+\s(?:more|common frames omitted)`,
      String.raw`^\s*Caused by:`,
      String.raw`^\s*Suppressed:`,
      String.raw`^(?:[a-zA-Z_$][\w$]*\.)+[a-zA-Z_$][\w$]*(?:Exception|Error|Throwable)(?::|$)`,
    ].join('|'),
    negate: false,
    match: 'after',
  },
  // "Traceback (most recent call last):", its indented frames and source lines, the blank
  // lines and messages between chained exceptions, and the final "SomeError: message" line.
  python: {
    pattern: [
      String.raw`^Traceback \(most recent call last\):`,
      String.raw`^\s+\S`,
      String.raw`^$`,
      String.raw`^During handling of the above exception, another exception occurred:`,
      String.raw`^The above exception was the direct cause of the following exception:`,
      String.raw`^(?:[a-zA-Z_][\w]*\.)*[a-zA-Z_][\w]*(?:Error|Exception|Exit|Interrupt|Warning|Iteration)(?::|$)`,
    ].join('|'),
    negate: false,
    match: 'after',
  },
  // A panic's blank lines, "goroutine N [state]:", function lines "pkg.Func(...)",
  // "\t/path/file.go:12 +0x1d", "created by ...", "[signal ...", "exit status 2".
  go: {
    pattern: [
      String.raw`^\s`,
      String.raw`^$`,
      String.raw`^goroutine \d+ \[`,
      String.raw`^[\w./*()\-]+\(.*\)$`,
      String.raw`^created by `,
      String.raw`^\[signal `,
      String.raw`^exit status \d+$`,
    ].join('|'),
    negate: false,
    match: 'after',
  },
};

export interface MultilineOptions {
  preset?: MultilinePreset | undefined;
  pattern?: string | undefined;
  negate?: boolean | undefined;
  match?: 'after' | 'before' | undefined;
  /** Most lines in one event; longer ones are cut (the rest starts a new event). */
  maxLines: number;
  /** Most bytes of content (UTF-8, inner `\n`s included) in one event; likewise cut. */
  maxBytes: number;
  /** How long a possibly unfinished event at the end of the file waits for more lines, ms. */
  flushTimeoutMs: number;
}

/** A compiled rule: which lines join, and how. */
export class Multiline {
  readonly pattern: RegExp;
  readonly negate: boolean;
  readonly match: 'after' | 'before';
  readonly maxLines: number;
  readonly maxBytes: number;
  readonly flushTimeoutMs: number;

  constructor(options: MultilineOptions) {
    const preset = options.preset === undefined ? undefined : MULTILINE_PRESETS[options.preset];
    const pattern = options.pattern ?? preset?.pattern;
    if (pattern === undefined) throw new Error('multiline needs a preset or a pattern');
    this.pattern = new RegExp(pattern);
    this.negate = options.negate ?? preset?.negate ?? false;
    this.match = options.match ?? preset?.match ?? 'after';
    this.maxLines = options.maxLines;
    this.maxBytes = options.maxBytes;
    this.flushTimeoutMs = options.flushTimeoutMs;
  }

  /** Whether the line is a "joined" one: the pattern matches it, negated when `negate`. */
  joins(text: string): boolean {
    return this.pattern.test(text) !== this.negate;
  }

  /**
   * Whether a line continues the event in progress, given whether it and the event's last
   * line are joined ones (`after`: the line itself is; `before`: the previous one was).
   */
  continues(lineJoins: boolean, previousJoins: boolean): boolean {
    return this.match === 'after' ? lineJoins : previousJoins;
  }

  /**
   * Whether an event whose last line was `lastJoins` can still grow when more lines come:
   * `after` always can; `before` only while its last line is a joined one.
   */
  open(lastJoins: boolean): boolean {
    return this.match === 'after' || lastJoins;
  }
}
