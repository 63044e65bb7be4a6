import { z } from 'zod';

/** The Hive Metastore's default Thrift port. */
export const DEFAULT_METASTORE_PORT = 9083;

/** Where a metastore listens, from a `thrift://host[:port]` URI. */
export interface MetastoreAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `thrift://host[:port]` (the form of Hive's `metastore.thrift.uris`, one URI). The port
 * defaults to 9083; IPv6 hosts are written in brackets (`thrift://[::1]:9083`). Returns a reason
 * string instead of an address when the URI is not usable.
 */
export function parseMetastoreUri(uri: string): MetastoreAddress | string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'not a URI (expected thrift://host:port)';
  }
  if (url.protocol !== 'thrift:') return `scheme ${url.protocol} is not thrift:`;
  if (url.hostname === '') return 'has no host';
  if (url.username !== '' || url.password !== '') return 'must not carry credentials';
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
    return 'must be thrift://host:port, without a path, query or fragment';
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? DEFAULT_METASTORE_PORT : Number(url.port);
  return { host, port };
}

/** Hive lower-cases database and table names; accepting only the lower-case form avoids surprises. */
const hiveName = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,127}$/, 'must be lower-case letters, digits and _ (Hive names)');

/**
 * `hive:` of an HDFS sink: registers the sink's topic folder as an EXTERNAL Hive table (one
 * `line string` column, partitioned by `dt` and `hour`) in a Hive Metastore, and each
 * partition folder as a partition once files land in it, so Hive, Spark or Trino can query the
 * lines without `MSCK REPAIR TABLE`.
 */
export const hiveConfigSchema = z
  .strictObject({
    /**
     * The metastore's Thrift address (TBinaryProtocol over a plain socket, the standalone
     * metastore's default; SASL/Kerberos and framed transport are not supported). Default:
     * thrift://127.0.0.1:9083.
     */
    metastoreUri: z
      .string()
      .default(`thrift://127.0.0.1:${DEFAULT_METASTORE_PORT}`)
      .superRefine((uri, ctx) => {
        const parsed = parseMetastoreUri(uri);
        if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
      })
      .describe('Hive Metastore Thrift URI, thrift://host:port. Default: thrift://127.0.0.1:9083.'),
    /**
     * Database of the table; created (with the metastore's default location) when missing and
     * `createTable` is true. Default: default.
     */
    database: hiveName
      .default('default')
      .describe('Hive database of the table (lower case). Default: default.'),
    /** Name of the EXTERNAL table whose location is the topic folder. Required. */
    table: hiveName.describe('Hive table name (lower case). Required.'),
    /**
     * Timeout of one metastore call, in ms, connecting included. Creating a table or a partition
     * makes the metastore check its folder on HDFS, so allow for a slow NameNode. Default: 30000.
     */
    requestTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(30_000)
      .describe('Timeout of one metastore call, in ms. Default: 30000.'),
    /**
     * Create the database and the table when they are missing. false: they must exist (a
     * missing one is an error, HIVE_REFUSED); an existing table is never altered either way.
     * Default: true.
     */
    createTable: z
      .boolean()
      .default(true)
      .describe('Create the database and table when missing. Default: true.'),
  })
  .describe('Hive Metastore registration of the files as an EXTERNAL table with partitions.');

export type HiveConfig = z.output<typeof hiveConfigSchema>;
