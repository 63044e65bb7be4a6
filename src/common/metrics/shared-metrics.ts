import { Counter, Histogram, type Registry } from 'prom-client';
import { RelayError } from '../errors/relay-error.js';

// Several components of one kind (e.g. two Kafka sinks) share a registry and a metric name, told
// apart by a label: the first one registers the metric, the others reuse it.

/** The counter `name` on `registry`, registering it on first use. */
export function sharedCounter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Counter) return existing as Counter<L>;
  if (existing) throw new RelayError('METRIC_CONFLICT', `metric ${name} is not a counter`);
  return new Counter({ name, help, labelNames, registers: [registry] });
}

/** The histogram `name` on `registry` (buckets in seconds), registering it on first use. */
export function sharedHistogram<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  buckets: number[],
): Histogram<L> {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Histogram) return existing as Histogram<L>;
  if (existing) throw new RelayError('METRIC_CONFLICT', `metric ${name} is not a histogram`);
  return new Histogram({ name, help, labelNames, buckets, registers: [registry] });
}
