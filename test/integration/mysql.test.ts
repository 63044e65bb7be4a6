import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaStatements } from '../../src/admin/schema/tables.js';
import { requireService, services } from '../helpers/services.js';
import { uniqueName } from '../helpers/unique.js';

// DESIGN.md "Control plane": the tables as the original design has them.
const expected = {
  t_logagent_node: [
    ['id', 'int'],
    ['key_path', 'varchar(255)'],
    ['server_name', 'varchar(255)'],
    ['ip', 'varchar(16)'],
    ['create_time', 'varchar(32)'],
  ],
  t_logagent_tail: [
    ['id', 'int'],
    ['log_path', 'varchar(255)'],
    ['topic', 'varchar(255)'],
    ['node_id', 'varchar(16)'],
    ['status', 'varchar(32)'],
    ['create_time', 'varchar(32)'],
  ],
};

describe('MariaDB (real server)', () => {
  const database = uniqueName('logrelay_it');
  let conn: mysql.Connection;

  beforeAll(async () => {
    await requireService('mysql');
    const { host, port, user, password } = services.mysql;
    conn = await mysql.createConnection({ host, port, user, password, multipleStatements: false });
    await conn.query(`CREATE DATABASE \`${database}\``);
    await conn.changeUser({ database });
  });

  afterAll(async () => {
    if (!conn) return;
    await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await conn.end();
  });

  it('creates the two control-plane tables with exactly the designed columns and types', async () => {
    for (const statement of schemaStatements) await conn.query(statement);
    // Running the statements again is harmless (idempotent migration).
    for (const statement of schemaStatements) await conn.query(statement);

    for (const [table, columns] of Object.entries(expected)) {
      const [rows] = await conn.execute<mysql.RowDataPacket[]>(
        `SELECT column_name AS name, column_type AS type FROM information_schema.columns
         WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position`,
        [database, table],
      );
      expect(
        rows.map((r) => [r['name'], String(r['type']).replace(/^int\(\d+\)$/, 'int')]),
      ).toEqual(columns);
    }
  });

  it('stores and queries rows with placeholders only, so hostile strings stay data', async () => {
    const hostile = "x'); DROP TABLE t_logagent_tail; --";
    const [node] = await conn.execute<mysql.ResultSetHeader>(
      'INSERT INTO t_logagent_node (key_path, server_name, ip, create_time) VALUES (?, ?, ?, ?)',
      ['/logagent/10.0.0.7/tails', hostile, '10.0.0.7', '2026-11-27 00:00:00'],
    );
    await conn.execute(
      'INSERT INTO t_logagent_tail (log_path, topic, node_id, status, create_time) VALUES (?, ?, ?, ?, ?)',
      ['/var/log/app/*.log', 'app', String(node.insertId), '1', '2026-11-27 00:00:00'],
    );
    const [rows] = await conn.execute<mysql.RowDataPacket[]>(
      `SELECT n.server_name, t.log_path, t.topic, t.status FROM t_logagent_tail t
       JOIN t_logagent_node n ON t.node_id = CAST(n.id AS CHAR) WHERE n.ip = ?`,
      ['10.0.0.7'],
    );
    expect(rows).toEqual([
      { server_name: hostile, log_path: '/var/log/app/*.log', topic: 'app', status: '1' },
    ]);
    const [tables] = await conn.execute<mysql.RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = ?',
      [database],
    );
    expect(tables[0]?.['n']).toBe(2);
  });
});
