/** A cell as HBase's REST gateway returns it in JSON: column and value in base64. */
interface RestCell {
  column: string;
  $: string;
}

interface RestRow {
  key: string;
  Cell?: RestCell[];
}

/** A row read back through the REST gateway: its key and its cells by `family:qualifier`. */
export interface HbaseRow {
  key: Buffer;
  cells: Map<string, Buffer>;
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

/**
 * Every row of `table`, in key order, through a REST scanner (`batch` cells per page). An
 * absent table reads as no rows.
 */
export async function scanHbaseRows(
  baseUrl: string,
  table: string,
  batch = 5000,
): Promise<HbaseRow[]> {
  const res = await fetch(`${baseUrl}/${encodeURIComponent(table)}/scanner`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({ batch }),
  });
  if (res.status === 404) return [];
  if (res.status !== 201) {
    throw new Error(`HBase scanner on ${table}: HTTP ${res.status} ${await res.text()}`);
  }
  const scanner = res.headers.get('location');
  if (!scanner) throw new Error(`HBase scanner on ${table}: no Location header`);
  const rows: HbaseRow[] = [];
  try {
    for (;;) {
      const page = await fetch(scanner, { headers: { accept: 'application/json' } });
      if (page.status === 204) break;
      if (!page.ok) throw new Error(`HBase scanner page of ${table}: HTTP ${page.status}`);
      const body = (await page.json()) as { Row?: RestRow[] };
      for (const r of body.Row ?? []) {
        const key = Buffer.from(r.key, 'base64');
        // A page holds at most `batch` cells: one row can span two pages.
        const last = rows[rows.length - 1];
        const row = last && last.key.equals(key) ? last : { key, cells: new Map<string, Buffer>() };
        if (row !== last) rows.push(row);
        for (const c of r.Cell ?? []) {
          row.cells.set(Buffer.from(c.column, 'base64').toString(), Buffer.from(c.$, 'base64'));
        }
      }
    }
  } finally {
    await fetch(scanner, { method: 'DELETE' }).catch(() => undefined);
  }
  return rows;
}

/** The `line` cell (family `d` unless given) of every row of `table`, as UTF-8 text. */
export async function readHbaseLines(
  baseUrl: string,
  table: string,
  family = 'd',
): Promise<string[]> {
  const rows = await scanHbaseRows(baseUrl, table);
  return rows.map((r) => r.cells.get(`${family}:line`)?.toString('utf8') ?? '');
}
