/**
 * The control plane's tables, exactly as the original design (go-logagent) has them
 * (DESIGN.md "Control plane"): same names, columns and types, so existing databases keep working.
 * Statements are idempotent (`IF NOT EXISTS`); the one index added since the first release is
 * added to older tables by a migration. The collation is explicit because servers differ in their
 * default and a mismatch with the connection's makes string comparisons fail.
 */
export const createNodeTable = `
CREATE TABLE IF NOT EXISTS t_logagent_node (
  id int NOT NULL AUTO_INCREMENT,
  key_path varchar(255) COLLATE utf8mb4_bin NOT NULL,
  server_name varchar(255) NOT NULL DEFAULT '',
  ip varchar(16) NOT NULL,
  create_time varchar(32) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  UNIQUE KEY uk_logagent_node_ip (ip),
  UNIQUE KEY uk_logagent_node_key_path (key_path)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`;

export const createTailTable = `
CREATE TABLE IF NOT EXISTS t_logagent_tail (
  id int NOT NULL AUTO_INCREMENT,
  log_path varchar(255) NOT NULL,
  topic varchar(255) NOT NULL,
  node_id varchar(16) NOT NULL,
  status varchar(32) NOT NULL DEFAULT '1',
  create_time varchar(32) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  KEY idx_logagent_tail_node (node_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`;

/** Every statement needed for an empty database, in order. */
export const schemaStatements: readonly string[] = [createNodeTable, createTailTable];

/**
 * One agent watches one key, so two nodes sharing a key path would publish over each other: the
 * key path is unique. Its collation is binary because etcd keys are bytes: `/a` and `/A` are two
 * keys, and a case-insensitive index would refuse one for the other. Tables created before the
 * index get it from {@link addKeyPathIndex} (through `logrelay admin migrate`).
 */
export const keyPathIndexName = 'uk_logagent_node_key_path';

/** Adds the key-path index to a table created without it; run only when it is missing. */
export const addKeyPathIndex = `
ALTER TABLE t_logagent_node
  MODIFY key_path varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  ADD UNIQUE KEY ${keyPathIndexName} (key_path)`;
