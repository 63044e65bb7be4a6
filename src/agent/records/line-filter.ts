// Role: line filter — keeps or drops whole events by `includeLines` / `excludeLines` regexes
// (Filebeat semantics: include first, then exclude). Dropped events still advance the checkpoint.

export interface LineFilterOptions {
  /** Keep only events matching one of these (empty: keep all). */
  includeLines?: readonly string[];
  /** Drop events matching one of these. */
  excludeLines?: readonly string[];
}

/** Compiles a regex the way the config validates it: JavaScript syntax, no flags. */
export function compilePattern(source: string): RegExp {
  return new RegExp(source);
}

/** Returns the compile error's message for a bad regex, or undefined when it compiles. */
export function patternProblem(source: string): string | undefined {
  try {
    compilePattern(source);
    return undefined;
  } catch (err) {
    return `not a valid regular expression: ${(err as Error).message}`;
  }
}

export class LineFilter {
  readonly #include: RegExp[];
  readonly #exclude: RegExp[];

  constructor(options: LineFilterOptions) {
    this.#include = (options.includeLines ?? []).map(compilePattern);
    this.#exclude = (options.excludeLines ?? []).map(compilePattern);
  }

  /** True when there is nothing to filter (no per-event work needed). */
  get empty(): boolean {
    return this.#include.length === 0 && this.#exclude.length === 0;
  }

  /** Whether an event (its text, lines joined by `\n`) is shipped. */
  keeps(text: string): boolean {
    if (this.#include.length > 0 && !this.#include.some((r) => r.test(text))) return false;
    return !this.#exclude.some((r) => r.test(text));
  }
}
