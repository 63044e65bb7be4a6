import { hostname } from 'node:os';
import { z } from 'zod';
import { opsServerConfigSchema } from '../common/http/ops-config.js';
import { logConfigSchema } from '../common/logging/logger.js';
import { secretSchema, serverTlsConfigSchema } from '../common/security/index.js';
import { wireDefaults } from '../common/wire/index.js';
import { zookeeperConfigSchema } from '../common/zk/zk-config.js';
import { rateLimitSchema } from './smoothing/config.js';
import { routeConfigSchema } from './routing/router.js';
import { sinkConfigSchema } from './sinks/registry.js';

/** The collector's configuration file (`logrelay collector -c collector.yaml`). */
export const collectorConfigSchema = z
  .strictObject({
    /** Stable id of this collector (HDFS/file names, logs, cluster membership). Default: the host name. */
    id: z
      .string()
      .regex(/^[a-zA-Z0-9._-]{1,64}$/, 'use 1-64 of [a-zA-Z0-9._-]')
      .default(() =>
        hostname()
          .replace(/[^a-zA-Z0-9._-]/g, '-')
          .slice(0, 64),
      )
      .describe('Stable collector id. Default: the host name.'),
    /** Where agents connect (gRPC). */
    listen: z
      .strictObject({
        /** Address to bind. Default: 127.0.0.1. */
        host: z
          .string()
          .min(1)
          .default('127.0.0.1')
          .describe('Address to bind. Default: 127.0.0.1.'),
        /** gRPC port; 0 picks a free one. Default: 7070. */
        port: z
          .number()
          .int()
          .min(0)
          .max(65535)
          .default(7070)
          .describe('gRPC port. Default: 7070.'),
        /** Keepalive ping interval, in ms, so dead agents are noticed. Default: 10000. */
        keepaliveMs: z
          .number()
          .int()
          .min(1000)
          .default(10_000)
          .describe('Keepalive ping interval, ms. Default: 10000.'),
        /** How long a graceful stop waits for in-flight batches, in ms. Default: 10000. */
        drainTimeoutMs: z
          .number()
          .int()
          .min(0)
          .default(10_000)
          .describe('Graceful stop wait, ms. Default: 10000.'),
        /**
         * A TCP connection that has not finished its TLS and HTTP/2 handshakes and made its
         * first gRPC call this long after it was accepted is closed, in ms. Default: 10000.
         */
        handshakeTimeoutMs: z
          .number()
          .int()
          .min(100)
          .default(10_000)
          .describe(
            'Close a connection with no gRPC call this long after accept (handshakes), ms. Default: 10000.',
          ),
        /**
         * Most TCP connections open at once; more are closed on accept. Keep it below the
         * process's file-descriptor limit minus what the sinks need. Default: 10000.
         */
        maxConnections: z
          .number()
          .int()
          .positive()
          .default(10_000)
          .describe('TCP connections open at once; more are closed on accept. Default: 10000.'),
        /**
         * Most TCP connections open at once from one source address (agents behind one NAT
         * share it). Default: 1000.
         */
        maxConnectionsPerAddress: z
          .number()
          .int()
          .positive()
          .default(1000)
          .describe('TCP connections open at once from one address. Default: 1000.'),
        /** TLS, and mTLS with `clientCa`. Default: unset (plaintext, for loopback and trusted networks). */
        tls: serverTlsConfigSchema
          .optional()
          .describe('TLS, and mTLS with clientCa. Default: unset (plaintext).'),
      })
      .prefault({})
      .describe('gRPC listener for agents.'),
    /** Token authentication of agents (with or instead of mTLS). Default: unset (no tokens). */
    auth: z
      .strictObject({
        /**
         * Accepted tokens, each bound to one agent id (proving it), or to any with `agent: '*'`
         * (the id is then the client certificate's with mTLS, else unchecked).
         */
        tokens: z
          .array(
            z.strictObject({
              agent: z
                .string()
                .regex(/^(\*|[a-zA-Z0-9._-]{1,128})$/, 'an agent id or *')
                .describe(
                  'Agent id this token proves, or * for any (the client certificate then decides the id).',
                ),
              token: secretSchema.describe('The token: { value } or { file }.'),
            }),
          )
          .min(1)
          .describe('Accepted agent tokens.'),
      })
      .optional()
      .describe('Agent authentication by token. Default: none.'),
    limits: z
      .strictObject({
        /** Largest lines blob of one batch, in bytes. Default: 4 MiB. */
        maxBatchBytes: z
          .number()
          .int()
          .positive()
          .default(4 * wireDefaults.maxBatchBytes)
          .describe('Largest batch, bytes. Default: 4 MiB.'),
        /** Most lines in one batch. Default: 100000. */
        maxBatchLines: z
          .number()
          .int()
          .positive()
          .default(100_000)
          .describe('Most lines per batch. Default: 100000.'),
        /**
         * Largest gRPC message, in bytes, uncompressed: a compressed message (agents'
         * ship.compression) is refused with RESOURCE_EXHAUSTED as soon as inflating it passes
         * this, so a compression bomb costs at most about this much memory. Default: 8 MiB
         * (must exceed maxBatchBytes).
         */
        maxMessageBytes: z
          .number()
          .int()
          .positive()
          .default(wireDefaults.maxMessageBytes)
          .describe(
            'Largest gRPC message, bytes, uncompressed (a compressed message is refused as soon ' +
              'as it inflates past it). Default: 8 MiB.',
          ),
        /** Bytes of batches being written at once; above it agents get retry-after. Default: 64 MiB. */
        maxInFlightBytes: z
          .number()
          .int()
          .positive()
          .default(64 * 1024 * 1024)
          .describe('In-flight batch bytes before retry-after. Default: 64 MiB.'),
        /** Distinct agents connected at once; more are refused (RESOURCE_EXHAUSTED) and fail over. Default: 10000. */
        maxAgents: z
          .number()
          .int()
          .positive()
          .default(10_000)
          .describe('Agents connected at once. Default: 10000.'),
        /** Streams (files) one agent may have active here; more wait (retry-after). Default: 10000. */
        maxStreamsPerAgent: z
          .number()
          .int()
          .positive()
          .default(10_000)
          .describe('Active streams per agent. Default: 10000.'),
        /** Rate limit of each agent. Default: unset (unlimited). */
        agentRate: rateLimitSchema
          .optional()
          .describe('Rate limit of each agent. Default: unset (unlimited).'),
      })
      .prefault({})
      .describe('Limits enforced on every batch.'),
    /** Delay suggested to agents when a sink is failing, in ms. Default: 1000. */
    retryAfterMs: z
      .number()
      .int()
      .min(1)
      .default(1000)
      .describe('Retry-after on sink failure, ms. Default: 1000.'),
    /**
     * A stream whose writes to a sink keep failing (retried, never skipped) for this long is
     * reported stuck: a warning, `logrelay_collector_stuck_streams` and a failing `/readyz`.
     * Default: 60000.
     */
    stuckStreamMs: z
      .number()
      .int()
      .min(1000)
      .default(60_000)
      .describe(
        'No progress on a stream for this long is reported (warn log, logrelay_collector_stuck_streams, /readyz 503), ms. Default: 60000.',
      ),
    /**
     * A stream (one generation of one file) not heard from for this long has its dedup mark and
     * order state forgotten, so memory does not grow with every rotation ever seen, in ms.
     * Exactly-once sinks keep their own marks and still skip a resend after that; with an
     * at-least-once sink a batch resent after that long may be written again. Default: 3600000.
     */
    streamIdleMs: z
      .number()
      .int()
      .min(60_000)
      .default(3_600_000)
      .describe(
        'A stream idle this long has its dedup mark forgotten (exactly-once sinks keep theirs), ms. Default: 3600000.',
      ),
    /**
     * The same for a stream a newer generation of its file (same agent and path) has replaced:
     * forgotten once idle this long (at most streamIdleMs), in ms. Default: 60000.
     */
    supersededStreamIdleMs: z
      .number()
      .int()
      .min(1000)
      .default(60_000)
      .describe(
        'A stream replaced by a newer generation of its file and idle this long has its mark forgotten, ms. Default: 60000.',
      ),
    /** Delay suggested to agents when the collector is busy, in ms. Default: 200. */
    busyRetryAfterMs: z
      .number()
      .int()
      .min(1)
      .default(200)
      .describe('Retry-after when busy, ms. Default: 200.'),
    /**
     * Membership in a collector cluster through ZooKeeper (leader election, balanced assignment
     * of agents, self-fencing). Default: unset (a standalone collector).
     */
    cluster: z
      .strictObject({
        zookeeper: zookeeperConfigSchema,
        /** Address agents dial, host:port. Default: listen.host and the bound port. */
        advertise: z
          .string()
          .regex(/^[^\s:]+:\d{1,5}$/, 'use host:port')
          .optional()
          .describe('Address agents dial (host:port). Default: listen.host:port.'),
        /** How often the leader rebalances on measured load, in ms. Default: 3000. */
        rebalanceIntervalMs: z
          .number()
          .int()
          .min(100)
          .default(3000)
          .describe('Leader rebalance interval, ms. Default: 3000.'),
        /** Load imbalance tolerated before agents move (ratio of the mean). Default: 0.2. */
        tolerance: z
          .number()
          .min(0)
          .max(1)
          .default(0.2)
          .describe('Tolerated load imbalance (ratio). Default: 0.2.'),
        /** An agent moved for balance stays put this long before it may move again, ms. Default: 15000. */
        moveCooldownMs: z
          .number()
          .int()
          .min(0)
          .default(15_000)
          .describe(
            'Cooldown before an agent moved for balance may move again, ms. Default: 15000.',
          ),
      })
      .optional()
      .describe('Collector cluster on ZooKeeper. Default: unset (standalone).'),
    /** The destinations. */
    sinks: z
      .array(sinkConfigSchema)
      .min(1)
      .describe('Destinations, at least one; the type key of each selects its kind and keys.'),
    /** Topic patterns → sink names; the first matching rule wins. Default: none. */
    routes: z.array(routeConfigSchema).default([]).describe('Routing rules, first match wins.'),
    /** Sinks for topics no route matches. Default: every sink when there are no routes, else none. */
    defaultSinks: z
      .array(z.string().min(1))
      .optional()
      .describe(
        'Sinks for unrouted topics. Default: every sink when there are no routes, else none.',
      ),
    http: opsServerConfigSchema.prefault({}),
    log: logConfigSchema.prefault({}),
  })
  .superRefine((config, ctx) => {
    const names = new Set<string>();
    config.sinks.forEach((sink, i) => {
      if (names.has(sink.name))
        ctx.addIssue({
          code: 'custom',
          path: ['sinks', i, 'name'],
          message: `duplicate sink name ${sink.name}`,
        });
      names.add(sink.name);
    });
    config.sinks.forEach((sink, i) => {
      if (sink.type === 'hdfs' && sink.exactlyOnce && !sink.zookeeper && !config.cluster)
        ctx.addIssue({
          code: 'custom',
          path: ['sinks', i, 'exactlyOnce'],
          message:
            'needs ZooKeeper for its marks: set sinks[].zookeeper or cluster.zookeeper, or ' +
            'exactlyOnce: false (at-least-once across collector crashes)',
        });
    });
    config.routes.forEach((route, i) =>
      route.sinks.forEach((name, j) => {
        if (!names.has(name))
          ctx.addIssue({
            code: 'custom',
            path: ['routes', i, 'sinks', j],
            message: `no sink named ${name}`,
          });
      }),
    );
    config.defaultSinks?.forEach((name, j) => {
      if (!names.has(name))
        ctx.addIssue({
          code: 'custom',
          path: ['defaultSinks', j],
          message: `no sink named ${name}`,
        });
    });
    if (config.listen.maxConnectionsPerAddress > config.listen.maxConnections) {
      ctx.addIssue({
        code: 'custom',
        path: ['listen', 'maxConnectionsPerAddress'],
        message: 'must not be larger than listen.maxConnections',
      });
    }
    if (config.limits.maxMessageBytes <= config.limits.maxBatchBytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['limits', 'maxMessageBytes'],
        message: 'must be larger than limits.maxBatchBytes',
      });
    }
  })
  .describe('logrelay collector configuration.');

export type CollectorConfig = z.output<typeof collectorConfigSchema>;
