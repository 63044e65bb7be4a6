import { z } from 'zod';
import { serviceTlsSchema } from '../../../common/security/index.js';
import { sinkCommonFields } from '../sink-config.js';

/** Longest identifier MySQL and MariaDB accept for a table name. */
export const MYSQL_TABLE_MAX_LENGTH = 64;

/** The characters a table name may have: a topic is sanitised to these, the template must be. */
export const MYSQL_TABLE_PATTERN = /^[a-zA-Z0-9_]+$/;

/** The one token a table template may contain. */
export const TOPIC_TOKEN = '{topic}';

/** The template's literal parts: what is left after taking every `{topic}` out. */
function literalOf(template: string): string {
  return template.split(TOPIC_TOKEN).join('');
}

const urlSchema = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected mysql://user:pass@host:port/database' });
      return;
    }
    if (url.protocol !== 'mysql:') {
      ctx.addIssue({ code: 'custom', message: 'the scheme must be mysql://' });
    }
    if (!url.hostname) ctx.addIssue({ code: 'custom', message: 'the URL must name a host' });
    if (!url.username) ctx.addIssue({ code: 'custom', message: 'the URL must name a user' });
    const database = url.pathname.replace(/^\//, '');
    if (!database || database.includes('/')) {
      ctx.addIssue({ code: 'custom', message: 'the URL must name one database: .../database' });
    }
    if (url.search || url.hash) {
      ctx.addIssue({ code: 'custom', message: 'the URL takes no ?query or #fragment' });
    }
  })
  .describe(
    'Server and database as mysql://user:password@host:port/database (user and password ' +
      'percent-encoded; never logged). Port default: 3306. Required.',
  );

/**
 * `sinks[]` entry of type `mysql`: one row per line in a table per topic (DESIGN.md "Records in
 * the sinks"), created if missing, with a unique key on (stream, offset) so that a retransmitted
 * batch is stored once. A batch is written in one transaction.
 */
export const mysqlSinkConfigSchema = z
  .strictObject({
    /** Discriminator of the `sinks[]` entry. */
    type: z.literal('mysql').describe('Sink type: mysql.'),
    ...sinkCommonFields,
    /** mysql://user:pass@host:port/db. Required. */
    url: urlSchema,
    /**
     * Table name; `{topic}` is replaced by the topic with every character outside
     * [a-zA-Z0-9_] replaced by `_`. Names longer than 64 characters are cut and given a hash
     * suffix, so distinct long topics keep distinct tables. Default: logrelay_{topic}.
     */
    tableTemplate: z
      .string()
      .min(1)
      .default('logrelay_{topic}')
      .refine(
        (t) => MYSQL_TABLE_PATTERN.test(literalOf(t) || '_'),
        'only a-z, A-Z, 0-9, "_" and the token {topic} are allowed in a table name',
      )
      .refine(
        (t) =>
          literalOf(t).length <=
          (t.includes(TOPIC_TOKEN) ? MYSQL_TABLE_MAX_LENGTH - 10 : MYSQL_TABLE_MAX_LENGTH),
        `too long: a table name has at most ${MYSQL_TABLE_MAX_LENGTH} characters (with ` +
          `{topic}, keep the rest to ${MYSQL_TABLE_MAX_LENGTH - 10})`,
      )
      .describe(
        'Table name template; {topic} becomes the topic with characters outside [a-zA-Z0-9_] ' +
          'replaced by _ (at most 64 characters in all). Default: logrelay_{topic}.',
      ),
    /** Rows per multi-row INSERT statement. Default: 1000. */
    maxRowsPerInsert: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(1000)
      .describe('Most rows in one multi-row INSERT (rows). Default: 1000.'),
    /**
     * Line bytes per INSERT statement (lines travel hex-encoded, twice their size). Statements
     * are also kept under the server's max_allowed_packet, read on each connection; a line too
     * long for any statement is rejected. Default: 4000000.
     */
    maxBytesPerInsert: z
      .number()
      .int()
      .min(1024)
      .default(4_000_000)
      .describe(
        'Most line bytes in one INSERT (bytes); statements also stay under the server ' +
          'max_allowed_packet. Default: 4000000.',
      ),
    /** Connections in the pool, i.e. batches written at once. Default: 4. */
    connectionLimit: z
      .number()
      .int()
      .min(1)
      .max(256)
      .default(4)
      .describe('Most connections open to the server (connections). Default: 4.'),
    /** TLS to the server: { ca, cert, key, rejectUnauthorized }. Default: unset (plaintext). */
    tls: serviceTlsSchema
      .optional()
      .describe('TLS to the server {ca, cert, key, rejectUnauthorized}. Default: unset.'),
    /** Timeout of opening a connection. Default: 10000. */
    connectTimeoutMs: z
      .number()
      .int()
      .min(10)
      .default(10_000)
      .describe('Timeout of opening a connection (ms). Default: 10000.'),
    /**
     * Timeout of each statement; a write that hits it fails retriable and its connection is
     * dropped (the server rolls the transaction back). Default: 30000.
     */
    queryTimeoutMs: z
      .number()
      .int()
      .min(100)
      .default(30_000)
      .describe('Timeout of each statement (ms); the write then fails retriable. Default: 30000.'),
  })
  .describe('MySQL/MariaDB sink: one row per line in a table per topic, a batch per transaction.');

export type MysqlSinkConfig = z.output<typeof mysqlSinkConfigSchema>;

/** The input shape (defaults optional), for building configs in code and tests. */
export type MysqlSinkConfigInput = z.input<typeof mysqlSinkConfigSchema>;
