/** What a `sinks[]` entry's `flow` becomes when left out (no rate; AIMD from 4 in 1-64). */
export const defaultSinkFlow = {
  concurrency: { initial: 4, min: 1, max: 64, decrease: 0.5, latencyTolerance: 0.5 },
};
