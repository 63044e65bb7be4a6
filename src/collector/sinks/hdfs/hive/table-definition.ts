import { RelayError } from '../../../../common/errors/relay-error.js';

/*
 * The slice of the Hive Metastore's Thrift model (hive_metastore.thrift, Hive 4) that logrelay
 * writes and reads, as plain data. Field names follow the IDL; thrift-codec.ts maps them to
 * field ids.
 */

export interface FieldSchema {
  readonly name: string;
  readonly type: string;
  readonly comment?: string;
}

export interface SerDeInfo {
  readonly name?: string;
  readonly serializationLib: string;
  readonly parameters: Readonly<Record<string, string>>;
}

export interface StorageDescriptor {
  readonly cols: readonly FieldSchema[];
  readonly location: string;
  readonly inputFormat: string;
  readonly outputFormat: string;
  readonly compressed: boolean;
  /** -1: not bucketed. */
  readonly numBuckets: number;
  readonly serdeInfo: SerDeInfo;
  readonly bucketCols: readonly string[];
  readonly parameters: Readonly<Record<string, string>>;
}

export interface HiveDatabase {
  readonly name: string;
  readonly description?: string;
  /** Unset: the metastore puts it under its warehouse folder. */
  readonly locationUri?: string;
  readonly parameters: Readonly<Record<string, string>>;
  readonly ownerName?: string;
}

export interface HiveTable {
  readonly tableName: string;
  readonly dbName: string;
  readonly owner: string;
  /** Seconds since the epoch. */
  readonly createTime: number;
  readonly sd: StorageDescriptor;
  readonly partitionKeys: readonly FieldSchema[];
  readonly parameters: Readonly<Record<string, string>>;
  /** MANAGED_TABLE, EXTERNAL_TABLE, VIRTUAL_VIEW... */
  readonly tableType: string;
}

export interface HivePartition {
  /** One value per partition key, in the table's key order. */
  readonly values: readonly string[];
  readonly dbName: string;
  readonly tableName: string;
  /** Seconds since the epoch. */
  readonly createTime: number;
  readonly sd: StorageDescriptor;
  readonly parameters: Readonly<Record<string, string>>;
}

/** The value of each partition key of a logrelay table. */
export interface PartitionValues {
  /** Day, as the sink's path writes it (e.g. 2026-12-07). */
  readonly dt: string;
  /** Hour of the day (e.g. 16). */
  readonly hour: string;
}

export type HiveCompression = 'none' | 'gzip';

/** Partition keys of every logrelay table, in order: a folder per day, then per hour. */
export const PARTITION_KEYS: readonly FieldSchema[] = [
  { name: 'dt', type: 'string', comment: 'day (UTC) the lines were written' },
  { name: 'hour', type: 'string', comment: 'hour of the day (UTC)' },
];

/** The one column: a whole log line. */
export const LINE_COLUMN: FieldSchema = { name: 'line', type: 'string', comment: 'one log line' };

/** Plain text files; Hadoop's codecs pick gzip by the `.gz` extension, so one table reads both. */
export const TEXT_INPUT_FORMAT = 'org.apache.hadoop.mapred.TextInputFormat';
export const TEXT_OUTPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat';
export const LAZY_SIMPLE_SERDE = 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe';
/**
 * Field separator of the SerDe: \u0001 (Hive's default) is in practice absent from log lines,
 * so a line is never split into columns (a tab or comma would be).
 */
export const FIELD_DELIMITER = '\u0001';

/** Folder name of a partition under the table's location, as Hive names it: dt=…/hour=…. */
export function partitionName(values: PartitionValues): string {
  return `dt=${values.dt}/hour=${values.hour}`;
}

/**
 * Characters Hive escapes (as %XX) in a partition folder name (FileUtils.escapePathName): a value
 * holding one would make Hive's folder differ from the sink's.
 */
// eslint-disable-next-line no-control-regex
const ESCAPED_IN_PATH = /[\u0000-\u001f"#%'*/:=?\\\u007f{[\]^]/;

/**
 * Checks partition values before they reach the metastore: non-empty and free of characters that
 * Hive would escape in folder names. Throws HIVE_BAD_PARTITION (not retriable).
 */
export function checkPartitionValues(values: PartitionValues): void {
  for (const [key, value] of Object.entries(values) as [string, string][]) {
    if (value === '') {
      throw new RelayError('HIVE_BAD_PARTITION', `partition value ${key} is empty`);
    }
    if (ESCAPED_IN_PATH.test(value)) {
      throw new RelayError(
        'HIVE_BAD_PARTITION',
        `partition value ${key}=${JSON.stringify(value)} holds a character Hive escapes in folder names`,
      );
    }
  }
}

/** Checks that a table or partition location is an absolute URI with a scheme (hdfs://...). */
export function checkLocation(location: string): void {
  let url: URL | undefined;
  try {
    url = new URL(location);
  } catch {
    url = undefined;
  }
  if (!url || url.pathname === '' || !url.pathname.startsWith('/')) {
    throw new RelayError(
      'HIVE_BAD_LOCATION',
      `location ${JSON.stringify(location)} must be a full URI such as hdfs://namenode:8020/logrelay/topic`,
    );
  }
}

/** The storage descriptor shared by the table and its partitions (a partition has its own location). */
export function textStorage(location: string, compression: HiveCompression): StorageDescriptor {
  return {
    cols: [LINE_COLUMN],
    location,
    inputFormat: TEXT_INPUT_FORMAT,
    outputFormat: TEXT_OUTPUT_FORMAT,
    compressed: compression === 'gzip',
    numBuckets: -1,
    serdeInfo: {
      serializationLib: LAZY_SIMPLE_SERDE,
      parameters: { 'field.delim': FIELD_DELIMITER, 'serialization.format': FIELD_DELIMITER },
    },
    bucketCols: [],
    parameters: {},
  };
}

/** Owner recorded on what logrelay creates. */
export const OWNER = 'logrelay';

/**
 * The EXTERNAL table logrelay creates over a topic folder: dropping it in Hive leaves the files.
 * `nowSeconds` is the creation time (seconds since the epoch).
 */
export function externalTable(args: {
  database: string;
  table: string;
  location: string;
  compression: HiveCompression;
  nowSeconds: number;
}): HiveTable {
  return {
    tableName: args.table,
    dbName: args.database,
    owner: OWNER,
    createTime: args.nowSeconds,
    sd: textStorage(args.location, args.compression),
    partitionKeys: PARTITION_KEYS,
    parameters: {
      EXTERNAL: 'TRUE',
      'logrelay.compression': args.compression,
      comment: 'log lines written by logrelay',
    },
    tableType: 'EXTERNAL_TABLE',
  };
}

/** A partition of a logrelay table: the table's storage with the partition folder as location. */
export function tablePartition(args: {
  table: HiveTable | undefined;
  database: string;
  tableName: string;
  values: PartitionValues;
  location: string;
  nowSeconds: number;
}): HivePartition {
  const compression: HiveCompression = args.table?.sd.compressed ? 'gzip' : 'none';
  const sd = args.table
    ? { ...args.table.sd, location: args.location }
    : textStorage(args.location, compression);
  return {
    values: [args.values.dt, args.values.hour],
    dbName: args.database,
    tableName: args.tableName,
    createTime: args.nowSeconds,
    sd,
    parameters: {},
  };
}

/** Partition key names of a table, for comparison with PARTITION_KEYS. */
export function partitionKeyNames(table: HiveTable): string[] {
  return table.partitionKeys.map((k) => k.name);
}

/** True when the table's partition keys are exactly dt, hour (names; Hive stores them lower-case). */
export function hasLogrelayPartitionKeys(table: HiveTable): boolean {
  const names = partitionKeyNames(table);
  return (
    names.length === PARTITION_KEYS.length && names.every((n, i) => n === PARTITION_KEYS[i]?.name)
  );
}
