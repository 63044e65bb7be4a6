import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../../src/common/config/config-error.js';
import { validateConfig } from '../../../../../src/common/config/load-config.js';
import { hdfsSinkConfigSchema } from '../../../../../src/collector/sinks/hdfs/config.js';
import { defaultSinkFlow } from '../../../../helpers/sink-defaults.js';

const issuesOf = (value: unknown): string[] => {
  try {
    validateConfig(hdfsSinkConfigSchema, value);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
};

describe('hdfs sink config', () => {
  it('fills in the documented defaults', () => {
    const config = validateConfig(hdfsSinkConfigSchema, { type: 'hdfs', name: 'h' });
    expect(config).toEqual({
      type: 'hdfs',
      name: 'h',
      flow: defaultSinkFlow,
      namenodeUrl: 'http://127.0.0.1:9870',
      user: 'logrelay',
      pathTemplate: '/logrelay/{topic}/dt={yyyy-MM-dd}/hour={HH}/{collector}-{n}.log',
      inProgressPrefix: '.',
      inProgressSuffix: '.inprogress',
      exactlyOnce: true,
      compression: 'none',
      gzipLevel: 6,
      recoveryIntervalMs: 5000,
      maxStreamsPerAgent: 1000,
      maxFileBytes: 128 * 1024 * 1024,
      maxFileAgeMs: 3_600_000,
      flushIntervalMs: 200,
      maxAppendBytes: 8 * 1024 * 1024,
      requestTimeoutMs: 30_000,
      maxAttempts: 5,
      recoveryLookbackMs: 7 * 24 * 3_600_000,
    });
    // The issue asks for files of at least 64 MiB by default: HDFS must not fill with small files.
    expect(config.maxFileBytes).toBeGreaterThanOrEqual(64 * 1024 * 1024);
  });

  it('names every unknown key by its path', () => {
    expect(issuesOf({ type: 'hdfs', name: 'h', rollSize: 1, webhdfs: {} })).toEqual([
      'rollSize: unknown key',
      'webhdfs: unknown key',
    ]);
  });

  it('requires {n} and an absolute path in the template', () => {
    expect(issuesOf({ type: 'hdfs', name: 'h', pathTemplate: '/logs/{topic}.log' })).toEqual([
      'pathTemplate: must contain {n}, the file counter',
    ]);
    expect(issuesOf({ type: 'hdfs', name: 'h', pathTemplate: 'logs/{n}.log' })).toEqual([
      'pathTemplate: must be an absolute HDFS path',
    ]);
    expect(issuesOf({ type: 'hdfs', name: 'h', pathTemplate: '/a/../{n}.log' })).toEqual([
      'pathTemplate: must not contain . or .. segments',
    ]);
  });

  it('refuses bad values', () => {
    expect(
      issuesOf({
        type: 'hdfs',
        name: 'h',
        namenodeUrl: 'ftp://nn:21',
        maxFileBytes: 0,
        flushIntervalMs: -1,
        inProgressSuffix: 'a/b',
        maxAttempts: 0,
      }).map((i) => i.split(':')[0]),
    ).toEqual([
      'namenodeUrl',
      'inProgressSuffix',
      'maxFileBytes',
      'flushIntervalMs',
      'maxAttempts',
    ]);
  });
});
