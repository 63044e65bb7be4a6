import { describe, expect, it } from 'vitest';
import {
  checkpointConfigSchema,
  DEFAULT_CLEAN_INACTIVE_AFTER_MS,
  DEFAULT_CLEAN_REMOVED_AFTER_MS,
  DEFAULT_FLUSH_INTERVAL_MS,
} from '../../../../src/agent/checkpoint/index.js';
import { ConfigError } from '../../../../src/common/config/config-error.js';
import { parseConfig } from '../../../../src/common/config/load-config.js';

describe('checkpointConfigSchema', () => {
  it('fills the documented defaults', () => {
    const config = parseConfig(checkpointConfigSchema, 'path: /var/lib/logrelay/registry.json');
    expect(config).toEqual({
      path: '/var/lib/logrelay/registry.json',
      flushIntervalMs: 1_000,
      cleanRemovedAfterMs: 24 * 3_600_000,
      cleanInactiveAfterMs: 7 * 24 * 3_600_000,
    });
    expect(DEFAULT_FLUSH_INTERVAL_MS).toBe(1_000);
    expect(DEFAULT_CLEAN_REMOVED_AFTER_MS).toBe(86_400_000);
    expect(DEFAULT_CLEAN_INACTIVE_AFTER_MS).toBe(604_800_000);
  });

  it('requires a path and rejects unknown keys and bad numbers, naming each key', () => {
    let error: unknown;
    try {
      parseConfig(
        checkpointConfigSchema,
        'flushIntervalMs: -1\ncleanInactiveAfterMs: 1.5\nflush: 3\n',
      );
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).issues.map((i) => i.path).sort();
    expect(paths).toEqual(['cleanInactiveAfterMs', 'flush', 'flushIntervalMs', 'path']);
  });

  it('describes every key with its unit and default', () => {
    for (const [key, field] of Object.entries(checkpointConfigSchema.shape)) {
      const text = field.description ?? '';
      expect(text, key).not.toBe('');
      if (key === 'path') expect(text).toMatch(/Required/);
      else expect(text, key).toMatch(/milliseconds.*Default: \d+/s);
    }
  });
});
