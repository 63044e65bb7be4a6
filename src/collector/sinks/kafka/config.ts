import { z } from 'zod';
import { serviceTlsSchema } from '../../../common/security/index.js';
import { sinkCommonFields } from '../sink-config.js';
import { COMPRESSIONS, compressionUnavailable } from './codecs.js';

/**
 * Kafka's legal topic characters (kafka.common.Topic). Checked here so a bad prefix is a
 * configuration error at start-up, not a rejected batch at run time.
 */
export const KAFKA_TOPIC_PATTERN = /^[a-zA-Z0-9._-]*$/;

/** Kafka refuses longer topic names. */
export const KAFKA_TOPIC_MAX_LENGTH = 249;

const hostPort = z
  .string()
  .regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port')
  .describe('A bootstrap broker as host:port.');

const saslSchema = z
  .strictObject({
    /** SASL mechanism; no default, it must match the broker's listener. */
    mechanism: z
      .enum(['plain', 'scram-sha-256', 'scram-sha-512'])
      .describe('SASL mechanism: plain, scram-sha-256 or scram-sha-512. No default.'),
    /** SASL user name. */
    username: z.string().min(1).describe('SASL user name. No default.'),
    /** SASL password; never logged. */
    password: z.string().describe('SASL password (never logged). No default.'),
  })
  .describe('SASL authentication. Default: none.');

/**
 * `sinks[]` entry of type `kafka`: one Kafka record per line (DESIGN.md "Records in the sinks").
 * `write` resolves only once the broker acknowledged every record with acks=all.
 */
export const kafkaSinkConfigSchema = z
  .strictObject({
    /** Discriminator of the `sinks[]` entry. */
    type: z.literal('kafka').describe('Sink type: kafka.'),
    ...sinkCommonFields,
    /** Bootstrap brokers. Default: ['127.0.0.1:9092']. */
    brokers: z
      .array(hostPort)
      .min(1)
      .default(['127.0.0.1:9092'])
      .describe('Bootstrap brokers as host:port. Default: [127.0.0.1:9092].'),
    /** Client id the broker sees (quotas, request logs). Default: logrelay-collector. */
    clientId: z
      .string()
      .min(1)
      .default('logrelay-collector')
      .describe('Kafka client id (quotas, broker logs). Default: logrelay-collector.'),
    /**
     * Record value: the line's bytes (raw) or a JSON object with its metadata, and the tail's
     * `fields` as an object when it has some. Default: raw.
     */
    format: z
      .enum(['raw', 'json'])
      .default('raw')
      .describe(
        'Record value: raw = the line bytes exactly as read (no newline); json = ' +
          '{agent, host, path, offset, time, line}, plus fields: {..} when the agent’s tail ' +
          'has fields. Default: raw.',
      ),
    /**
     * Per-record headers host, path, offset and agent, and one `fields.<key>` per field of the
     * agent's tail. Off by default: measured, four headers halve a Node.js Kafka client's
     * throughput, and the key already names agent and path.
     */
    headers: z
      .boolean()
      .default(false)
      .describe(
        'Add the headers host, path, offset and agent to every record, and fields.<key> for ' +
          'each of the tail’s fields (costs about half the throughput). Default: false.',
      ),
    /**
     * Record batch compression: none, gzip, snappy, lz4 or zstd (zstd needs Node.js ≥ 22.15).
     * Every Kafka consumer of 2.1 or newer reads all four. Default: none.
     */
    compression: z
      .enum(COMPRESSIONS)
      .default('none')
      .describe(
        'Record batch compression: none, gzip, snappy, lz4 or zstd (zstd needs Node.js ≥ ' +
          '22.15). Default: none.',
      ),
    /**
     * Records per produce request. A stream's requests go one at a time, so larger requests mean
     * fewer round trips: measured file → Kafka with 100-byte lines, 1,000 gave 205k lines/s,
     * 2,000 346k, 4,000–10,000 360–390k (docs/operations.md, "Tuning"). `maxBytesPerRequest`
     * caps a request first for longer lines. Default: 5000.
     */
    maxRecordsPerRequest: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(5000)
      .describe('Most records in one produce request (records). Default: 5000.'),
    /**
     * Approximate bytes (values, keys, headers and per-record overhead) per produce request.
     * A whole request to one partition becomes one record batch, which the broker refuses above
     * `message.max.bytes` (1 MiB by default) — a chunk of long lines must not be rejected
     * although each line alone fits. Default: 900000.
     */
    maxBytesPerRequest: z
      .number()
      .int()
      .min(1024)
      .default(900_000)
      .describe(
        'Most bytes in one produce request (bytes, approximate); keep it below the ' +
          "broker's message.max.bytes. Default: 900000.",
      ),
    /**
     * Produce requests in flight at once, for the whole sink. Default: 1.
     *
     * A stream's own requests always go one at a time (kafkajs does not keep the order of
     * concurrent requests), so more than one only helps when several streams are written at
     * once. With the idempotent producer it must be 1: kafkajs assigns sequence numbers per
     * partition and rolls them back when a request fails; a request of another stream sent
     * meanwhile reuses them, and the broker answers OUT_OF_ORDER_SEQUENCE_NUMBER or — worse —
     * acknowledges it as a duplicate without writing it (kafkajs #598, #1005). kafkajs also
     * serialises an idempotent producer's requests per broker, so more would buy little there.
     */
    maxInFlightRequests: z
      .number()
      .int()
      .min(1)
      .max(32)
      .default(1)
      .describe(
        'Concurrent produce requests of the sink, across streams (requests). Must be 1 with ' +
          'idempotent: true (kafkajs #598). Default: 1.',
      ),
    /**
     * Idempotent producer: the broker drops the client's retried duplicates, so a request retried
     * after a lost response is written once. Without it such a retry writes its lines twice.
     * Default: true.
     */
    idempotent: z
      .boolean()
      .default(true)
      .describe(
        "Idempotent producer (the broker drops the client's retried duplicates). Default: true.",
      ),
    /**
     * How long the broker may wait for the replicas (acks=all) before it answers; the client
     * waits 5 s longer so that a slow replication comes back as the broker's own error.
     */
    requestTimeoutMs: z
      .number()
      .int()
      .min(100)
      .default(30_000)
      .describe(
        'Produce timeout given to the broker (ms); the client waits 5000 ms longer. ' +
          'Default: 30000.',
      ),
    /** TCP connect timeout per broker. Default: 1000 (kafkajs's). */
    connectionTimeoutMs: z
      .number()
      .int()
      .min(10)
      .default(1000)
      .describe('Timeout of a TCP connection to a broker (ms). Default: 1000.'),
    /**
     * Retries of a failed request inside the client before `write` rejects (retriable) and the
     * collector's own retry-after takes over. Bounded, so an outage surfaces instead of hanging
     * a batch forever. Default: 5.
     */
    retries: z
      .number()
      .int()
      .min(0)
      .max(100)
      .default(5)
      .describe(
        'Client retries of a failed request before write fails with a retriable error ' +
          '(retries). Default: 5.',
      ),
    /** First backoff of the client's exponential retry. Default: 300 (kafkajs's). */
    retryInitialMs: z
      .number()
      .int()
      .min(1)
      .default(300)
      .describe('First retry backoff, doubled on each retry (ms). Default: 300.'),
    /** Prepended to the tail's topic (e.g. `logs.`). Default: ''. */
    topicPrefix: z
      .string()
      .max(KAFKA_TOPIC_MAX_LENGTH)
      .regex(KAFKA_TOPIC_PATTERN, 'only a-z, A-Z, 0-9, ".", "_" and "-" are legal in a topic')
      .default('')
      .describe("Prefix prepended to every tail's topic. Default: '' (none)."),
    /**
     * Not a setting: a record's topic is its tail's `topic` (with `topicPrefix` in front). Present
     * only to refuse it with that hint rather than as an unknown key.
     */
    topic: z
      .unknown()
      .optional()
      .describe(
        'Refused: topics come from tails[].topic (per file, set on the agent or in MySQL); use topicPrefix to put a prefix in front.',
      ),
    /**
     * Create a missing topic before the first write to it, with this many partitions and this
     * replication factor (a broker's auto-creation gives its own defaults, usually one
     * partition). Default: unset (topics must exist or the broker creates them).
     */
    createTopics: z
      .strictObject({
        /** Partitions of a created topic. Default: 6. */
        partitions: z
          .number()
          .int()
          .min(1)
          .default(6)
          .describe('Partitions of a created topic. Default: 6.'),
        /** Replication factor of a created topic; -1 takes the broker's default. Default: -1. */
        replicationFactor: z
          .number()
          .int()
          .min(-1)
          .refine((n) => n !== 0, 'must be -1 (the broker default) or at least 1')
          .default(-1)
          .describe(
            "Replication factor of a created topic; -1 = the broker's default. Default: -1.",
          ),
      })
      .optional()
      .describe('Create missing topics with these settings. Default: unset.'),
    /** TLS to the brokers: true (system roots) or { ca, cert, key, rejectUnauthorized }. Default: false. */
    ssl: z
      .union([z.boolean(), serviceTlsSchema])
      .default(false)
      .describe(
        'TLS to the brokers: true (system roots) or {ca, cert, key, rejectUnauthorized}. Default: false.',
      ),
    /** SASL credentials, when the brokers' listener requires them. Default: none. */
    sasl: saslSchema
      .optional()
      .describe('SASL authentication {mechanism, username, password}. Default: none.'),
    /**
     * Exactly-once delivery: each agent's lines are written by a transactional producer of its
     * own (transactional id `<clientId>.<sink>.<agent>`), together with each stream's new
     * high-water mark (committed consumer-group offsets) in one transaction. A collector that
     * takes an agent over fences the previous one and resumes from the committed marks; a
     * `read_committed` consumer sees every line once. Default: unset (idempotent producer,
     * at-least-once across a collector crash).
     */
    exactlyOnce: z
      .preprocess(
        // `true` is shorthand for `{}` (every default), `false` for leaving it unset.
        (value) => (value === true ? {} : value === false ? undefined : value),
        z
          .strictObject({
            /**
             * Topic whose consumer-group offsets hold the marks: one group per agent, the marks of
             * its streams in the offsets' metadata, spread over the topic's partitions (no records
             * are ever written to it). Created if missing. Default: logrelay.marks.
             */
            marksTopic: z
              .string()
              .max(KAFKA_TOPIC_MAX_LENGTH)
              .regex(
                KAFKA_TOPIC_PATTERN,
                'only a-z, A-Z, 0-9, ".", "_" and "-" are legal in a topic',
              )
              .default('logrelay.marks')
              .describe('Topic the marks are committed against. Default: logrelay.marks.'),
            /**
             * Partitions of the marks topic when it is created (an existing topic keeps its own).
             * Each holds the marks of about 150 recently written streams per agent. Never change the
             * partition count of an existing marks topic: marks would be looked for in the wrong
             * place. Default: 16.
             */
            markPartitions: z
              .number()
              .int()
              .min(1)
              .max(1000)
              .default(16)
              .describe('Partitions of the marks topic when created. Default: 16.'),
            /** Broker-side transaction timeout, ms: how long a dead writer's transaction can linger. Default: 30000. */
            transactionTimeoutMs: z
              .number()
              .int()
              .min(1000)
              .default(30_000)
              .describe('Transaction timeout, ms. Default: 30000.'),
            /** Close an agent's producer after this long without writes, ms. Default: 300000. */
            idleProducerMs: z
              .number()
              .int()
              .min(1000)
              .default(300_000)
              .describe('Idle producer close delay, ms. Default: 300000.'),
          })
          .optional(),
      )
      .describe(
        'Exactly-once via transactions: an object, or true for every default. Default: unset (at-least-once).',
      ),
    /** kafkajs's own log level; its lines go to the sink's logger. Default: error. */
    logLevel: z
      .enum(['nothing', 'error', 'warn', 'info', 'debug'])
      .default('error')
      .describe("Level of the Kafka client's own log lines. Default: error."),
  })
  .superRefine((config, ctx) => {
    const noCodec = compressionUnavailable(config.compression);
    if (noCodec) ctx.addIssue({ code: 'custom', path: ['compression'], message: noCodec });
    if (config.topic !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['topic'],
        message:
          'a Kafka sink has no topic of its own: each record goes to its tail’s topic ' +
          '(tails[].topic on the agent, or the topic column in MySQL); use topicPrefix to ' +
          'put a prefix in front of it',
      });
    }
    if (config.idempotent && config.maxInFlightRequests > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxInFlightRequests'],
        message:
          'must be 1 with idempotent: true (kafkajs loses sequence numbers with concurrent ' +
          'requests, kafkajs #598); set idempotent: false to send concurrently',
      });
    }
  })
  .describe('Kafka sink: one record per line, acknowledged with acks=all.');

export type KafkaSinkConfig = z.output<typeof kafkaSinkConfigSchema>;

/** The input shape (defaults optional), for building configs in code and tests. */
export type KafkaSinkConfigInput = z.input<typeof kafkaSinkConfigSchema>;
