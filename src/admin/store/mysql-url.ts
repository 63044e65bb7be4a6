import { AdminInputError } from './validate.js';

/** Where the control-plane database is, parsed from `mysql://user:pass@host:port/db`. */
export interface MysqlTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/**
 * Parses the `--mysql` / `LOGRELAY_MYSQL_URL` value. The database name is required: the admin
 * never guesses which schema to write into.
 */
export function parseMysqlUrl(url: string): MysqlTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AdminInputError(
      'the MySQL URL is not a URL; expected mysql://user:pass@host:port/db',
    );
  }
  if (parsed.protocol !== 'mysql:') {
    throw new AdminInputError(`the MySQL URL must start with mysql://, got ${parsed.protocol}//`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database || database.includes('/')) {
    throw new AdminInputError('the MySQL URL must name a database: mysql://user:pass@host:port/db');
  }
  const port = parsed.port === '' ? 3306 : Number(parsed.port);
  return {
    // URL keeps IPv6 hosts in brackets; the driver wants them bare.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port,
    user: decodeURIComponent(parsed.username) || 'root',
    password: decodeURIComponent(parsed.password),
    database,
  };
}
