import { z } from 'zod';

/** Default of `flushIntervalMs`: 1 s. */
export const DEFAULT_FLUSH_INTERVAL_MS = 1_000;
/** Default of `cleanRemovedAfterMs`: 24 h. */
export const DEFAULT_CLEAN_REMOVED_AFTER_MS = 24 * 60 * 60 * 1_000;
/** Default of `cleanInactiveAfterMs`: 7 days. */
export const DEFAULT_CLEAN_INACTIVE_AFTER_MS = 7 * 24 * 60 * 60 * 1_000;

/** `checkpoint:` section of the agent's configuration: where and how acked offsets are kept. */
export const checkpointConfigSchema = z
  .strictObject({
    /** Registry file. Required. `<path>.prev`, `<path>.tmp` and `<path>.corrupt` live beside it. */
    path: z
      .string()
      .min(1)
      .describe(
        'Registry file path (JSON). The directory is created if missing; the previous good copy ' +
          '(<path>.prev), the temp file (<path>.tmp) and a set-aside corrupt copy ' +
          '(<path>.corrupt) live beside it. Required.',
      ),
    /** Minimum time between two writes of the registry, in ms. Default: 1000. */
    flushIntervalMs: z
      .number()
      .int()
      .min(0)
      .default(DEFAULT_FLUSH_INTERVAL_MS)
      .describe(
        'Minimum time between two writes of the registry, in milliseconds; acks arriving ' +
          'meanwhile are coalesced into the next write. A crash loses at most this much ' +
          'progress (re-sent, then dropped by the collectors’ dedup). Default: 1000.',
      ),
    /** Age after which an entry whose file is gone is dropped, in ms. Default: 86400000 (24 h). */
    cleanRemovedAfterMs: z
      .number()
      .int()
      .min(0)
      .default(DEFAULT_CLEAN_REMOVED_AFTER_MS)
      .describe(
        'An entry whose file is known to be gone is dropped at the first write at least this ' +
          'many milliseconds after the removal was noticed; 0 drops it at the next write. ' +
          'Default: 86400000 (24 h).',
      ),
    /** Idle time after which any entry is dropped, in ms; 0 disables. Default: 604800000 (7 d). */
    cleanInactiveAfterMs: z
      .number()
      .int()
      .min(0)
      .default(DEFAULT_CLEAN_INACTIVE_AFTER_MS)
      .describe(
        'An entry not updated or touched for this many milliseconds is dropped at the next ' +
          'write; 0 never drops idle entries. A file that still exists must be touched by ' +
          'discovery more often than this, or it is read again from its start position. ' +
          'Default: 604800000 (7 days).',
      ),
  })
  .describe('Checkpoint registry: the acked offset of every stream, persisted across restarts.');

/** The checkpoint section as written in YAML (defaults not yet applied). */
export type CheckpointConfigInput = z.input<typeof checkpointConfigSchema>;
/** The validated checkpoint section, defaults applied. */
export type CheckpointConfig = z.output<typeof checkpointConfigSchema>;
