export { createMetricsRegistry } from './registry.js';
