// Role: config — the keys of one syslog input (`syslog[]` in the agent's file), validated at
// load with their key paths; the agent adds the destination topic and the spool's tail.

import { isAbsolute } from 'node:path';
import { z } from 'zod';

/** 64 MiB: default `spool.maxFileBytes`. */
export const DEFAULT_SPOOL_FILE_BYTES = 64 * 1024 * 1024;

const listenAddress = z
  .string()
  .regex(/^[^\s:]+:\d{1,5}$/, 'use host:port (e.g. 127.0.0.1:5514; 0.0.0.0 for every interface)')
  .refine((a) => Number(a.slice(a.lastIndexOf(':') + 1)) <= 65535, 'port must be at most 65535');

/** The keys of a syslog input, except `topic` (added by the agent's schema). */
export const syslogInputFields = {
  name: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{1,64}$/, 'use 1-64 of [a-zA-Z0-9_-]')
    .describe(
      'Name of the input: its spool file is <spool.directory>/<name>.log and its metrics carry input=<name>.',
    ),
  tcp: listenAddress
    .optional()
    .describe(
      'host:port to accept syslog over TCP (RFC 6587: octet-counted or newline-delimited frames, told apart per frame). Default: unset.',
    ),
  udp: listenAddress
    .optional()
    .describe('host:port to accept syslog over UDP (one message per datagram). Default: unset.'),
  maxMessageBytes: z
    .number()
    .int()
    .min(480)
    .max(1024 * 1024)
    .default(64 * 1024)
    .describe(
      'Longest message kept, bytes; a longer one is cut to this length and counted in logrelay_agent_syslog_truncated_total. Default: 65536.',
    ),
  maxConnections: z
    .number()
    .int()
    .min(1)
    .default(256)
    .describe('Most TCP connections at once; more are refused (counted). Default: 256.'),
  spool: z
    .strictObject({
      directory: z
        .string()
        .refine(isAbsolute, 'must be an absolute path')
        .describe(
          'Folder of the spool files (created if missing). Received messages are appended there, one per line, before anything else happens to them.',
        ),
      maxFileBytes: z
        .number()
        .int()
        .min(4096)
        .default(DEFAULT_SPOOL_FILE_BYTES)
        .describe(
          'The spool file is renamed to <name>.log.<ms> and a new one started past this size, bytes; a renamed file is deleted once every line of it was acknowledged. Default: 64 MiB.',
        ),
      fsyncIntervalMs: z
        .number()
        .int()
        .min(0)
        .default(100)
        .describe(
          'Messages are written and fsynced in groups, at most this long after they arrived, ms (0: as soon as the previous fsync ends). Default: 100.',
        ),
      maxBufferedBytes: z
        .number()
        .int()
        .min(64 * 1024)
        .default(16 * 1024 * 1024)
        .describe(
          'Bytes received and not yet written that make TCP connections pause (the senders see TCP backpressure) and UDP datagrams be dropped (counted). Default: 16 MiB.',
        ),
    })
    .describe('Where received messages are kept until shipped.'),
};

/** One syslog input, as validated (topic included). */
export interface SyslogInputConfig {
  name: string;
  tcp?: string | undefined;
  udp?: string | undefined;
  topic: string;
  maxMessageBytes: number;
  maxConnections: number;
  spool: {
    directory: string;
    maxFileBytes: number;
    fsyncIntervalMs: number;
    maxBufferedBytes: number;
  };
}

/** A syslog input must listen somewhere. */
export function listensSomewhere(
  value: { tcp?: string | undefined; udp?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if (value.tcp === undefined && value.udp === undefined)
    ctx.addIssue({ code: 'custom', path: ['tcp'], message: 'give tcp, udp or both' });
}
