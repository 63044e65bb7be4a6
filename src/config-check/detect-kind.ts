/** Which command a configuration file is for. */
export type ConfigKind = 'agent' | 'collector';

// Top-level keys only one of the two schemas has (id, cluster, http and log are shared).
const agentOnlyKeys = new Set([
  'host',
  'collectors',
  'tails',
  'scanIntervalMs',
  'pollIntervalMs',
  'fingerprintBytes',
  'lines',
  'batch',
  'ship',
  'checkpoint',
  'remote',
]);
const collectorOnlyKeys = new Set([
  'listen',
  'auth',
  'limits',
  'retryAfterMs',
  'stuckStreamMs',
  'busyRetryAfterMs',
  'sinks',
  'routes',
  'defaultSinks',
]);

/**
 * The kind of a parsed configuration, told by the top-level keys only one kind has; undefined
 * when the keys say nothing (only shared keys) or contradict each other.
 */
export function detectConfigKind(value: unknown): ConfigKind | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  const agent = keys.some((k) => agentOnlyKeys.has(k));
  const collector = keys.some((k) => collectorOnlyKeys.has(k));
  if (agent === collector) return undefined;
  return agent ? 'agent' : 'collector';
}
