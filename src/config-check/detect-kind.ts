import { agentConfigSchema } from '../agent/config.js';
import { collectorConfigSchema } from '../collector/config.js';

/** Which command a configuration file is for. */
export type ConfigKind = 'agent' | 'collector';

// Top-level keys only one of the two schemas has (id, cluster, http and log are shared), taken
// from the schemas so that a key added to either is recognised at once.
const agentKeys = new Set(Object.keys(agentConfigSchema.shape));
const collectorKeys = new Set(Object.keys(collectorConfigSchema.shape));
const agentOnlyKeys = new Set([...agentKeys].filter((k) => !collectorKeys.has(k)));
const collectorOnlyKeys = new Set([...collectorKeys].filter((k) => !agentKeys.has(k)));

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
