import { z } from 'zod';

const perSecond = z.number().positive();

/**
 * A rate limit in two dimensions; either may be left unset (no limit in it). The burst is the
 * rate times `burstMs`: how far ahead of the steady rate a quiet source may get.
 */
export const rateLimitSchema = z
  .strictObject({
    /** Line bytes per second. Default: unlimited. */
    bytesPerSecond: perSecond.optional().describe('Line bytes per second. Default: unlimited.'),
    /** Lines per second. Default: unlimited. */
    recordsPerSecond: perSecond.optional().describe('Lines per second. Default: unlimited.'),
    /** Bucket depth, in ms of the rate. Default: 200. */
    burstMs: z
      .number()
      .int()
      .min(1)
      .max(60_000)
      .default(200)
      .describe('Burst allowance, ms of the rate. Default: 200.'),
    /**
     * Longest a batch is held in the collector waiting for its turn, in ms; a longer wait is
     * answered retry-after, so the excess waits in the agents' files, not in memory. Default: 500.
     */
    maxHoldMs: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(500)
      .describe('Longest hold in the collector before retry-after, ms. Default: 500.'),
  })
  .describe('Token-bucket rate limit (bytes/s and lines/s).');

export type RateLimitConfig = z.output<typeof rateLimitSchema>;

/**
 * Writes to one sink at once, adapted to the sink: additive increase while its latency stays
 * near its usual, multiplicative decrease on errors or a latency climb (AIMD).
 */
export const concurrencySchema = z
  .strictObject({
    /** Limit to start with. Default: 4. */
    initial: z.number().int().min(1).default(4).describe('Starting limit. Default: 4.'),
    /** Lowest limit. Default: 1. */
    min: z.number().int().min(1).default(1).describe('Lowest limit. Default: 1.'),
    /** Highest limit. Default: 64. */
    max: z.number().int().min(1).default(64).describe('Highest limit. Default: 64.'),
    /** Factor applied on an error or latency climb (0-1). Default: 0.5. */
    decrease: z
      .number()
      .gt(0)
      .lt(1)
      .default(0.5)
      .describe('Multiplicative decrease factor. Default: 0.5.'),
    /** A window's mean latency above the usual by this ratio counts as a climb. Default: 0.5 (+50 %). */
    latencyTolerance: z
      .number()
      .positive()
      .default(0.5)
      .describe('Latency climb that triggers a decrease (ratio). Default: 0.5.'),
  })
  .superRefine((c, ctx) => {
    if (c.min > c.max) ctx.addIssue({ code: 'custom', path: ['min'], message: 'must be ≤ max' });
    if (c.initial < c.min || c.initial > c.max)
      ctx.addIssue({ code: 'custom', path: ['initial'], message: 'must lie in [min, max]' });
  })
  .describe('Adaptive cap on concurrent writes (AIMD).');

export type ConcurrencyConfig = z.output<typeof concurrencySchema>;

/** `flow` of a `sinks[]` entry: how fast and how many at once it is written to. */
export const sinkFlowSchema = z
  .strictObject({
    rate: rateLimitSchema.optional().describe('Rate limit of this sink. Default: none.'),
    concurrency: concurrencySchema.prefault({}),
  })
  .describe('Smoothing of the load on this sink.');

export type SinkFlowConfig = z.output<typeof sinkFlowSchema>;
