/**
 * The control plane's tables, exactly as the original design (go-logagent) has them
 * (DESIGN.md "Control plane"): same names, columns and types, so existing databases keep working.
 * Statements are idempotent (`IF NOT EXISTS`). The collation is explicit because servers differ in
 * their default and a mismatch with the connection's makes string comparisons fail.
 */
export const createNodeTable = `
CREATE TABLE IF NOT EXISTS t_logagent_node (
  id int NOT NULL AUTO_INCREMENT,
  key_path varchar(255) NOT NULL,
  server_name varchar(255) NOT NULL DEFAULT '',
  ip varchar(16) NOT NULL,
  create_time varchar(32) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  UNIQUE KEY uk_logagent_node_ip (ip)
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
