import { describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../../../src/agent/config.js';
import {
  DEFAULT_CLEAN_INACTIVE_AFTER_MS,
  DEFAULT_CLEAN_REMOVED_AFTER_MS,
} from '../../../../src/agent/checkpoint/index.js';
import { ConfigError } from '../../../../src/common/config/config-error.js';
import { parseConfig } from '../../../../src/common/config/load-config.js';

// Issue 12 item 7: agent.yaml's `checkpoint` section is the registry's schema, so the cleanup
// ages can be set where the agent is configured.
describe("agent.yaml's checkpoint section", () => {
  it('takes the registry’s cleanup ages, with the registry’s defaults', () => {
    const set = parseConfig(
      agentConfigSchema,
      [
        'collectors: ["127.0.0.1:1"]',
        'checkpoint:',
        '  path: /var/lib/logrelay/registry.json',
        '  cleanInactiveAfterMs: 2592000000',
        '  cleanRemovedAfterMs: 0',
        '',
      ].join('\n'),
    );
    expect(set.checkpoint).toEqual({
      path: '/var/lib/logrelay/registry.json',
      flushIntervalMs: 1000,
      cleanInactiveAfterMs: 2_592_000_000,
      cleanRemovedAfterMs: 0,
    });
    const defaults = parseConfig(agentConfigSchema, 'collectors: ["127.0.0.1:1"]\n');
    expect(defaults.checkpoint).toEqual({
      path: './logrelay-agent.registry.json',
      flushIntervalMs: 1000,
      cleanInactiveAfterMs: DEFAULT_CLEAN_INACTIVE_AFTER_MS,
      cleanRemovedAfterMs: DEFAULT_CLEAN_REMOVED_AFTER_MS,
    });
  });

  it('still refuses unknown keys and bad ages, naming each key path', () => {
    let error: unknown;
    try {
      parseConfig(
        agentConfigSchema,
        'collectors: ["127.0.0.1:1"]\ncheckpoint: { cleanInactiveAfterMs: -1, keepForever: true }\n',
      );
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.path).sort()).toEqual([
      'checkpoint.cleanInactiveAfterMs',
      'checkpoint.keepForever',
    ]);
  });
});
