import { isIP } from 'node:net';
import { agentConfigSchema } from '../agent/config.js';
import type { AgentConfig } from '../agent/config.js';
import type { CollectorConfig } from '../collector/config.js';
import type { RateLimitConfig } from '../collector/smoothing/config.js';

/** Something valid that will surprise its operator, located by key path. */
export interface ConfigWarning {
  path: string;
  message: string;
}

/** The batch an agent sends when its `batch` section is left at its defaults. */
export function defaultAgentBatch(): AgentConfig['batch'] {
  // From the agent's own schema, so a changed default changes this check with it.
  return agentConfigSchema.parse({ collectors: ['collector:7070'] }).batch;
}

function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1' || bare.startsWith('::ffff:127.');
}

function isUnspecified(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === '0.0.0.0' || bare === '::';
}

/** `host` of `host:port` (IPv6 may be bracketed). */
function hostOf(address: string): string {
  const colon = address.lastIndexOf(':');
  return colon === -1 ? address : address.slice(0, colon);
}

/**
 * A rate limit admits at most `rate × (burstMs + maxHoldMs)` in one batch: the bucket holds
 * `rate × burstMs` and a batch may wait `maxHoldMs` for more. A full agent batch above that
 * stalls, whatever the agent does.
 */
function rateWarnings(
  rate: RateLimitConfig,
  path: string,
  batch: AgentConfig['batch'],
): ConfigWarning[] {
  const windowMs = rate.burstMs + rate.maxHoldMs;
  const warnings: ConfigWarning[] = [];
  const dimensions = [
    ['bytesPerSecond', rate.bytesPerSecond, batch.maxBytes, 'bytes', 'batch.maxBytes'],
    ['recordsPerSecond', rate.recordsPerSecond, batch.maxLines, 'lines', 'batch.maxLines'],
  ] as const;
  for (const [key, perSecond, full, unit, agentKey] of dimensions) {
    if (perSecond === undefined) continue;
    const admitted = Math.floor((perSecond * windowMs) / 1000);
    if (admitted >= full) continue;
    warnings.push({
      path: `${path}.${key}`,
      message:
        `lets at most ${admitted} ${unit} through at once (${key} × (burstMs + maxHoldMs) = ` +
        `${perSecond} × ${windowMs} ms), less than one full agent batch (${full} ${unit}, ` +
        `the agents' default ${agentKey}): such batches stall; raise the rate or burstMs, or ` +
        `lower the agents' ${agentKey}`,
    });
  }
  return warnings;
}

/** What a valid collector configuration does that its operator may not expect. */
export function collectorWarnings(
  config: CollectorConfig,
  agentBatch: AgentConfig['batch'] = defaultAgentBatch(),
): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  const { listen } = config;

  if (!config.auth && !listen.tls?.clientCa) {
    warnings.push({
      path: 'auth',
      message:
        'agents are not authenticated (neither auth.tokens nor listen.tls.clientCa): anyone who ' +
        `can reach ${listen.host}:${listen.port} can claim any agent id, write lines as that ` +
        "agent and move its deduplication marks (README, 'Security')",
    });
  }
  config.auth?.tokens.forEach((entry, i) => {
    if (entry.agent === '*') {
      warnings.push({
        path: `auth.tokens[${i}].agent`,
        message: "'*': whoever holds this token can claim any agent id",
      });
    }
  });

  if (config.cluster) {
    const advertised = config.cluster.advertise ?? `${listen.host}:${listen.port}`;
    const path = config.cluster.advertise ? 'cluster.advertise' : 'listen.host';
    const host = hostOf(advertised);
    const how = config.cluster.advertise
      ? ''
      : ' (cluster.advertise is unset, so listen.host:port is advertised)';
    if (isLoopback(host)) {
      warnings.push({
        path,
        message:
          `this collector advertises ${advertised} to the cluster${how}, a loopback address: ` +
          'agents on other hosts that are assigned to it cannot reach it; set cluster.advertise ' +
          'to an address they can dial',
      });
    } else if (isUnspecified(host)) {
      warnings.push({
        path,
        message:
          `this collector advertises ${advertised} to the cluster${how}, which is no address ` +
          'an agent can dial; set cluster.advertise',
      });
    }
  }

  config.sinks.forEach((sink, i) => {
    if (sink.type === 'kafka' && !sink.exactlyOnce) {
      warnings.push({
        path: `sinks[${i}].exactlyOnce`,
        message:
          `kafka sink ${sink.name} is at-least-once: after a write that fails for good or a ` +
          'collector crash, lines can be written twice; set exactlyOnce: true for no duplicates ' +
          '(Kafka 2.5 or newer)',
      });
    }
    if (sink.type === 'file' && !sink.fsync) {
      warnings.push({
        path: `sinks[${i}].fsync`,
        message:
          `file sink ${sink.name} acknowledges lines before they are fsynced: lines the agents ` +
          'count as delivered can be lost in a power failure or an OS crash',
      });
    }
    if (sink.flow.rate) {
      warnings.push(...rateWarnings(sink.flow.rate, `sinks[${i}].flow.rate`, agentBatch));
    }
  });
  if (config.limits.agentRate) {
    warnings.push(...rateWarnings(config.limits.agentRate, 'limits.agentRate', agentBatch));
  }
  return warnings;
}
