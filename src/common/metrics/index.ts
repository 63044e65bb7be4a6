export { createMetricsRegistry } from './registry.js';
export { sharedCounter, sharedHistogram } from './shared-metrics.js';
