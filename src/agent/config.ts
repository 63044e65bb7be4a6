import { hostname } from 'node:os';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { etcdConnectionFields } from '../common/etcd/index.js';
import { opsServerConfigSchema } from '../common/http/ops-config.js';
import { logConfigSchema } from '../common/logging/logger.js';
import { clientTlsConfigSchema, secretSchema } from '../common/security/index.js';
import { shipCompressions, wireDefaults } from '../common/wire/index.js';
import { zookeeperConfigSchema } from '../common/zk/zk-config.js';
import { checkpointConfigSchema } from './checkpoint/config.js';
import { globProblem } from './discovery/glob.js';
import { recordConfigFields } from './records/config.js';
import { fieldsWireBytes, tailFieldsSchema } from './records/fields.js';
import { listensSomewhere, syslogInputFields } from './syslog/config.js';

/** A glob that compiles: a bad one (`[z-a]`) is refused at load, naming its key path. */
const glob = z.string().superRefine((value, ctx) => {
  const problem = globProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const topic = z
  .string()
  .regex(/^[a-zA-Z0-9._-]{1,249}$/, 'use 1-249 of [a-zA-Z0-9._-]')
  .refine((t) => t !== '.' && t !== '..', 'must not be . or ..');

/** One set of files to collect. */
export const tailConfigSchema = z
  .strictObject({
    /** Absolute path globs (`*`, `?`, `[..]`, `**`); one that does not compile is refused. */
    paths: z
      .array(glob.refine(isAbsolute, 'must be an absolute path'))
      .min(1)
      .describe('Absolute path globs (`*`, `?`, `[..]`, `**`).'),
    /** Globs of paths to leave alone (e.g. rotated `*.gz`). Default: none. */
    exclude: z.array(glob).default([]).describe('Globs of paths to leave alone. Default: none.'),
    /** Destination topic. */
    topic: topic.describe('Destination topic.'),
    /**
     * Where to start reading a file never seen before: `beginning` or `end`. Default: beginning.
     * Files that appear after the agent started are always read from the beginning.
     */
    startAt: z
      .enum(['beginning', 'end'])
      .default('beginning')
      .describe('Where a file never seen before starts. Default: beginning.'),
    /**
     * Files whose first bytes are a gzip, bzip2, xz or zstd magic number (a rotated generation
     * compressed by logrotate, matched by a glob like `app.log*`): `skip` them (logged once per
     * file, counted in `logrelay_agent_compressed_files_skipped_total`), or `read` them as they
     * are, bytes and all. They are never decompressed. Default: skip.
     */
    compressed: z
      .enum(['skip', 'read'])
      .default('skip')
      .describe(
        'Files starting with a gzip, bzip2, xz or zstd magic number: skip (logged once, counted) or read as they are. Never decompressed. Default: skip.',
      ),
    /** Multiline events, line filters and the files' encoding (see records/config.ts). */
    ...recordConfigFields,
    /** Key/values sent with every record of the tail (see records/fields.ts). Default: none. */
    fields: tailFieldsSchema,
  })
  .describe('A set of files to collect.');

export type TailConfig = z.output<typeof tailConfigSchema>;

/** The agent's configuration file (`logrelay agent -c agent.yaml`). */
export const agentConfigSchema = z
  .strictObject({
    /** Stable agent id (unique across the fleet; part of every stream key). Default: the host name. */
    id: z
      .string()
      .regex(/^[a-zA-Z0-9._-]{1,128}$/, 'use 1-128 of [a-zA-Z0-9._-]')
      .default(() =>
        hostname()
          .replace(/[^a-zA-Z0-9._-]/g, '-')
          .slice(0, 128),
      )
      .describe('Stable agent id. Default: the host name.'),
    /** Host name sent with every batch. Default: the host name. */
    host: z
      .string()
      .min(1)
      .default(() => hostname())
      .describe('Host name sent with batches. Default: the host name.'),
    /** Collector gRPC addresses (`host:port`), tried in order; on a broken connection the next one. */
    collectors: z
      .array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'use host:port'))
      .default([])
      .describe(
        'Collector addresses host:port, tried in order (failover). Required unless cluster is set.',
      ),
    /**
     * Find collectors through the cluster's ZooKeeper (the leader's assignment, else a hash of
     * the live members) instead of, or before, the static list. Default: unset.
     */
    cluster: z
      .strictObject({
        zookeeper: zookeeperConfigSchema,
        /** How often this agent's load and streams are reported and its collector re-checked, ms. Default: 3000. */
        reportIntervalMs: z
          .number()
          .int()
          .min(100)
          .default(3000)
          .describe('Report and re-check interval, ms. Default: 3000.'),
      })
      .optional()
      .describe('Collector discovery through ZooKeeper. Default: unset (static list).'),
    tails: z.array(tailConfigSchema).default([]).describe('What to collect.'),
    /**
     * Syslog receivers (RFC 5424 and 3164 over TCP and UDP). Each appends what it receives to a
     * spool file that the agent then ships like a tailed file. Default: none.
     */
    syslog: z
      .array(
        z
          .strictObject({
            ...syslogInputFields,
            topic: topic.describe('Destination topic of the received messages.'),
          })
          .superRefine(listensSomewhere),
      )
      .default([])
      .describe(
        'Syslog inputs: messages received over TCP/UDP are appended to a local spool file (fsynced in groups), which is shipped like any tailed file. Default: none.',
      ),
    /** How often globs are expanded again to find new files, in ms. Default: 1000. */
    scanIntervalMs: z
      .number()
      .int()
      .min(10)
      .default(1000)
      .describe('Glob re-scan interval, ms. Default: 1000.'),
    /** How often open files are checked for new data, in ms. Default: 100. */
    pollIntervalMs: z
      .number()
      .int()
      .min(5)
      .default(100)
      .describe('File poll interval, ms. Default: 100.'),
    /** Bytes at the start of a file hashed into its identity. Default: 1024. */
    fingerprintBytes: z
      .number()
      .int()
      .min(16)
      .max(65536)
      .default(1024)
      .describe('Fingerprint length, bytes. Default: 1024.'),
    files: z
      .strictObject({
        /**
         * Most files the agent holds open at once (descriptors for reading). Files with data
         * beyond this wait for a descriptor and are read in turns, oldest waiter first. Must stay
         * below the process's open-files limit (RLIMIT_NOFILE), which also covers sockets and the
         * registry: at start the agent warns and uses the limit minus 64 when it does not.
         * Default: 1024.
         */
        maxOpenFiles: z
          .number()
          .int()
          .min(1)
          .max(1_000_000)
          .default(1024)
          .describe(
            'Most files held open at once; the rest wait for a descriptor, read in turns. Kept below RLIMIT_NOFILE minus 64. Default: 1024.',
          ),
        /**
         * A file that gave no new line for this long and has everything acknowledged is closed;
         * its offset and identity are kept and it is opened again (identity checked) when a scan
         * sees it change. 0: never close idle files. In ms. Default: 300000 (5 minutes).
         */
        closeInactiveMs: z
          .number()
          .int()
          .min(0)
          .default(300_000)
          .describe(
            'Idle time (no new line, all acknowledged) after which a file is closed until it changes, ms; 0 never. Default: 300000.',
          ),
      })
      .prefault({})
      .describe('Bounds on the files held open.'),
    lines: z
      .strictObject({
        /** Longest line kept whole, in bytes. Default: 1048576 (1 MiB). */
        maxBytes: z
          .number()
          .int()
          .min(16)
          .default(1024 * 1024)
          .describe('Longest line kept, bytes. Default: 1 MiB.'),
        /** What happens to longer lines: `truncate` (keep maxBytes) or `skip`. Both are counted. Default: truncate. */
        onTooLong: z
          .enum(['truncate', 'skip'])
          .default('truncate')
          .describe('truncate or skip longer lines. Default: truncate.'),
        /**
         * A partial last line (no newline yet) of a file that was rotated away or deleted is sent
         * once the file has been idle this long, in ms. Default: 5000.
         */
        partialFlushMs: z
          .number()
          .int()
          .min(0)
          .default(5000)
          .describe(
            'Idle time before a rotated file’s partial last line is sent, ms. Default: 5000.',
          ),
      })
      .prefault({})
      .describe('Line splitting.'),
    batch: z
      .strictObject({
        /** Batch size limit, in bytes of line content. Default: 1048576 (1 MiB). */
        maxBytes: z
          .number()
          .int()
          .min(1024)
          .default(wireDefaults.maxBatchBytes)
          .describe('Batch size, bytes. Default: 1 MiB.'),
        /** Most lines per batch. Default: 10000. */
        maxLines: z
          .number()
          .int()
          .min(1)
          .default(wireDefaults.maxBatchLines)
          .describe('Lines per batch. Default: 10000.'),
        /** Longest a line waits for its batch to fill, in ms. Default: 200. */
        maxWaitMs: z.number().int().min(0).default(200).describe('Batch linger, ms. Default: 200.'),
      })
      .prefault({})
      .describe('Batching per stream.'),
    ship: z
      .strictObject({
        /** Batches in flight (sent, not answered) per connection. Default: 8. */
        window: z
          .number()
          .int()
          .min(1)
          .max(1024)
          .default(8)
          .describe('Unanswered batches per connection. Default: 8.'),
        /** First retry delay after an error or disconnect, in ms (doubles, with jitter). Default: 200. */
        retryInitialMs: z
          .number()
          .int()
          .min(1)
          .default(200)
          .describe('First retry delay, ms. Default: 200.'),
        /** Longest retry delay, in ms. Default: 30000. */
        retryMaxMs: z
          .number()
          .int()
          .min(1)
          .default(30_000)
          .describe('Longest retry delay, ms. Default: 30000.'),
        /** Largest gRPC message, in bytes, before compression. Default: 8 MiB. */
        maxMessageBytes: z
          .number()
          .int()
          .positive()
          .default(wireDefaults.maxMessageBytes)
          .describe('Largest gRPC message, bytes, before compression. Default: 8 MiB.'),
        /** Keepalive ping interval, in ms: how a silently dead collector is noticed. Default: 10000. */
        keepaliveMs: z
          .number()
          .int()
          .min(1000)
          .default(10_000)
          .describe('Keepalive ping interval, ms. Default: 10000.'),
        /**
         * Longest wait for a batch's answer, in ms; past it the connection is taken for broken
         * and everything unanswered is resent to the next collector. Default: 60000.
         */
        ackTimeoutMs: z
          .number()
          .int()
          .min(1000)
          .default(60_000)
          .describe('Longest wait for an answer before failing over, ms. Default: 60000.'),
        /**
         * Compression of the batches on the wire (gRPC message compression, negotiated per
         * stream with the `grpc-encoding` header; every collector accepts all three). Measured
         * (npm run bench): gzip saves 78 % of the bytes of access-log lines for about 25 ms of
         * agent CPU per MB (4-5 times the agent's CPU without it) and caps one agent near
         * 25 MB/s. Turn it on when agents ship over a WAN or a metered link. Default: none.
         */
        compression: z
          .enum(shipCompressions)
          .default('none')
          .describe(
            'Wire compression of batches: none, gzip or deflate (zlib level 6, gRPC message ' +
              'compression; collectors accept all three). gzip saves ~78 % of the bytes of ' +
              'access-log lines for ~25 ms of agent CPU per MB (4-5x the agent CPU); for WAN or ' +
              'metered links. Default: none.',
          ),
        /** TLS towards the collectors (and a client certificate for mTLS). Default: unset (plaintext). */
        tls: clientTlsConfigSchema
          .optional()
          .describe(
            'TLS towards the collectors (client certificate for mTLS). Default: unset (plaintext).',
          ),
        /** Token presented to collectors that require one: { value } or { file }. Default: unset. */
        token: secretSchema
          .optional()
          .describe(
            'Token for collectors that require one: { value } or { file }. Default: unset.',
          ),
      })
      .prefault({})
      .describe('Shipping to collectors.'),
    checkpoint: checkpointConfigSchema
      .extend({
        /** Registry file. Default: ./logrelay-agent.registry.json */
        path: z
          .string()
          .min(1)
          .default('./logrelay-agent.registry.json')
          .describe(
            'Registry file path (JSON); <path>.prev, <path>.tmp and <path>.corrupt live beside ' +
              'it. Default: ./logrelay-agent.registry.json',
          ),
      })
      .prefault({})
      .describe(
        'Where acknowledged offsets are kept, and when entries of gone or idle files are dropped.',
      ),
    remote: z
      .strictObject({
        etcd: z
          .strictObject({
            ...etcdConnectionFields,
            /** The key this node's tails are published at (`t_logagent_node.key_path`). */
            key: z.string().min(1).describe('The etcd key holding this node’s tails.'),
          })
          .describe('The etcd to read this node’s tails from, and their key.'),
        /**
         * Absolute folders remote tails may read below. A remote tail outside them (or a symlink
         * leading outside) is refused and logged: the control plane cannot widen this list.
         */
        allow: z
          .array(z.string().refine(isAbsolute, 'must be an absolute path'))
          .default([])
          .describe('Folders remote tails may read below. Default: none.'),
        /** Last config received, kept for restarts during an etcd outage. Default: ./logrelay-agent.remote.json */
        statePath: z
          .string()
          .min(1)
          .default('./logrelay-agent.remote.json')
          .describe('Where the last remote config is kept.'),
        /** Re-read interval, in ms (repairs a silent watch). Default: 5000. */
        pollMs: z
          .number()
          .int()
          .min(100)
          .default(5000)
          .describe('etcd re-read interval, ms. Default: 5000.'),
      })
      .optional()
      .describe('Tails from the control plane (etcd), applied live. Default: unset (none).'),
    http: opsServerConfigSchema.prefault({}),
    log: logConfigSchema.prefault({}),
  })
  .superRefine((config, ctx) => {
    if (config.collectors.length === 0 && !config.cluster) {
      ctx.addIssue({
        code: 'custom',
        path: ['collectors'],
        message: 'give at least one collector, or a cluster section to find them',
      });
    }
    if (config.batch.maxBytes + 64 * 1024 > config.ship.maxMessageBytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['ship', 'maxMessageBytes'],
        message: 'must exceed batch.maxBytes by 64 KiB',
      });
    }
    config.tails.forEach((tail, i) => {
      // Fields ride in every batch on top of its lines and the 64 KiB of framing headroom.
      const extra = fieldsWireBytes(tail.fields);
      if (extra > 0 && config.batch.maxBytes + 64 * 1024 + extra > config.ship.maxMessageBytes) {
        ctx.addIssue({
          code: 'custom',
          path: ['tails', i, 'fields'],
          message: `take ${extra} bytes per batch: ship.maxMessageBytes must exceed batch.maxBytes by 64 KiB plus that`,
        });
      }
      if (tail.multiline && tail.multiline.maxBytes > config.batch.maxBytes) {
        ctx.addIssue({
          code: 'custom',
          path: ['tails', i, 'multiline', 'maxBytes'],
          message: 'must not exceed batch.maxBytes',
        });
      }
    });
    const names = new Set<string>();
    config.syslog.forEach((input, i) => {
      if (names.has(input.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['syslog', i, 'name'],
          message: `another syslog input is named ${input.name}`,
        });
      }
      names.add(input.name);
      if (input.maxMessageBytes > config.lines.maxBytes) {
        ctx.addIssue({
          code: 'custom',
          path: ['syslog', i, 'maxMessageBytes'],
          message: 'must not exceed lines.maxBytes',
        });
      }
    });
    if (config.lines.maxBytes > config.batch.maxBytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['lines', 'maxBytes'],
        message: 'must not exceed batch.maxBytes',
      });
    }
  })
  .describe('logrelay agent configuration.');

export type AgentConfig = z.output<typeof agentConfigSchema>;
