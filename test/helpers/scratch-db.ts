import mysql from 'mysql2/promise';
import { services } from './services.js';
import { uniqueName } from './unique.js';

/** A new, empty database on the test bed's MariaDB, for one test file. */
export interface ScratchDatabase {
  name: string;
  /** `mysql://root@host:port/name`, as `logrelay admin --mysql` takes it. */
  url: string;
  /** Drops the database and closes the connection (safe to call twice). */
  drop: () => Promise<void>;
}

/** Creates `<prefix>_<unique>`; call `drop` in afterAll. */
export async function scratchDatabase(prefix: string): Promise<ScratchDatabase> {
  const name = uniqueName(prefix);
  const conn = await mysql.createConnection({
    host: services.mysql.host,
    port: services.mysql.port,
    user: services.mysql.user,
    password: services.mysql.password,
  });
  await conn.query(`CREATE DATABASE \`${name}\``);
  let dropped = false;
  return {
    name,
    url: `mysql://root@${services.mysql.host}:${services.mysql.port}/${name}`,
    drop: async () => {
      if (dropped) return;
      dropped = true;
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
    },
  };
}
