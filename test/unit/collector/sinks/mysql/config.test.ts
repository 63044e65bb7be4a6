import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../../../../../src/common/config/config-error.js';
import { parseConfig, validateConfig } from '../../../../../src/common/config/load-config.js';
import { RelayError } from '../../../../../src/common/errors/relay-error.js';
import { mysqlSinkConfigSchema } from '../../../../../src/collector/sinks/mysql/config.js';
import {
  connectionOptions,
  toRelayError,
} from '../../../../../src/collector/sinks/mysql/mysql-sink.js';
import {
  createTableSql,
  insertSql,
  quoteIdentifier,
  tableName,
} from '../../../../../src/collector/sinks/mysql/table.js';
import { defaultSinkFlow } from '../../../../helpers/sink-defaults.js';

const url = 'mysql://relay:s%40cret@db.example:3307/logs';

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('mysql sink config', () => {
  it('fills every documented default', () => {
    expect(validateConfig(mysqlSinkConfigSchema, { type: 'mysql', name: 'm', url })).toEqual({
      type: 'mysql',
      name: 'm',
      flow: defaultSinkFlow,
      url,
      tableTemplate: 'logrelay_{topic}',
      maxRowsPerInsert: 1000,
      maxBytesPerInsert: 4_000_000,
      connectionLimit: 4,
      connectTimeoutMs: 10_000,
      queryTimeoutMs: 30_000,
    });
  });

  it('documents every key', () => {
    for (const [key, schema] of Object.entries(mysqlSinkConfigSchema.shape)) {
      expect(schema.description, key).toMatch(/\S/);
    }
  });

  it('requires the url and checks its parts', () => {
    expect(
      issuesOf(() => validateConfig(mysqlSinkConfigSchema, { type: 'mysql', name: 'm' })).map(
        (i) => i.path,
      ),
    ).toEqual(['url']);
    for (const bad of [
      'not a url',
      'postgres://u:p@h:1/db',
      'mysql://u:p@h:1/',
      'mysql://h:1/db',
      'mysql://u:p@h:1/db/x',
      'mysql://u:p@h:1/db?ssl=1',
    ]) {
      const issues = issuesOf(() =>
        validateConfig(mysqlSinkConfigSchema, { type: 'mysql', name: 'm', url: bad }),
      );
      expect(
        issues.map((i) => i.path),
        bad,
      ).toContain('url');
    }
  });

  it('parses the url into connection options, percent-decoding user and password', () => {
    expect(connectionOptions(url)).toEqual({
      host: 'db.example',
      port: 3307,
      user: 'relay',
      password: 's@cret',
      database: 'logs',
    });
    expect(connectionOptions('mysql://root@127.0.0.1/x').port).toBe(3306);
  });

  it('accepts only identifier characters and {topic} in the table template', () => {
    for (const good of ['logrelay_{topic}', '{topic}', 'logs', '{topic}_lines', 'L0g_{topic}']) {
      expect(
        validateConfig(mysqlSinkConfigSchema, {
          type: 'mysql',
          name: 'm',
          url,
          tableTemplate: good,
        }).tableTemplate,
      ).toBe(good);
    }
    for (const bad of [
      'logs-{topic}',
      'logs.{topic}',
      'x`; DROP TABLE t; --{topic}',
      '{Topic}',
      'a {topic}',
      '',
      'x'.repeat(65),
      `${'x'.repeat(55)}{topic}`,
    ]) {
      const issues = issuesOf(() =>
        validateConfig(mysqlSinkConfigSchema, {
          type: 'mysql',
          name: 'm',
          url,
          tableTemplate: bad,
        }),
      );
      expect(
        issues.map((i) => i.path),
        bad,
      ).toContain('tableTemplate');
    }
    // 64 characters without a token, 54 of literal with it: the longest allowed.
    expect(() =>
      validateConfig(mysqlSinkConfigSchema, {
        type: 'mysql',
        name: 'm',
        url,
        tableTemplate: 'x'.repeat(64),
      }),
    ).not.toThrow();
    expect(() =>
      validateConfig(mysqlSinkConfigSchema, {
        type: 'mysql',
        name: 'm',
        url,
        tableTemplate: `${'x'.repeat(54)}{topic}`,
      }),
    ).not.toThrow();
  });

  it('names the path of an unknown key, also nested in a collector config', () => {
    const issues = issuesOf(() =>
      validateConfig(mysqlSinkConfigSchema, { type: 'mysql', name: 'm', url, tabel: 'x' }),
    );
    expect(issues).toEqual([{ path: 'tabel', message: 'unknown key' }]);

    const collector = z.strictObject({
      sinks: z.array(z.discriminatedUnion('type', [mysqlSinkConfigSchema])),
    });
    const nested = issuesOf(() =>
      parseConfig(
        collector,
        [
          'sinks:',
          '  - type: mysql',
          '    name: m',
          `    url: ${url}`,
          '    maxRowsPerInsert: 10',
          '    poolSize: 3',
        ].join('\n'),
        'collector.yaml',
      ),
    );
    expect(nested).toEqual([{ path: 'sinks[0].poolSize', message: 'unknown key' }]);
  });

  it('reports each invalid value at its key path', () => {
    const issues = issuesOf(() =>
      validateConfig(mysqlSinkConfigSchema, {
        type: 'mysql',
        name: '',
        url,
        maxRowsPerInsert: 0,
        connectionLimit: 1.5,
        connectTimeoutMs: -1,
      }),
    );
    expect(issues.map((i) => i.path).sort()).toEqual(
      ['connectTimeoutMs', 'connectionLimit', 'maxRowsPerInsert', 'name'].sort(),
    );
  });
});

describe('mysql sink table names', () => {
  it('replaces {topic} with the topic sanitised to [a-zA-Z0-9_]', () => {
    expect(tableName('logrelay_{topic}', 'app')).toBe('logrelay_app');
    expect(tableName('logrelay_{topic}', 'web.access-log')).toBe('logrelay_web_access_log');
    expect(tableName('logrelay_{topic}', 'x`; DROP TABLE y; --')).toBe(
      'logrelay_x___DROP_TABLE_y____',
    );
    expect(tableName('logrelay_{topic}', 'café')).toBe('logrelay_caf_');
    expect(tableName('all_lines', 'anything')).toBe('all_lines');
  });

  it('keeps names to 64 characters, with a hash so long topics stay apart', () => {
    const a = tableName('logrelay_{topic}', `${'t'.repeat(100)}a`);
    const b = tableName('logrelay_{topic}', `${'t'.repeat(100)}b`);
    expect(a).toHaveLength(64);
    expect(b).toHaveLength(64);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[a-zA-Z0-9_]+$/);
    expect(tableName('logrelay_{topic}', 'x'.repeat(55))).toBe(`logrelay_${'x'.repeat(55)}`);
  });

  it('refuses an empty name (non-retriable) instead of quoting it', () => {
    let error: unknown;
    try {
      tableName('{topic}', '');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RelayError);
    expect((error as RelayError).code).toBe('SINK_REJECTED');
    expect((error as RelayError).retriable).toBe(false);
    expect(() => quoteIdentifier('a`b')).toThrow(RelayError);
  });

  it('builds statements with the table quoted and every value a placeholder', () => {
    expect(createTableSql('logrelay_app')).toContain('CREATE TABLE IF NOT EXISTS `logrelay_app`');
    expect(createTableSql('logrelay_app')).toContain(
      'UNIQUE KEY `uq_stream_offset` (`stream`, `offset`)',
    );
    const sql = insertSql('logrelay_app', 2);
    expect(sql).toBe(
      'INSERT INTO `logrelay_app` (`stream`, `offset`, `agent`, `host`, `path`, `line`, ' +
        '`read_time`) VALUES (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?) ' +
        'ON DUPLICATE KEY UPDATE `id` = `id`',
    );
  });
});

describe('mysql sink errors', () => {
  const driverError = (code: string, errno?: number, fatal?: boolean) =>
    Object.assign(new Error(code), { code, errno, fatal });

  it('makes outages, lock timeouts, deadlocks and too many connections retriable', () => {
    for (const err of [
      driverError('ECONNREFUSED', undefined, true),
      driverError('PROTOCOL_CONNECTION_LOST', undefined, true),
      driverError('ER_LOCK_WAIT_TIMEOUT', 1205),
      driverError('ER_LOCK_DEADLOCK', 1213),
      driverError('ER_CON_COUNT_ERROR', 1040),
      driverError('ER_ACCESS_DENIED_ERROR', 1045),
      new Error('something unknown'),
    ]) {
      const error = toRelayError(err, 'm');
      expect(error.code, err.message).toBe('SINK_UNAVAILABLE');
      expect(error.retriable, err.message).toBe(true);
    }
  });

  it('makes errors of the batch itself non-retriable', () => {
    for (const err of [
      driverError('ER_DATA_TOO_LONG', 1406),
      driverError('ER_BAD_NULL_ERROR', 1048),
      driverError('ER_NET_PACKET_TOO_LARGE', 1153),
    ]) {
      const error = toRelayError(err, 'm');
      expect(error.code, err.message).toBe('SINK_REJECTED');
      expect(error.retriable, err.message).toBe(false);
    }
  });
});
