import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../../../src/common/config/config-error.js';
import { validateConfig } from '../../../../../../src/common/config/load-config.js';
import {
  hiveConfigSchema,
  parseMetastoreUri,
} from '../../../../../../src/collector/sinks/hdfs/hive/config.js';

const issuesOf = (value: unknown): string[] => {
  try {
    validateConfig(hiveConfigSchema, value);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
};

describe('parseMetastoreUri', () => {
  it('reads host and port, 9083 when the port is left out', () => {
    expect(parseMetastoreUri('thrift://127.0.0.1:9083')).toEqual({ host: '127.0.0.1', port: 9083 });
    expect(parseMetastoreUri('thrift://metastore.example:19083')).toEqual({
      host: 'metastore.example',
      port: 19083,
    });
    expect(parseMetastoreUri('thrift://hms')).toEqual({ host: 'hms', port: 9083 });
    expect(parseMetastoreUri('thrift://[::1]:9083')).toEqual({ host: '::1', port: 9083 });
    expect(parseMetastoreUri('thrift://hms/')).toEqual({ host: 'hms', port: 9083 });
  });

  it('says why a URI is not usable', () => {
    expect(parseMetastoreUri('127.0.0.1:9083')).toMatch(/not a URI|scheme/);
    expect(parseMetastoreUri('http://hms:9083')).toMatch(/scheme http: is not thrift:/);
    expect(parseMetastoreUri('not a uri')).toMatch(/not a URI/);
    expect(parseMetastoreUri('thrift://hms:9083/db')).toMatch(/without a path/);
    expect(parseMetastoreUri('thrift://hms:9083?x=1')).toMatch(/without a path, query/);
    expect(parseMetastoreUri('thrift://u:p@hms:9083')).toMatch(/credentials/);
  });
});

describe('hive config', () => {
  it('fills in the documented defaults; only the table is required', () => {
    expect(validateConfig(hiveConfigSchema, { table: 'web_logs' })).toEqual({
      metastoreUri: 'thrift://127.0.0.1:9083',
      database: 'default',
      table: 'web_logs',
      requestTimeoutMs: 30_000,
      createTable: true,
    });
    expect(issuesOf({})).toEqual([expect.stringMatching(/^table: /)]);
  });

  it('rejects names Hive would change, a bad URI and unknown keys, all at once', () => {
    const issues = issuesOf({
      metastoreUri: 'http://hms:9083',
      database: 'Logs',
      table: 'web-logs',
      requestTimeoutMs: 0,
      extra: true,
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^metastoreUri: .*not thrift:/),
        expect.stringMatching(/^database: .*lower-case/),
        expect.stringMatching(/^table: .*lower-case/),
        expect.stringMatching(/^requestTimeoutMs: /),
        expect.stringMatching(/extra/),
      ]),
    );
  });

  it('documents every key', () => {
    for (const [key, schema] of Object.entries(hiveConfigSchema.shape)) {
      expect(schema.description, key).toMatch(/\S/);
    }
  });
});
