import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../../../../../src/common/config/config-error.js';
import { parseConfig, validateConfig } from '../../../../../src/common/config/load-config.js';
import { kafkaSinkConfigSchema } from '../../../../../src/collector/sinks/kafka/config.js';
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

describe('kafka sink config', () => {
  it('fills every documented default', () => {
    expect(validateConfig(kafkaSinkConfigSchema, { type: 'kafka', name: 'k' })).toEqual({
      type: 'kafka',
      name: 'k',
      flow: defaultSinkFlow,
      brokers: ['127.0.0.1:9092'],
      clientId: 'logrelay-collector',
      format: 'raw',
      headers: false,
      compression: 'none',
      maxRecordsPerRequest: 5000,
      maxBytesPerRequest: 900_000,
      maxInFlightRequests: 1,
      idempotent: true,
      requestTimeoutMs: 30_000,
      connectionTimeoutMs: 1000,
      retries: 5,
      retryInitialMs: 300,
      topicPrefix: '',
      ssl: false,
      logLevel: 'error',
    });
  });

  it('documents every key', () => {
    for (const [key, schema] of Object.entries(kafkaSinkConfigSchema.shape)) {
      expect(schema.description, key).toMatch(/\S/);
    }
  });

  it('names the path of an unknown key, also nested in a collector config', () => {
    const issues = issuesOf(() =>
      validateConfig(kafkaSinkConfigSchema, { type: 'kafka', name: 'k', brokerz: ['a:1'] }),
    );
    expect(issues).toEqual([{ path: 'brokerz', message: 'unknown key' }]);

    const collector = z.strictObject({
      sinks: z.array(z.discriminatedUnion('type', [kafkaSinkConfigSchema])),
    });
    const nested = issuesOf(() =>
      parseConfig(
        collector,
        [
          'sinks:',
          '  - type: kafka',
          '    name: k',
          '    sasl:',
          '      mechanism: plain',
          '      username: u',
          '      password: p',
          '      realm: x',
        ].join('\n'),
        'collector.yaml',
      ),
    );
    expect(nested).toEqual([{ path: 'sinks[0].sasl.realm', message: 'unknown key' }]);
  });

  it('reports each invalid value at its key path', () => {
    const issues = issuesOf(() =>
      validateConfig(kafkaSinkConfigSchema, {
        type: 'kafka',
        name: '',
        brokers: ['127.0.0.1:9092', 'no-port'],
        format: 'xml',
        compression: 'brotli',
        maxRecordsPerRequest: 0,
        topicPrefix: 'logs/',
        sasl: { mechanism: 'gssapi', username: 'u', password: 'p' },
      }),
    );
    expect(issues.map((i) => i.path).sort()).toEqual(
      [
        'brokers[1]',
        'compression',
        'format',
        'maxRecordsPerRequest',
        'name',
        'sasl.mechanism',
        'topicPrefix',
      ].sort(),
    );
  });

  it('takes exactlyOnce: true as every exactly-once default, and false as off', () => {
    const on = validateConfig(kafkaSinkConfigSchema, {
      type: 'kafka',
      name: 'k',
      exactlyOnce: true,
    });
    expect(on.exactlyOnce).toEqual({
      marksTopic: 'logrelay.marks',
      markPartitions: 16,
      transactionTimeoutMs: 30_000,
      idleProducerMs: 300_000,
    });
    expect(
      validateConfig(kafkaSinkConfigSchema, { type: 'kafka', name: 'k', exactlyOnce: {} })
        .exactlyOnce,
    ).toEqual(on.exactlyOnce);
    const off = validateConfig(kafkaSinkConfigSchema, {
      type: 'kafka',
      name: 'k',
      exactlyOnce: false,
    });
    expect(off.exactlyOnce).toBeUndefined();
    expect(
      issuesOf(() =>
        validateConfig(kafkaSinkConfigSchema, { type: 'kafka', name: 'k', exactlyOnce: 'yes' }),
      ).map((i) => i.path),
    ).toEqual(['exactlyOnce']);
  });

  it('refuses a topic key with the hint that topics come from the tails', () => {
    const issues = issuesOf(() =>
      validateConfig(kafkaSinkConfigSchema, { type: 'kafka', name: 'k', topic: 'logs' }),
    );
    expect(issues).toEqual([{ path: 'topic', message: expect.stringContaining('tails[].topic') }]);
    expect(issues[0]?.message).toContain('topicPrefix');
  });

  it('creates topics only when asked, with partitions and replication factor checked', () => {
    expect(
      validateConfig(kafkaSinkConfigSchema, { type: 'kafka', name: 'k', createTopics: {} })
        .createTopics,
    ).toEqual({ partitions: 6, replicationFactor: -1 });
    const issues = issuesOf(() =>
      validateConfig(kafkaSinkConfigSchema, {
        type: 'kafka',
        name: 'k',
        createTopics: { partitions: 0, replicationFactor: 0 },
      }),
    );
    expect(issues.map((i) => i.path).sort()).toEqual([
      'createTopics.partitions',
      'createTopics.replicationFactor',
    ]);
  });

  it('allows concurrent requests only without idempotence (kafkajs #598)', () => {
    const issues = issuesOf(() =>
      validateConfig(kafkaSinkConfigSchema, { type: 'kafka', name: 'k', maxInFlightRequests: 4 }),
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('maxInFlightRequests');
    expect(issues[0]?.message).toMatch(/idempotent/);

    const config = validateConfig(kafkaSinkConfigSchema, {
      type: 'kafka',
      name: 'k',
      idempotent: false,
      maxInFlightRequests: 4,
    });
    expect(config.maxInFlightRequests).toBe(4);
  });

  it('accepts a full configuration with SASL and TLS', () => {
    const config = validateConfig(kafkaSinkConfigSchema, {
      type: 'kafka',
      name: 'k',
      brokers: ['kafka-1.example:9093', 'kafka-2.example:9093'],
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: 'relay', password: 'secret' },
      format: 'json',
      headers: true,
      compression: 'gzip',
      topicPrefix: 'logs.',
    });
    expect(config.sasl).toEqual({
      mechanism: 'scram-sha-512',
      username: 'relay',
      password: 'secret',
    });
    expect(config.topicPrefix).toBe('logs.');
  });
});
