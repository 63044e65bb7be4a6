import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../../src/common/config/config-error.js';
import { validateConfig } from '../../../../../src/common/config/load-config.js';
import { hbaseSinkConfigSchema } from '../../../../../src/collector/sinks/hbase/config.js';
import { sinkConfigSchema } from '../../../../../src/collector/sinks/registry.js';
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

const parse = (extra: Record<string, unknown>) =>
  validateConfig(hbaseSinkConfigSchema, { type: 'hbase', name: 'h', ...extra });
const pathsOf = (extra: Record<string, unknown>) => issuesOf(() => parse(extra)).map((i) => i.path);

describe('hbase sink config', () => {
  it('fills every documented default', () => {
    expect(parse({})).toEqual({
      type: 'hbase',
      name: 'h',
      flow: defaultSinkFlow,
      url: 'http://127.0.0.1:8080',
      tableTemplate: 'logs_{topic}',
      columnFamily: 'd',
      createTable: true,
      rowKey: { kind: 'plain' },
      format: 'json',
      timeoutMs: 30_000,
      maxRowsPerRequest: 1000,
      maxBytesPerRequest: 4_000_000,
      maxCellBytes: 10 * 1024 * 1024,
    });
  });

  it('documents every key', () => {
    for (const [key, schema] of Object.entries(hbaseSinkConfigSchema.shape)) {
      expect(schema.description, key).toMatch(/\S/);
    }
  });

  it('is a sinks[] type of its own', () => {
    expect(validateConfig(sinkConfigSchema, { type: 'hbase', name: 'h' }).type).toBe('hbase');
  });

  it('checks the url', () => {
    for (const bad of [
      'not a url',
      'ftp://h:1',
      'http://u:p@h:8080',
      'http://h:8080/base',
      'http://h:8080?x=1',
    ]) {
      expect(pathsOf({ url: bad }), bad).toContain('url');
    }
    expect(parse({ url: 'https://gw.example:8443' }).url).toBe('https://gw.example:8443');
  });

  it('accepts only HBase table characters and {topic} in the table template', () => {
    for (const good of ['logs_{topic}', '{topic}', 'a.b-c_{topic}', 'L0gs']) {
      expect(parse({ tableTemplate: good }).tableTemplate).toBe(good);
    }
    for (const bad of ['logs {topic}', 'logs:{topic}', 'a/{topic}', '{Topic}', '', '.x', '-x']) {
      expect(pathsOf({ tableTemplate: bad }), bad).toContain('tableTemplate');
    }
    expect(pathsOf({ tableTemplate: 'x'.repeat(181) })).toContain('tableTemplate');
  });

  it('checks namespace and column family', () => {
    expect(parse({ namespace: 'logrelay' }).namespace).toBe('logrelay');
    expect(pathsOf({ namespace: 'a-b' })).toContain('namespace');
    expect(pathsOf({ namespace: '' })).toContain('namespace');
    for (const bad of ['', 'd:x', '.d', '-d', 'a b', 'x'.repeat(65)]) {
      expect(pathsOf({ columnFamily: bad }), bad).toContain('columnFamily');
    }
    expect(parse({ columnFamily: 'cf_1' }).columnFamily).toBe('cf_1');
  });

  it('takes plain or salted row keys, salted with 2-100 buckets (default 16)', () => {
    expect(parse({ rowKey: { kind: 'salted' } }).rowKey).toEqual({
      kind: 'salted',
      saltBuckets: 16,
    });
    expect(parse({ rowKey: { kind: 'salted', saltBuckets: 4 } }).rowKey).toEqual({
      kind: 'salted',
      saltBuckets: 4,
    });
    expect(pathsOf({ rowKey: { kind: 'salted', saltBuckets: 1 } })).toContain('rowKey.saltBuckets');
    expect(pathsOf({ rowKey: { kind: 'salted', saltBuckets: 101 } })).toContain(
      'rowKey.saltBuckets',
    );
    expect(pathsOf({ rowKey: { kind: 'plain', saltBuckets: 4 } }).join()).toMatch(/rowKey/);
    expect(pathsOf({ rowKey: { kind: 'hashed' } }).join()).toMatch(/rowKey/);
  });

  it('wants https for tls and a user and password for auth', () => {
    expect(pathsOf({ tls: { rejectUnauthorized: false } })).toContain('tls');
    expect(parse({ url: 'https://h:8443', tls: { rejectUnauthorized: false } }).tls).toEqual({
      rejectUnauthorized: false,
    });
    expect(pathsOf({ auth: { user: 'u' } })).toContain('auth.password');
    expect(parse({ auth: { user: 'u', password: { value: 'p' } } }).auth).toEqual({
      user: 'u',
      password: { value: 'p' },
    });
  });

  it('bounds the request sizes', () => {
    expect(pathsOf({ maxRowsPerRequest: 0 })).toContain('maxRowsPerRequest');
    expect(pathsOf({ maxBytesPerRequest: 10 })).toContain('maxBytesPerRequest');
    expect(pathsOf({ timeoutMs: 5 })).toContain('timeoutMs');
    expect(() => parse({ unknownKey: 1 })).toThrow(ConfigError);
  });
});
