/** Where a {@link Progress} writes: a stream that may be a terminal. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/**
 * Progress of a long command (demo, bench, admin publish) for a person at a terminal.
 *
 * On a terminal, `update` redraws one status line in place; milestones (`log`) are printed
 * above it. Anywhere else (a pipe, a file, CI) `update` prints nothing, so the output stays
 * quiet and machine-readable; milestones still go out as plain lines — on stderr by default,
 * never mixed into a command's stdout.
 */
export class Progress {
  readonly #stream: ProgressStream;
  readonly #live: boolean;
  #line = '';
  #ticker: NodeJS.Timeout | undefined;

  /** @param live redraw a status line; default: when `stream` is a terminal */
  constructor(stream: ProgressStream = process.stderr, live = stream.isTTY === true) {
    this.#stream = stream;
    this.#live = live;
  }

  /** True when status lines are drawn (attached to a terminal). */
  get live(): boolean {
    return this.#live;
  }

  /** Replaces the status line (terminal only). */
  update(text: string): void {
    if (!this.#live) return;
    this.#line = text;
    this.#stream.write(`\r\x1b[2K${text}`);
  }

  /** Prints a milestone on its own line, keeping the status line below it. */
  log(text: string): void {
    if (this.#live && this.#line) this.#stream.write('\r\x1b[2K');
    this.#stream.write(`${text}\n`);
    if (this.#live && this.#line) this.#stream.write(this.#line);
  }

  /** Redraws the status line from `render` every `everyMs` (ms, default 250) until `done`. */
  tick(render: () => string, everyMs = 250): void {
    if (!this.#live) return;
    clearInterval(this.#ticker);
    this.update(render());
    this.#ticker = setInterval(() => this.update(render()), everyMs);
    this.#ticker.unref();
  }

  /** Stops ticking and clears the status line. Safe to call more than once. */
  done(): void {
    clearInterval(this.#ticker);
    this.#ticker = undefined;
    if (this.#live && this.#line) this.#stream.write('\r\x1b[2K');
    this.#line = '';
  }
}
