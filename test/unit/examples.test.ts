import { describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../src/agent/config.js';
import { collectorConfigSchema } from '../../src/collector/config.js';
import { loadConfigFile } from '../../src/common/config/load-config.js';

// The commented examples are what operators copy: they must stay valid as the schemas change.
describe('examples/', () => {
  it('agent.yaml is a valid agent configuration', async () => {
    const config = await loadConfigFile(agentConfigSchema, 'examples/agent.yaml');
    expect(config.cluster?.zookeeper.root).toBe('/logrelay');
    expect(config.ship.tls?.ca).toBeDefined();
    expect(config.tails[1]?.multiline?.preset).toBe('java');
    expect(
      new RegExp(config.tails[1]?.excludeLines[0] ?? '').test('2026-12-07 10:00:00 DEBUG x'),
    ).toBe(true);
    expect(config.tails[1]?.fields).toEqual({ service: 'orders', env: 'prod', team: 'payments' });
    expect(config.tails[2]?.encoding).toBe('gbk');
  });

  it('collector.yaml is a valid collector configuration', async () => {
    const config = await loadConfigFile(collectorConfigSchema, 'examples/collector.yaml');
    expect(config.cluster?.moveCooldownMs).toBe(15_000);
    expect(config.sinks[0]?.flow.concurrency.max).toBe(64);
    expect(config.auth?.tokens).toHaveLength(1);
  });
});
