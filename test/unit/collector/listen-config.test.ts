import { describe, expect, it } from 'vitest';
import { collectorConfigSchema } from '../../../src/collector/config.js';
import { ConfigError } from '../../../src/common/config/index.js';
import { validateConfig } from '../../../src/common/config/load-config.js';

const base = { sinks: [{ type: 'null', name: 'n' }] };

describe('collector listen: connection limits', () => {
  it('has defaults', () => {
    const config = validateConfig(collectorConfigSchema, base, 'test');
    expect(config.listen).toMatchObject({
      handshakeTimeoutMs: 10_000,
      maxConnections: 10_000,
      maxConnectionsPerAddress: 1000,
    });
  });

  it('refuses a per-address cap above the total, and bad values, naming the key', () => {
    const issues = (listen: Record<string, unknown>) => {
      try {
        validateConfig(collectorConfigSchema, { ...base, listen }, 'test');
        return [];
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).issues.map((i) => i.path);
      }
    };
    expect(issues({ maxConnections: 10, maxConnectionsPerAddress: 11 })).toEqual([
      'listen.maxConnectionsPerAddress',
    ]);
    expect(issues({ handshakeTimeoutMs: 50 })).toEqual(['listen.handshakeTimeoutMs']);
    expect(issues({ maxConnectionsPerAddress: 0 })).toEqual(['listen.maxConnectionsPerAddress']);
    expect(issues({ maxConnections: 10, maxConnectionsPerAddress: 10 })).toEqual([]);
  });
});
