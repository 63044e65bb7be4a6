import { MongoNetworkError, MongoServerError, MongoServerSelectionError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../../../../../src/common/config/config-error.js';
import { parseConfig, validateConfig } from '../../../../../src/common/config/load-config.js';
import { RelayError } from '../../../../../src/common/errors/relay-error.js';
import { mongodbSinkConfigSchema } from '../../../../../src/collector/sinks/mongodb/config.js';
import {
  errorCode,
  isDuplicateId,
  toRelayError,
} from '../../../../../src/collector/sinks/mongodb/errors.js';
import { sinkConfigSchema, sinkGuarantee } from '../../../../../src/collector/sinks/registry.js';
import { collectorConfigSchema } from '../../../../../src/collector/config.js';
import { collectorFileIssues } from '../../../../../src/config-check/index.js';
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

const valid = (extra: Record<string, unknown> = {}) =>
  validateConfig(mongodbSinkConfigSchema, { type: 'mongodb', name: 'm', ...extra });

const pathsOf = (extra: Record<string, unknown>) => issuesOf(() => valid(extra)).map((i) => i.path);

describe('mongodb sink config', () => {
  it('fills every documented default', () => {
    expect(valid()).toEqual({
      type: 'mongodb',
      name: 'm',
      flow: defaultSinkFlow,
      url: 'mongodb://127.0.0.1:27017',
      database: 'logrelay',
      collectionTemplate: 'logs_{topic}',
      format: 'json',
      writeConcern: { w: 'majority', journal: true },
      createIndexes: true,
      maxDocumentsPerInsert: 1000,
      connectTimeoutMs: 5000,
      operationTimeoutMs: 30_000,
      maxPoolSize: 10,
    });
  });

  it('documents every key, nested ones too', () => {
    for (const [key, schema] of Object.entries(mongodbSinkConfigSchema.shape)) {
      expect(schema.description, key).toMatch(/\S/);
    }
  });

  it('is a sink type of the registry, exactly-once', () => {
    const config = validateConfig(sinkConfigSchema, { type: 'mongodb', name: 'm' });
    expect(config.type).toBe('mongodb');
    expect(sinkGuarantee(config)).toBe('exactly-once');
  });

  it('takes mongodb:// and mongodb+srv:// urls only', () => {
    for (const good of [
      'mongodb://127.0.0.1:27017',
      'mongodb://u:p%40ss@a:1,b:2/admin?replicaSet=rs0&tls=true',
      'mongodb+srv://cluster0.example.net/?retryWrites=true',
    ]) {
      expect(valid({ url: good }).url).toBe(good);
    }
    for (const bad of ['', 'http://x', 'mongodb://', 'mongodb:// host', 'redis://h:1']) {
      expect(pathsOf({ url: bad }), bad).toEqual(['url']);
    }
  });

  it('accepts only safe characters, {topic} and no reserved prefix in the template', () => {
    for (const good of ['logs_{topic}', '{topic}', 'logs', 'app.{topic}-lines', 'L0g_{topic}']) {
      expect(valid({ collectionTemplate: good }).collectionTemplate).toBe(good);
    }
    for (const bad of [
      'logs${topic}',
      'logs {topic}',
      'logs\u0000{topic}',
      'system.{topic}',
      '.{topic}',
      '{Topic}',
      '',
      'x'.repeat(120 - 'logrelay.'.length + 1),
      `${'x'.repeat(120 - 'logrelay.'.length - 9)}{topic}`,
    ]) {
      expect(pathsOf({ collectionTemplate: bad }), bad).toContain('collectionTemplate');
    }
    // The longest allowed, in the default database: the namespace is 120 bytes.
    expect(() => valid({ collectionTemplate: 'x'.repeat(120 - 'logrelay.'.length) })).not.toThrow();
    expect(() =>
      valid({ collectionTemplate: `${'x'.repeat(120 - 'logrelay.'.length - 10)}{topic}` }),
    ).not.toThrow();
    // A longer database name leaves less.
    expect(pathsOf({ database: 'd'.repeat(60), collectionTemplate: 'x'.repeat(60) })).toEqual([
      'collectionTemplate',
    ]);
  });

  it('checks the database name', () => {
    for (const bad of ['', 'a.b', 'a/b', 'a$b', 'a b', 'd'.repeat(64)]) {
      expect(pathsOf({ database: bad }), bad).toEqual(['database']);
    }
  });

  it('takes a TTL only with format json and createIndexes, at its key path', () => {
    expect(valid({ ttlSeconds: 3600 }).ttlSeconds).toBe(3600);
    expect(pathsOf({ ttlSeconds: 3600, format: 'raw' })).toEqual(['ttlSeconds']);
    expect(pathsOf({ ttlSeconds: 3600, createIndexes: false })).toEqual(['ttlSeconds']);
    expect(pathsOf({ ttlSeconds: 0 })).toEqual(['ttlSeconds']);
  });

  it('checks the write concern, auth and tls', () => {
    expect(valid({ writeConcern: { w: 2, wtimeoutMs: 5000 } }).writeConcern).toEqual({
      w: 2,
      journal: true,
      wtimeoutMs: 5000,
    });
    expect(pathsOf({ writeConcern: { w: 0 } })).toEqual(['writeConcern.w']);
    expect(pathsOf({ writeConcern: { w: 'all' } })).toEqual(['writeConcern.w']);
    expect(valid({ auth: { username: 'u', password: { value: 'p' } } }).auth).toEqual({
      username: 'u',
      password: { value: 'p' },
      source: 'admin',
    });
    expect(pathsOf({ auth: { username: 'u' } })).toEqual(['auth.password']);
    expect(pathsOf({ auth: { username: 'u', password: { value: 'p' }, mechanism: 'X' } })).toEqual([
      'auth.mechanism',
    ]);
    expect(pathsOf({ tls: { rejectUnauthorized: 'no' } })).toEqual(['tls.rejectUnauthorized']);
  });

  it('names the path of an unknown key, also nested in a collector config', () => {
    expect(issuesOf(() => valid({ collection: 'x' }))).toEqual([
      { path: 'collection', message: 'unknown key' },
    ]);
    const collector = z.strictObject({
      sinks: z.array(z.discriminatedUnion('type', [mongodbSinkConfigSchema])),
    });
    const nested = issuesOf(() =>
      parseConfig(
        collector,
        [
          'sinks:',
          '  - type: mongodb',
          '    name: m',
          '    format: raw',
          '    ttlSeconds: 60',
          '    writeConcern: { w: majority, jurnal: true }',
        ].join('\n'),
        'collector.yaml',
      ),
    );
    // Both problems at once, each at its key path.
    expect(nested.map((i) => i.path).sort()).toEqual([
      'sinks[0].ttlSeconds',
      'sinks[0].writeConcern.jurnal',
    ]);
    expect(nested).toContainEqual({ path: 'sinks[0].writeConcern.jurnal', message: 'unknown key' });
    const ttl = issuesOf(() =>
      parseConfig(
        collector,
        [
          'sinks:',
          '  - type: mongodb',
          '    name: m',
          '    format: raw',
          '    ttlSeconds: 60',
        ].join('\n'),
        'collector.yaml',
      ),
    );
    expect(ttl.map((i) => i.path)).toEqual(['sinks[0].ttlSeconds']);
  });

  it('has `config check` read its TLS files and password file, at their key paths', async () => {
    const config = validateConfig(collectorConfigSchema, {
      id: 'c1',
      listen: { port: 0 },
      sinks: [
        { type: 'null', name: 'n' },
        {
          type: 'mongodb',
          name: 'm',
          tls: { ca: '/nonexistent/mongo-ca.crt' },
          auth: { username: 'relay', password: { file: '/nonexistent/mongo.pass' } },
        },
      ],
    });
    const issues = await collectorFileIssues(config, 'collector.yaml');
    expect(issues.map((i) => i.path).sort()).toEqual([
      'sinks[1].auth.password.file',
      'sinks[1].tls.ca',
    ]);
  });

  it('reports each invalid value at its key path', () => {
    expect(
      pathsOf({
        name: '',
        maxDocumentsPerInsert: 0,
        maxPoolSize: 1.5,
        connectTimeoutMs: -1,
      }).sort(),
    ).toEqual(['connectTimeoutMs', 'maxDocumentsPerInsert', 'maxPoolSize', 'name'].sort());
  });
});

describe('mongodb sink errors', () => {
  const serverError = (code: number, codeName?: string, labels: string[] = []) => {
    const err = new MongoServerError({ message: `server error ${code}`, code, codeName });
    for (const label of labels) err.addErrorLabel(label);
    return err;
  };

  it('makes outages, fail-overs, time limits, write concern and auth failures retriable', () => {
    for (const err of [
      new MongoNetworkError('connect ECONNREFUSED 127.0.0.1:27017'),
      new MongoServerSelectionError('Server selection timed out after 5000 ms', {
        type: 'Unknown',
        servers: new Map(),
        stale: false,
        compatible: true,
        heartbeatFrequencyMS: 10000,
        localThresholdMS: 15,
        setName: null,
        maxElectionId: null,
        maxSetVersion: null,
        commonWireVersion: 0,
        logicalSessionTimeoutMinutes: null,
      } as never),
      serverError(10107, 'NotWritablePrimary'),
      serverError(189, 'PrimarySteppedDown'),
      serverError(91, 'ShutdownInProgress'),
      serverError(11600, 'InterruptedAtShutdown'),
      serverError(262, 'ExceededTimeLimit'),
      serverError(64, 'WriteConcernFailed'),
      serverError(18, 'AuthenticationFailed'),
      serverError(13, 'Unauthorized'),
      serverError(59, 'CommandNotFound', ['HandshakeError']),
      // A code of the rejected kind, but labelled retryable: the label wins.
      serverError(121, 'DocumentValidationFailure', ['RetryableWriteError']),
      serverError(99999, 'SomethingNew'),
      new Error('something unknown'),
      'not even an error',
    ]) {
      const error = toRelayError(err, 'm');
      expect(error.code, String(err)).toBe('SINK_UNAVAILABLE');
      expect(error.retriable, String(err)).toBe(true);
      expect(error.message).toContain('MongoDB sink m');
    }
  });

  it('makes errors of the documents or the namespace non-retriable', () => {
    for (const err of [
      serverError(73, 'InvalidNamespace'),
      serverError(10093),
      serverError(16459),
      serverError(10080),
      serverError(121, 'DocumentValidationFailure'),
      serverError(10334, 'BSONObjectTooLarge'),
      serverError(17280, 'KeyTooLong'),
      serverError(11000, 'DuplicateKey'),
      new Error('Document is larger than the maximum size 16777216'),
    ]) {
      const error = toRelayError(err, 'm');
      expect(error.code, String(err)).toBe('SINK_REJECTED');
      expect(error.retriable, String(err)).toBe(false);
    }
  });

  it('passes RelayErrors through and counts errors by code name, code or class', () => {
    const own = new RelayError('SINK_REJECTED', 'too large');
    expect(toRelayError(own, 'm')).toBe(own);
    expect(errorCode(own)).toBe('SINK_REJECTED');
    expect(errorCode(serverError(10107, 'NotWritablePrimary'))).toBe('NotWritablePrimary');
    expect(errorCode(serverError(10093))).toBe('E10093');
    expect(errorCode(new MongoNetworkError('x'))).toBe('MongoNetworkError');
    expect(errorCode('x')).toBe('UNKNOWN');
  });

  it('takes a duplicate key on _id as already written, on another index as not', () => {
    const dup = (errmsg: string) => ({ code: 11000, errmsg });
    expect(
      isDuplicateId(dup('E11000 duplicate key error collection: d.c index: _id_ dup key: { ... }')),
    ).toBe(true);
    expect(isDuplicateId(dup('E11000 duplicate key error'))).toBe(true);
    expect(
      isDuplicateId(dup('E11000 duplicate key error collection: d.c index: host_1 dup key: {}')),
    ).toBe(false);
    expect(isDuplicateId({ code: 121, errmsg: 'index: _id_' })).toBe(false);
  });
});
