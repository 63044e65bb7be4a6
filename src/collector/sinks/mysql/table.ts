import { createHash } from 'node:crypto';
import { RelayError } from '../../../common/errors/relay-error.js';
import { MYSQL_TABLE_MAX_LENGTH, MYSQL_TABLE_PATTERN, TOPIC_TOKEN } from './config.js';

/**
 * The table of `topic`: the template with `{topic}` replaced by the topic, every character
 * outside [a-zA-Z0-9_] turned into `_`. A name over 64 characters is cut and ends in a hash of
 * the topic, so long topics that share a prefix keep apart. Topics that differ only in
 * sanitised characters share a table, which is harmless: rows are keyed by stream and offset.
 */
export function tableName(template: string, topic: string): string {
  const sanitised = topic.replace(/[^a-zA-Z0-9_]/g, '_');
  let name = template.split(TOPIC_TOKEN).join(sanitised);
  if (name.length > MYSQL_TABLE_MAX_LENGTH) {
    const hash = createHash('sha256').update(topic).digest('hex').slice(0, 8);
    name = `${name.slice(0, MYSQL_TABLE_MAX_LENGTH - 9)}_${hash}`;
  }
  return checkedIdentifier(name);
}

/** `name` if it is a table name we may quote, otherwise a (non-retriable) RelayError. */
export function checkedIdentifier(name: string): string {
  if (name.length > MYSQL_TABLE_MAX_LENGTH || !MYSQL_TABLE_PATTERN.test(name)) {
    throw new RelayError('SINK_REJECTED', `invalid MySQL table name ${JSON.stringify(name)}`, {
      details: { table: name },
    });
  }
  return name;
}

/** `name` quoted as an identifier; only names that passed `checkedIdentifier` get here. */
export function quoteIdentifier(name: string): string {
  return `\`${checkedIdentifier(name)}\``;
}

/** The columns a row has, in the order of the INSERT's values. */
export const ROW_COLUMNS = ['stream', 'offset', 'agent', 'host', 'path', 'line', 'read_time'];

/**
 * The table of a topic (DESIGN.md "Records in the sinks": one row per line with its metadata).
 * `line` is a MEDIUMBLOB, so lines are stored byte for byte (invalid UTF-8 and NULs included,
 * up to 16 MiB); the unique key on (stream, offset) makes a retransmitted line a duplicate.
 */
export function createTableSql(table: string): string {
  return [
    `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(table)} (`,
    '  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,',
    '  `stream` VARCHAR(200) NOT NULL,',
    '  `offset` BIGINT UNSIGNED NOT NULL,',
    '  `agent` VARCHAR(200) NOT NULL,',
    '  `host` VARCHAR(255) NOT NULL,',
    '  `path` VARCHAR(4096) NOT NULL,',
    '  `line` MEDIUMBLOB NOT NULL,',
    '  `read_time` DATETIME(3) NOT NULL,',
    '  `created_at` TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),',
    '  PRIMARY KEY (`id`),',
    '  UNIQUE KEY `uq_stream_offset` (`stream`, `offset`)',
    ') ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin',
  ].join('\n');
}

/**
 * A multi-row insert of `rows` rows into `table`, values as placeholders. A row already there
 * (same stream and offset) is left as it is; unlike INSERT IGNORE, ON DUPLICATE KEY UPDATE keeps
 * strict mode's errors (a too-long value fails instead of being silently cut).
 */
export function insertSql(table: string, rows: number): string {
  const columns = ROW_COLUMNS.map((c) => `\`${c}\``).join(', ');
  const row = `(${ROW_COLUMNS.map(() => '?').join(', ')})`;
  return (
    `INSERT INTO ${quoteIdentifier(table)} (${columns}) VALUES ` +
    Array.from({ length: rows }, () => row).join(', ') +
    ' ON DUPLICATE KEY UPDATE `id` = `id`'
  );
}
