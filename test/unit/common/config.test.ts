import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../../../src/common/config/config-error.js';
import {
  formatKeyPath,
  parseConfig,
  validateConfig,
} from '../../../src/common/config/load-config.js';
import { opsServerConfigSchema } from '../../../src/common/http/ops-config.js';

const schema = z.strictObject({
  name: z.string().min(1),
  http: opsServerConfigSchema.default({ host: '127.0.0.1', port: 0 }),
  sinks: z
    .array(
      z.strictObject({ type: z.enum(['file', 'kafka']), brokers: z.array(z.string()).optional() }),
    )
    .default([]),
});

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('config loading', () => {
  it('fills documented defaults and freezes the result', () => {
    const config = parseConfig(schema, 'name: c1\n');
    expect(config).toEqual({ name: 'c1', http: { host: '127.0.0.1', port: 0 }, sinks: [] });
    expect(Object.isFrozen(config.http)).toBe(true);
  });

  it('reports every error at once, each with its key path, unknown keys included', () => {
    const issues = issuesOf(() =>
      parseConfig(
        schema,
        [
          'name: ""',
          'colour: blue',
          'http:',
          '  port: 70000',
          'sinks:',
          '  - type: ftp',
          '    brokerz: [a]',
        ].join('\n'),
        'collector.yaml',
      ),
    );
    expect(issues.map((i) => i.path).sort()).toEqual(
      ['colour', 'http.port', 'name', 'sinks[0].brokerz', 'sinks[0].type'].sort(),
    );
    expect(issues.find((i) => i.path === 'colour')?.message).toBe('unknown key');
  });

  it('names the file and every key path in the error message', () => {
    expect(() => validateConfig(schema, { name: 5, extra: 1 }, 'agent.yaml')).toThrowError(
      /invalid configuration in agent\.yaml:\n {2}- (name|extra): .*\n {2}- (name|extra): /,
    );
  });

  it('reports YAML syntax errors with line and column, and duplicate keys', () => {
    const issues = issuesOf(() => parseConfig(schema, 'name: a\nname: b\n'));
    expect(issues[0]?.path).toMatch(/^line 2, column 1$/);
    expect(issues[0]?.message).toMatch(/unique/i);
  });

  it('formats key paths with array indexes', () => {
    expect(formatKeyPath(['sinks', 0, 'kafka', 'brokers', 2])).toBe('sinks[0].kafka.brokers[2]');
    expect(formatKeyPath([])).toBe('');
  });

  it('treats an empty document as an empty object so defaults apply', () => {
    expect(() => parseConfig(schema, '')).toThrowError(/name/);
    expect(parseConfig(z.strictObject({ a: z.number().default(3) }), '')).toEqual({ a: 3 });
  });
});
