import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../../../../../src/common/config/config-error.js';
import { parseConfig, validateConfig } from '../../../../../src/common/config/load-config.js';
import { redisSinkConfigSchema } from '../../../../../src/collector/sinks/redis/config.js';
import { defaultSinkFlow } from '../../../../helpers/sink-defaults.js';

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('redis sink config', () => {
  it('fills every documented default', () => {
    expect(validateConfig(redisSinkConfigSchema, { type: 'redis', name: 'r' })).toEqual({
      type: 'redis',
      name: 'r',
      flow: defaultSinkFlow,
      url: 'redis://127.0.0.1:6379',
      mode: 'stream',
      keyTemplate: 'logrelay:{topic}',
      format: 'json',
      connectTimeoutMs: 1000,
      commandTimeoutMs: 10_000,
    });
  });

  it('documents every key', () => {
    for (const [key, schema] of Object.entries(redisSinkConfigSchema.shape)) {
      expect(schema.description, key).toMatch(/\S/);
    }
    expect(redisSinkConfigSchema.description).toMatch(/\S/);
  });

  it('accepts a full configuration', () => {
    const config = validateConfig(redisSinkConfigSchema, {
      type: 'redis',
      name: 'r',
      url: 'rediss://user:secret@redis.example:6380/2',
      mode: 'list',
      keyTemplate: 'logs:{topic}:all',
      maxLen: 100_000,
      format: 'raw',
      connectTimeoutMs: 500,
      commandTimeoutMs: 3000,
    });
    expect(config.mode).toBe('list');
    expect(config.maxLen).toBe(100_000);
    expect(config.format).toBe('raw');
  });

  it('names the path of an unknown key, also nested in a collector config', () => {
    const issues = issuesOf(() =>
      validateConfig(redisSinkConfigSchema, { type: 'redis', name: 'r', host: 'localhost' }),
    );
    expect(issues).toEqual([{ path: 'host', message: 'unknown key' }]);

    const collector = z.strictObject({
      sinks: z.array(z.discriminatedUnion('type', [redisSinkConfigSchema])),
    });
    const nested = issuesOf(() =>
      parseConfig(
        collector,
        ['sinks:', '  - type: redis', '    name: r', '    maxlen: 10'].join('\n'),
        'collector.yaml',
      ),
    );
    expect(nested).toEqual([{ path: 'sinks[0].maxlen', message: 'unknown key' }]);
  });

  it('reports each invalid value at its key path', () => {
    const issues = issuesOf(() =>
      validateConfig(redisSinkConfigSchema, {
        type: 'redis',
        name: '',
        url: 'http://127.0.0.1:6379',
        mode: 'hash',
        keyTemplate: '',
        maxLen: 0,
        format: 'xml',
        connectTimeoutMs: -1,
        commandTimeoutMs: 1.5,
      }),
    );
    expect(issues.map((i) => i.path).sort()).toEqual(
      [
        'commandTimeoutMs',
        'connectTimeoutMs',
        'format',
        'keyTemplate',
        'maxLen',
        'mode',
        'name',
        'url',
      ].sort(),
    );
  });
});
