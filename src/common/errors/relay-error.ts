/**
 * The one error base class of logrelay. Every error that crosses a module boundary is a
 * RelayError (or a subclass) so that callers can match on a stable `code` and retry helpers can
 * decide by `retriable` alone.
 */
export interface RelayErrorOptions {
  /** Whether repeating the same operation later may succeed. Default: false. */
  retriable?: boolean;
  /** The underlying error, kept for logs. */
  cause?: unknown;
  /** Extra structured context for logs (never secrets). */
  details?: Record<string, unknown>;
}

export class RelayError extends Error {
  /** Stable, machine-readable identifier, e.g. `CONFIG_INVALID`, `SINK_UNAVAILABLE`. */
  readonly code: string;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: RelayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.details = options.details;
  }

  /** Wraps anything thrown into a RelayError, keeping RelayErrors as they are. */
  static from(err: unknown, code = 'INTERNAL', retriable = false): RelayError {
    if (err instanceof RelayError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new RelayError(code, message, { retriable, cause: err });
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retriable: this.retriable,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/** True when `err` is a RelayError marked retriable. Unknown errors are treated as permanent. */
export function isRetriable(err: unknown): boolean {
  return err instanceof RelayError && err.retriable;
}
