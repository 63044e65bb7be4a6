import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { findAliasBomb } from '../../../src/common/config/alias-bomb.js';
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

  it('refuses a YAML alias bomb by key path before expanding it', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [prev, name] of [
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'd'],
      ['d', 'e'],
      ['e', 'f'],
    ]) {
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    const issues = issuesOf(() =>
      parseConfig(z.record(z.string(), z.unknown()), levels.join('\n'), 'bomb.yaml'),
    );
    expect(issues).toEqual([
      {
        path: 'd[0]',
        message: 'YAML aliases expand past 100 uses (an alias bomb); write the values out',
      },
    ]);
  });

  it('finds an alias bomb exactly where the yaml library would refuse it', () => {
    // Same documents through both: the bomb check must neither refuse a document yaml accepts
    // (ordinary anchors in a config) nor accept one it refuses.
    const docs = [
      'base: &base { a: 1, b: 2 }\nx: *base\ny: *base\nz: [*base, *base]',
      `s: &s v\nlist: [${Array(99).fill('*s').join(', ')}]`,
      `s: &s v\nlist: [${Array(100).fill('*s').join(', ')}]`,
      'a: &a [1, 2]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c, *c]',
      'a: &a [1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'a: &a [1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'k: &k key\nm: { *k : 1, other: *k }',
      'a: &a [1]\na2: &a [2, 3]\nb: [*a, *a]',
    ];
    const refused: boolean[] = [];
    for (const text of docs) {
      const doc = parseDocument(text);
      let refusedByYaml = false;
      try {
        doc.toJS({ maxAliasCount: 100 });
      } catch (err) {
        expect((err as Error).message).toMatch(/Excessive alias count/);
        refusedByYaml = true;
      }
      expect({ text, refused: findAliasBomb(doc) !== undefined }).toEqual({
        text,
        refused: refusedByYaml,
      });
      refused.push(refusedByYaml);
    }
    // Both sides of the limit are covered.
    expect(refused).toEqual([false, false, true, true, true, false, false, false]);
  });
});
