import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * A metrics registry per process (not prom-client's global one), so tests can run several
 * components side by side without metric name clashes. Process metrics (CPU, memory, event loop
 * lag, GC) are included unless `withDefaults` is false.
 */
export function createMetricsRegistry(
  labels: Record<string, string> = {},
  withDefaults = true,
): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  if (withDefaults) collectDefaultMetrics({ register: registry });
  return registry;
}
