import { services } from './services.js';

/** The test bed's HBase REST gateway (scripts/services/hbase.sh). */
export const hbaseRestUrl = `http://${services.hbase.host}:${services.hbase.port}`;

/** One row as the REST gateway returns it: column (`family:qualifier`) → value bytes. */
export type HbaseTestRow = Map<string, Buffer>;

interface CellSet {
  Row?: { key: string; Cell?: { column: string; $: string }[] }[];
}

function decodeCellSet(json: CellSet, into: Map<string, HbaseTestRow>): number {
  let n = 0;
  for (const row of json.Row ?? []) {
    const key = Buffer.from(row.key, 'base64').toString('latin1');
    const cells = into.get(key) ?? new Map<string, Buffer>();
    for (const cell of row.Cell ?? []) {
      cells.set(Buffer.from(cell.column, 'base64').toString(), Buffer.from(cell.$, 'base64'));
    }
    into.set(key, cells);
    n++;
  }
  return n;
}

/**
 * Every row of a table through a REST scanner (row keys decoded as latin1, so any bytes
 * survive), in key order. undefined when the table does not exist.
 */
export async function scanTable(table: string): Promise<Map<string, HbaseTestRow> | undefined> {
  // The gateway makes a scanner on a missing table too (its first read then answers 404).
  if (!(await tableExists(table))) return undefined;
  const created = await fetch(`${hbaseRestUrl}/${encodeURIComponent(table)}/scanner`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ batch: 10_000 }),
  });
  if (created.status !== 201) {
    throw new Error(`scanner on ${table}: HTTP ${created.status} ${await created.text()}`);
  }
  const location = created.headers.get('location');
  if (!location) throw new Error(`scanner on ${table}: no Location`);
  const rows = new Map<string, HbaseTestRow>();
  try {
    for (;;) {
      const res = await fetch(location, { headers: { accept: 'application/json' } });
      if (res.status === 204) break;
      if (res.status !== 200) throw new Error(`scanner next: HTTP ${res.status}`);
      decodeCellSet((await res.json()) as CellSet, rows);
    }
  } finally {
    await fetch(location, { method: 'DELETE' }).catch(() => undefined);
  }
  return rows;
}

/** One row by its key (GET /<table>/<row>), or undefined. */
export async function getRow(table: string, key: string): Promise<HbaseTestRow | undefined> {
  const res = await fetch(
    `${hbaseRestUrl}/${encodeURIComponent(table)}/${encodeURIComponent(key)}`,
    { headers: { accept: 'application/json' } },
  );
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`GET row ${key}: HTTP ${res.status}`);
  const rows = new Map<string, HbaseTestRow>();
  decodeCellSet((await res.json()) as CellSet, rows);
  return rows.values().next().value;
}

/** true when the table exists. */
export async function tableExists(table: string): Promise<boolean> {
  const res = await fetch(`${hbaseRestUrl}/${encodeURIComponent(table)}/schema`, {
    headers: { accept: 'application/json' },
  });
  await res.arrayBuffer();
  return res.status === 200;
}

/** Creates a table with one family (for tests that need one made by "an operator"). */
export async function createTable(table: string, family = 'd'): Promise<void> {
  const res = await fetch(`${hbaseRestUrl}/${encodeURIComponent(table)}/schema`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ name: table, ColumnSchema: [{ name: family, VERSIONS: '1' }] }),
  });
  if (res.status !== 201 && res.status !== 200) {
    throw new Error(`create ${table}: HTTP ${res.status} ${await res.text()}`);
  }
}

/** Drops a table (disable + delete through DELETE /<table>/schema); a missing one is fine. */
export async function dropTable(table: string): Promise<void> {
  const res = await fetch(`${hbaseRestUrl}/${encodeURIComponent(table)}/schema`, {
    method: 'DELETE',
  });
  await res.arrayBuffer();
  if (res.status !== 200 && res.status !== 404)
    throw new Error(`drop ${table}: HTTP ${res.status}`);
}
