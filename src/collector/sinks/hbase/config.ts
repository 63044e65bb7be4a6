import { z } from 'zod';
import { passwordSchema, serviceTlsSchema } from '../../../common/security/index.js';
import { sinkCommonFields } from '../sink-config.js';
import { MAX_SALT_BUCKETS } from './row-key.js';

/** The one token a table template may contain. */
export const TOPIC_TOKEN = '{topic}';

/** Characters of an HBase table qualifier (the name without its namespace). */
export const HBASE_TABLE_CHARS = /^[a-zA-Z0-9_.-]*$/;

/** An HBase namespace name. */
export const HBASE_NAMESPACE_PATTERN = /^[a-zA-Z0-9_]+$/;

/** A column family name this sink accepts: printable, no ':', not starting with '.' or '-'. */
export const HBASE_FAMILY_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9_.-]*$/;

/** Longest table qualifier this sink makes; longer ones get a hash suffix (see tableName). */
export const HBASE_TABLE_MAX_LENGTH = 200;

/** HBase's default hbase.client.keyvalue.maxsize (10 MiB), which the REST gateway enforces. */
export const DEFAULT_MAX_CELL_BYTES = 10 * 1024 * 1024;

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
      ctx.addIssue({ code: 'custom', message: 'expected http(s)://host:port' });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: 'the scheme must be http:// or https://' });
    }
    if (url.username || url.password) {
      ctx.addIssue({ code: 'custom', message: 'put credentials in auth, not in the URL' });
    }
    if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
      ctx.addIssue({ code: 'custom', message: 'the URL takes no path, ?query or #fragment' });
    }
  })
  .default('http://127.0.0.1:8080')
  .describe(
    'REST gateway (Stargate) as http(s)://host:port; https uses tls. ' +
      'Default: http://127.0.0.1:8080.',
  );

/** `rowKey`: see row-key.ts for the layouts and their trade-offs. */
const rowKeySchema = z
  .discriminatedUnion('kind', [
    z
      .strictObject({
        kind: z.literal('plain').describe('Row key <agent>:<stream hash>:<offset, 20 digits>.'),
      })
      .describe('Plain keys: a stream reads back in order with one scan.'),
    z
      .strictObject({
        kind: z
          .literal('salted')
          .describe('Row key <bucket, 2 digits>:<agent>:<stream hash>:<offset, 20 digits>.'),
        saltBuckets: z
          .number()
          .int()
          .min(2)
          .max(MAX_SALT_BUCKETS)
          .default(16)
          .describe(
            'Buckets (2-100) the writes spread over; pre-split the table at 01..<n-1>. ' +
              'Default: 16.',
          ),
      })
      .describe(
        'Salted keys: writes spread over a pre-split table; a stream reads back in n scans.',
      ),
  ])
  .prefault({ kind: 'plain' })
  .describe(
    'Row key layout: plain (default; a stream is one ordered range, but its writes go to one ' +
      'region) or salted {saltBuckets} (writes spread over pre-split regions; reading a stream ' +
      'takes one scan per bucket). Keys derive from (stream key, offset): a resent line ' +
      'overwrites its own row.',
  );

/**
 * `sinks[]` entry of type `hbase`: one row per line (DESIGN.md "Records in the sinks"), written
 * through HBase's REST gateway; the row key derives from (stream key, offset), so a
 * retransmitted batch overwrites its own rows: exactly-once by construction.
 */
export const hbaseSinkConfigSchema = z
  .strictObject({
    /** Discriminator of the `sinks[]` entry. */
    type: z.literal('hbase').describe('Sink type: hbase.'),
    ...sinkCommonFields,
    /** REST gateway base URL. Default: http://127.0.0.1:8080. */
    url: urlSchema,
    /** Namespace of the tables; it must exist (the sink creates tables, not namespaces). */
    namespace: z
      .string()
      .regex(HBASE_NAMESPACE_PATTERN, 'only a-z, A-Z, 0-9 and "_" are allowed in a namespace')
      .optional()
      .describe(
        'Namespace of the tables, [a-zA-Z0-9_]; it must exist. Default: unset (the default ' +
          'namespace).',
      ),
    /**
     * Table name; `{topic}` becomes the topic with every character outside [a-zA-Z0-9_.-]
     * replaced by `_` (and a leading `.` or `-` too). Default: logs_{topic}.
     */
    tableTemplate: z
      .string()
      .min(1)
      .default('logs_{topic}')
      .refine(
        (t) => HBASE_TABLE_CHARS.test(literalOf(t)),
        'only a-z, A-Z, 0-9, "_", ".", "-" and the token {topic} are allowed in a table name',
      )
      .refine((t) => !/^[.-]/.test(t), 'a table name must not start with "." or "-"')
      .refine(
        (t) => literalOf(t).length <= HBASE_TABLE_MAX_LENGTH - 20,
        `too long: keep the template to ${HBASE_TABLE_MAX_LENGTH - 20} characters`,
      )
      .describe(
        'Table name template; {topic} becomes the topic with characters outside [a-zA-Z0-9_.-] ' +
          'replaced by _. Default: logs_{topic}.',
      ),
    /** Column family of every cell. Default: d. */
    columnFamily: z
      .string()
      .min(1)
      .max(64)
      .regex(HBASE_FAMILY_PATTERN, 'only a-z, A-Z, 0-9, "_", ".", "-", not starting with . or -')
      .default('d')
      .describe('Column family of the cells ([a-zA-Z0-9_.-], 1-64 characters). Default: d.'),
    /**
     * Create a missing table (one family, VERSIONS 1) on its first write; an existing table is
     * never altered. false: a missing table fails writes retriable until an operator creates it.
     */
    createTable: z
      .boolean()
      .default(true)
      .describe(
        'Create a missing table with the family (VERSIONS 1); never alters an existing one. ' +
          'false: writes to a missing table fail retriable until it exists. Default: true.',
      ),
    rowKey: rowKeySchema,
    /**
     * `json`: cells line (exact bytes), agent, host, path, offset and time (ISO 8601), and
     * `fields.<key>` per field of the agent's tail; `raw`: only line.
     */
    format: z
      .enum(['json', 'raw'])
      .default('json')
      .describe(
        'json = cells line (exact bytes), agent, host, path, offset, time (ISO 8601), and ' +
          'fields.<key> per field of the agent’s tail; raw = only the line cell. Default: json.',
      ),
    /** Timeout of one HTTP request, i.e. of one chunk of a batch (ms). Default: 30000. */
    timeoutMs: z
      .number()
      .int()
      .min(100)
      .default(30_000)
      .describe('Timeout of one HTTP request to the gateway (ms); then retriable. Default: 30000.'),
    /** Most rows in one PUT; a bigger batch is sent as several. Default: 1000. */
    maxRowsPerRequest: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(1000)
      .describe('Most rows (lines) in one PUT request (rows). Default: 1000.'),
    /**
     * Line bytes in one PUT (they travel base64-encoded, 4/3 of their size); a longer line goes
     * alone. Default: 4000000.
     */
    maxBytesPerRequest: z
      .number()
      .int()
      .min(1024)
      .default(4_000_000)
      .describe(
        'Most line bytes in one PUT (bytes; a longer line is sent alone). Default: 4000000.',
      ),
    /**
     * The largest cell the gateway takes: its hbase.client.keyvalue.maxsize (row key, family,
     * qualifier and value). A line that cannot fit is rejected before anything is sent.
     */
    maxCellBytes: z
      .number()
      .int()
      .min(1024)
      .default(DEFAULT_MAX_CELL_BYTES)
      .describe(
        "Largest cell (bytes): the gateway's hbase.client.keyvalue.maxsize; a longer line " +
          'is rejected (not retriable). Default: 10485760.',
      ),
    /** TLS to an https gateway: { ca, cert, key, rejectUnauthorized }. Default: unset. */
    tls: serviceTlsSchema
      .optional()
      .describe('TLS to an https:// gateway {ca, cert, key, rejectUnauthorized}. Default: unset.'),
    /**
     * HTTP basic authentication (a gateway behind a proxy that checks it). Kerberos/SPNEGO,
     * HBase REST's own authentication, is not supported.
     */
    auth: z
      .strictObject({
        user: z.string().min(1).describe('User name. Required.'),
        password: passwordSchema.describe('Password: {value} or {file}. Required.'),
      })
      .optional()
      .describe(
        'HTTP basic authentication {user, password}. Kerberos/SPNEGO is not supported. ' +
          'Default: unset.',
      ),
  })
  .superRefine((config, ctx) => {
    if (config.tls && config.url.startsWith('http:')) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'tls needs an https:// url' });
    }
  })
  .describe('HBase sink (REST gateway): one row per line, keyed by stream and offset.');

export type HbaseSinkConfig = z.output<typeof hbaseSinkConfigSchema>;

/** The input shape (defaults optional), for building configs in code and tests. */
export type HbaseSinkConfigInput = z.input<typeof hbaseSinkConfigSchema>;
