import { describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../../../src/agent/config.js';
import { batchFields } from '../../../../src/agent/records/fields.js';
import { ConfigError } from '../../../../src/common/config/config-error.js';
import { parseConfig } from '../../../../src/common/config/load-config.js';
import { NO_FIELDS } from '../../../../src/common/wire/index.js';

const head = [
  'collectors: ["127.0.0.1:1"]',
  'tails:',
  '  - paths: [/var/log/app.log]',
  '    topic: app',
];

function parse(lines: string[]) {
  return parseConfig(agentConfigSchema, [...head, ...lines, ''].join('\n'));
}

/** The key paths and messages of every issue of a config, or [] when it is valid. */
function issues(lines: string[]): { path: string; message: string }[] {
  try {
    parse(lines);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues.map((i) => ({ path: i.path, message: i.message }));
  }
  return [];
}

const paths = (lines: string[]) => issues(lines).map((i) => i.path);

describe('a tail’s fields', () => {
  it('default to none', () => {
    expect(parse([]).tails[0]?.fields).toEqual({});
  });

  it('take string keys and values, dots and dashes in keys included', () => {
    const config = parse([
      '    fields:',
      '      service: checkout',
      '      env: prod',
      '      k8s.cluster-name: eu-1',
      '      _team: payments',
    ]);
    expect(config.tails[0]?.fields).toEqual({
      service: 'checkout',
      env: 'prod',
      'k8s.cluster-name': 'eu-1',
      _team: 'payments',
    });
  });

  it('refuse a key the envelope uses, naming its key path', () => {
    const found = issues(['    fields: { service: checkout, host: other, offset: "1" }']);
    expect(found.map((i) => i.path)).toEqual(['tails[0].fields.host', 'tails[0].fields.offset']);
    expect(found[0]?.message).toContain('"host" is reserved');
    for (const name of ['agent', 'path', 'time', 'line', 'stream'])
      expect(paths([`    fields: { ${name}: x }`])).toEqual([`tails[0].fields.${name}`]);
  });

  it('refuse a bad key, naming its key path', () => {
    expect(paths(['    fields: { "9lives": x }'])).toEqual(['tails[0].fields.9lives']);
    expect(paths(['    fields: { "a b": x }'])).toEqual(['tails[0].fields.a b']);
    expect(paths(['    fields: { "": x }'])).toEqual(['tails[0].fields.']);
    expect(paths([`    fields: { ${'k'.repeat(65)}: x }`])).toEqual([
      `tails[0].fields.${'k'.repeat(65)}`,
    ]);
    expect(paths([`    fields: { ${'k'.repeat(64)}: x }`])).toEqual([]);
    const message = issues(['    fields: { "a/b": x }'])[0]?.message;
    expect(message).toContain('[A-Za-z0-9_.-]');
  });

  it('refuse a value over 1 KiB (UTF-8 bytes) or not a string', () => {
    expect(paths([`    fields: { note: "${'x'.repeat(1024)}" }`])).toEqual([]);
    expect(paths([`    fields: { note: "${'x'.repeat(1025)}" }`])).toEqual([
      'tails[0].fields.note',
    ]);
    // 342 three-byte characters: 1026 bytes in 342 UTF-16 units.
    expect(paths([`    fields: { note: "${'€'.repeat(342)}" }`])).toEqual(['tails[0].fields.note']);
    expect(paths(['    fields: { port: 8080 }'])).toEqual(['tails[0].fields.port']);
  });

  it('refuse more than 32, naming the fields key', () => {
    const entries = (n: number) =>
      `    fields: { ${Array.from({ length: n }, (_, i) => `f${i}: v${i}`).join(', ')} }`;
    expect(paths([entries(32)])).toEqual([]);
    const found = issues([entries(33)]);
    expect(found).toEqual([{ path: 'tails[0].fields', message: '33 fields, at most 32' }]);
  });

  it('must fit the message size beside a full batch, naming the tail’s fields', () => {
    const big = `    fields: { ${Array.from({ length: 32 }, (_, i) => `f${i}: "${'v'.repeat(1000)}"`).join(', ')} }`;
    const tight = [
      'batch: { maxBytes: 1048576 }',
      `ship: { maxMessageBytes: ${1048576 + 64 * 1024 + 1000} }`,
    ];
    const found = issues([big, ...tight]);
    expect(found.map((i) => i.path)).toEqual(['tails[0].fields']);
    // 32 values of 1000 bytes, keys f0-f9 (2 bytes) and f10-f31 (3), 10 bytes of framing each.
    expect(32 * 1000 + 10 * 2 + 22 * 3 + 32 * 10).toBe(32406);
    expect(found[0]?.message).toBe(
      'take 32406 bytes per batch: ship.maxMessageBytes must exceed batch.maxBytes by 64 KiB plus that',
    );
    // The default message size (8 MiB) leaves room for any allowed set.
    expect(paths([big])).toEqual([]);
    expect(paths(['    fields: { service: checkout }', ...tight])).toEqual([]);
  });

  it('name the tail of the bad key when there are several tails', () => {
    expect(
      paths(['  - paths: [/var/log/b.log]', '    topic: b', '    fields: { line: x }']),
    ).toEqual(['tails[1].fields.line']);
  });
});

describe('batchFields', () => {
  it('is the one shared empty set when there are none', () => {
    expect(batchFields(undefined)).toBe(NO_FIELDS);
    expect(batchFields({}, {})).toBe(NO_FIELDS);
    expect(Object.isFrozen(NO_FIELDS)).toBe(true);
  });

  it('merges per-file fields under the tail’s, which win on a shared key, frozen', () => {
    const merged = batchFields(
      { service: 'checkout', namespace: 'from-config' },
      { pod: 'checkout-7d9f', namespace: 'shop', container: 'app' },
    );
    expect(merged).toEqual({
      pod: 'checkout-7d9f',
      namespace: 'from-config',
      container: 'app',
      service: 'checkout',
    });
    expect(Object.keys(merged)).toHaveLength(4);
    expect(Object.isFrozen(merged)).toBe(true);
    expect(batchFields(undefined, { pod: 'p' })).toEqual({ pod: 'p' });
    expect(batchFields({ env: 'prod' })).toEqual({ env: 'prod' });
  });
});
