import { createHash } from 'node:crypto';
import { RelayError } from '../../../common/errors/relay-error.js';
import { hasFields } from '../../../common/wire/index.js';
import { FIELD_PREFIX } from '../envelope.js';
import type { SinkBatch } from '../sink.js';
import { HBASE_TABLE_MAX_LENGTH, TOPIC_TOKEN, type HbaseSinkConfig } from './config.js';
import { MAX_ROW_KEY_BYTES, rowKeyBuilder, type RowKeyConfig } from './row-key.js';

/**
 * The table of a topic: `tableTemplate` with `{topic}` replaced by the topic, every character
 * outside [a-zA-Z0-9_.-] (and a leading `.` or `-`) replaced by `_`; a name over 200 characters
 * is cut and given a hash suffix so that distinct long topics keep distinct tables. With a
 * namespace: `<namespace>:<table>`.
 */
export function tableName(template: string, topic: string, namespace?: string): string {
  const safeTopic = topic.replace(/[^a-zA-Z0-9_.-]/g, '_');
  let name = template.split(TOPIC_TOKEN).join(safeTopic);
  if (name === '') name = '_';
  if (/^[.-]/.test(name)) name = `_${name.slice(1)}`;
  if (name.length > HBASE_TABLE_MAX_LENGTH) {
    const hash = createHash('sha1').update(name).digest('hex').slice(0, 12);
    name = `${name.slice(0, HBASE_TABLE_MAX_LENGTH - 13)}_${hash}`;
  }
  return namespace ? `${namespace}:${name}` : name;
}

/** The row key layout of a config's `rowKey`. */
export function rowKeyConfig(rowKey: HbaseSinkConfig['rowKey']): RowKeyConfig {
  return rowKey.kind === 'salted'
    ? { kind: 'salted', saltBuckets: rowKey.saltBuckets }
    : { kind: 'plain' };
}

/** One row to PUT: its key and its cells (qualifier without the family → value). */
export interface HbaseRow {
  readonly key: Buffer;
  readonly cells: readonly (readonly [qualifier: string, value: Buffer])[];
  /** The line's offset, for error messages. */
  readonly offset: number;
  /** Line bytes (for chunking). */
  readonly lineBytes: number;
}

/** Bytes a KeyValue adds to its row, family, qualifier and value (lengths, timestamp, type). */
const KEY_VALUE_OVERHEAD = 4 + 4 + 2 + 1 + 8 + 1;

/**
 * The rows of a batch, one per line: `line` always (the exact bytes); with `format: json` also
 * agent, host, path, offset and time (ISO 8601; absent when the agent sent no usable time), and
 * `fields.<key>` for each of the batch's fields.
 * Refuses (SINK_REJECTED, nothing sent) a batch with a cell over `maxCellBytes` or a row key over
 * HBase's 32767 bytes, naming the line's offset and size.
 */
export function buildRows(
  batch: SinkBatch,
  config: Pick<HbaseSinkConfig, 'rowKey' | 'format' | 'columnFamily' | 'maxCellBytes'>,
): HbaseRow[] {
  const { lines, offsets } = batch;
  if (offsets.length !== lines.length) {
    throw new RelayError(
      'SINK_REJECTED',
      `batch of ${batch.streamKey} has ${lines.length} lines but ${offsets.length} offsets`,
      { details: { streamKey: batch.streamKey } },
    );
  }
  const keyOf = rowKeyBuilder(rowKeyConfig(config.rowKey), batch.agentId, batch.streamKey);
  const json = config.format === 'json';
  const agent = Buffer.from(batch.agentId);
  const host = Buffer.from(batch.host);
  const path = Buffer.from(batch.path);
  const time = Number.isFinite(batch.readTimeMs)
    ? Buffer.from(new Date(batch.readTimeMs).toISOString())
    : undefined;
  // One cell `fields.<key>` per field (FIELD_PREFIX, as Kafka's headers): built once per batch.
  const fieldCells: [string, Buffer][] = [];
  if (json && hasFields(batch.fields)) {
    for (const name in batch.fields)
      fieldCells.push([FIELD_PREFIX + name, Buffer.from(batch.fields[name] as string)]);
  }
  const familyBytes = Buffer.byteLength(config.columnFamily);
  const rows: HbaseRow[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as Buffer;
    const offset = offsets[i] as number;
    const key = Buffer.from(keyOf(offset));
    if (key.length > MAX_ROW_KEY_BYTES) {
      throw new RelayError(
        'SINK_REJECTED',
        `the row key of the line at offset ${offset} is ${key.length} bytes, over HBase's ` +
          `${MAX_ROW_KEY_BYTES} (agent id too long)`,
        { details: { offset, keyBytes: key.length } },
      );
    }
    const cellBytes = key.length + familyBytes + 'line'.length + line.length + KEY_VALUE_OVERHEAD;
    if (cellBytes > config.maxCellBytes) {
      throw new RelayError(
        'SINK_REJECTED',
        `the line at offset ${offset} (${line.length} bytes) makes a ${cellBytes}-byte cell, ` +
          `over the ${config.maxCellBytes} bytes HBase takes (maxCellBytes, the gateway's ` +
          'hbase.client.keyvalue.maxsize)',
        { details: { offset, bytes: line.length, cellBytes, limit: config.maxCellBytes } },
      );
    }
    const cells: [string, Buffer][] = [['line', line]];
    if (json) {
      cells.push(['agent', agent], ['host', host], ['path', path]);
      cells.push(['offset', Buffer.from(String(offset))]);
      if (time) cells.push(['time', time]);
      for (const cell of fieldCells) cells.push(cell);
    }
    rows.push({ key, cells, offset, lineBytes: line.length });
  }
  return rows;
}

/**
 * Splits rows into requests of at most `maxRows` rows and `maxBytes` line bytes; a row whose
 * line alone is over `maxBytes` goes in a request of its own. Order is kept.
 */
export function chunkRows<T extends { readonly lineBytes: number }>(
  rows: readonly T[],
  maxRows: number,
  maxBytes: number,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const row of rows) {
    if (current.length > 0 && (current.length >= maxRows || bytes + row.lineBytes > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(row);
    bytes += row.lineBytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** The JSON body of a REST PUT of rows (CellSetModel): every key, column and value base64. */
export function putBody(rows: readonly HbaseRow[], family: string): Buffer {
  const parts: string[] = [];
  for (const row of rows) {
    const cells = row.cells.map(
      ([qualifier, value]) =>
        `{"column":"${Buffer.from(`${family}:${qualifier}`).toString('base64')}",` +
        `"$":"${value.toString('base64')}"}`,
    );
    parts.push(`{"key":"${row.key.toString('base64')}","Cell":[${cells.join(',')}]}`);
  }
  return Buffer.from(`{"Row":[${parts.join(',')}]}`);
}

/** The JSON body that creates a table with one family keeping one version (TableSchemaModel). */
export function schemaBody(table: string, family: string): Buffer {
  return Buffer.from(
    JSON.stringify({ name: table, ColumnSchema: [{ name: family, VERSIONS: '1' }] }),
  );
}
