import { z } from 'zod';
import { sinkFlowSchema } from '../smoothing/config.js';

/** Keys every `sinks[]` entry has, whatever its type. */
export const sinkCommonFields = {
  /** Unique sink name that routes refer to; also the `sink` label of the metrics. No default. */
  name: z.string().min(1).describe('Unique sink name that routes refer to. No default.'),
  /** Rate limit and adaptive concurrency of writes to this sink. Default: no rate, AIMD from 4. */
  flow: sinkFlowSchema
    .prefault({})
    .describe(
      'Rate limit and adaptive concurrency of writes. Default: no rate; AIMD from 4 (1-64).',
    ),
};
