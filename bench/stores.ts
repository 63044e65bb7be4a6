/**
 * The MongoDB and HBase paths, end to end, each beside a direct client on the same server and
 * file: the reference is the fastest plain way to put these lines into the store from Node —
 * the official driver's unordered insertMany of 1,000 documents (MongoDB), or PUTs of 1,000 rows
 * to the REST gateway (HBase), 4 requests in flight — so the ratio is what the relay (agent,
 * gRPC, collector, dedup, acknowledgements) costs on top of the store itself. Each run writes
 * into a collection or table of its own; its documents or rows are counted afterwards.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { MongoClient } from 'mongodb';
import { benchRelay, type RelayResult } from './relay.js';

const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
/** The test bed's MongoDB-protocol server and HBase REST gateway (LOGRELAY_*_PORT). */
export const benchMongoUrl = `mongodb://127.0.0.1:${port('LOGRELAY_MONGODB_PORT', 27017)}`;
export const benchHbaseUrl = `http://127.0.0.1:${port('LOGRELAY_HBASE_REST_PORT', 8090)}`;
const DATABASE = 'logrelay_bench';
/** Documents or rows per request of the reference clients. */
const CHUNK = 1000;
/** Requests the reference clients keep in flight. */
const IN_FLIGHT = 4;

export interface StoreResult extends RelayResult {
  /** Documents or rows found afterwards (the file's line count when every line is there once). */
  stored: number;
}

export interface DirectResult {
  seconds: number;
  lines: number;
  stored: number;
}

/** Lines of `path` in chunks of CHUNK, without their newlines. */
async function* chunks(path: string): AsyncGenerator<string[]> {
  let chunk: string[] = [];
  for await (const line of createInterface({
    input: createReadStream(path),
    crlfDelay: Infinity,
  })) {
    chunk.push(line);
    if (chunk.length === CHUNK) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** Runs `send` over the file's chunks with IN_FLIGHT at once; returns the seconds taken. */
async function pump(path: string, send: (lines: string[], first: number) => Promise<void>) {
  const started = process.hrtime.bigint();
  const running = new Set<Promise<void>>();
  let lines = 0;
  for await (const chunk of chunks(path)) {
    const p = send(chunk, lines).finally(() => running.delete(p));
    running.add(p);
    lines += chunk.length;
    if (running.size >= IN_FLIGHT) await Promise.race(running);
  }
  await Promise.all(running);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, lines };
}

// ---- MongoDB ---------------------------------------------------------------------------------

/** True when the server answers a ping (the phase is skipped, with a note, when it does not). */
export async function mongoReachable(): Promise<boolean> {
  const client = new MongoClient(benchMongoUrl, { serverSelectionTimeoutMS: 2000 });
  try {
    await client.db('admin').command({ ping: 1 });
    return true;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => undefined);
  }
}

async function countDocuments(collection: string): Promise<number> {
  const client = new MongoClient(benchMongoUrl);
  try {
    return await client.db(DATABASE).collection(collection).countDocuments();
  } finally {
    await client.close();
  }
}

/** The driver alone: the sink's document shape, unordered insertMany of CHUNK. */
export async function timeMongoDirect(path: string, collection: string): Promise<DirectResult> {
  const client = new MongoClient(benchMongoUrl);
  try {
    await client.connect();
    const coll = client.db(DATABASE).collection<{ _id: string }>(collection);
    const time = new Date();
    const { seconds, lines } = await pump(path, async (chunk, first) => {
      await coll.insertMany(
        chunk.map((line, i) => ({
          _id: `bench:${String(first + i).padStart(20, '0')}`,
          line,
          agent: 'bench',
          host: 'bench-host',
          path,
          offset: first + i,
          time,
        })),
        { ordered: false },
      );
    });
    return { seconds, lines, stored: await coll.countDocuments() };
  } finally {
    await client.close();
  }
}

/** file → agent → collector → MongoDB into `collection`. */
export async function benchMongoRelay(
  path: string,
  size: number,
  dir: string,
  timeoutMs: number,
  collection: string,
): Promise<StoreResult> {
  const result = await benchRelay(path, size, dir, timeoutMs, {
    topic: 'bench',
    sink: {
      type: 'mongodb',
      name: 'mongodb',
      url: benchMongoUrl,
      database: DATABASE,
      collectionTemplate: collection,
    },
  });
  return { ...result, stored: await countDocuments(collection) };
}

/** Drops the bench's database. */
export async function dropMongoBench(): Promise<void> {
  const client = new MongoClient(benchMongoUrl, { serverSelectionTimeoutMS: 2000 });
  try {
    await client.db(DATABASE).dropDatabase();
  } catch {
    // Best effort: a later run drops it.
  } finally {
    await client.close().catch(() => undefined);
  }
}

// ---- HBase -----------------------------------------------------------------------------------

const b64 = (s: string) => Buffer.from(s).toString('base64');
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

/** True when the REST gateway answers with a live region server. */
export async function hbaseReachable(): Promise<boolean> {
  try {
    const res = await fetch(`${benchHbaseUrl}/status/cluster`, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(3000),
    });
    if (!res.ok) return false;
    const body = (await res.json()) as { LiveNodes?: unknown[] };
    return (body.LiveNodes?.length ?? 0) > 0;
  } catch {
    return false;
  }
}

async function createTable(table: string): Promise<void> {
  const res = await fetch(`${benchHbaseUrl}/${table}/schema`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({ name: table, ColumnSchema: [{ name: 'd', VERSIONS: '1' }] }),
  });
  if (!res.ok && res.status !== 409) {
    throw new Error(`creating ${table}: HTTP ${res.status} ${await res.text()}`);
  }
}

/** Rows of `table`, counted by a scanner that returns only each row's first key. */
async function countRows(table: string): Promise<number> {
  const res = await fetch(`${benchHbaseUrl}/${table}/scanner`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({ batch: 10_000, filter: JSON.stringify({ type: 'FirstKeyOnlyFilter' }) }),
  });
  if (res.status === 404) return 0;
  if (res.status !== 201) throw new Error(`scanner on ${table}: HTTP ${res.status}`);
  const scanner = res.headers.get('location') as string;
  let rows = 0;
  try {
    for (;;) {
      const page = await fetch(scanner, { headers: { accept: 'application/json' } });
      if (page.status === 204) break;
      if (!page.ok) throw new Error(`scanner page: HTTP ${page.status}`);
      const body = (await page.json()) as { Row?: unknown[] };
      rows += body.Row?.length ?? 0;
    }
  } finally {
    await fetch(scanner, { method: 'DELETE' }).catch(() => undefined);
  }
  return rows;
}

/** PUTs of CHUNK rows (the sink's cells: the line and its metadata) to the REST gateway. */
export async function timeHbaseDirect(path: string, table: string): Promise<DirectResult> {
  await createTable(table);
  const time = new Date().toISOString();
  const { seconds, lines } = await pump(path, async (chunk, first) => {
    const Row = chunk.map((line, i) => ({
      key: b64(`bench:${String(first + i).padStart(20, '0')}`),
      // The cells the sink writes in its default format (json): the line and its metadata.
      Cell: [
        { column: b64('d:line'), $: b64(line) },
        { column: b64('d:agent'), $: b64('bench') },
        { column: b64('d:host'), $: b64('bench-host') },
        { column: b64('d:path'), $: b64(path) },
        { column: b64('d:offset'), $: b64(String(first + i)) },
        { column: b64('d:time'), $: b64(time) },
      ],
    }));
    const res = await fetch(`${benchHbaseUrl}/${table}/fakerow`, {
      method: 'PUT',
      headers: JSON_HEADERS,
      body: JSON.stringify({ Row }),
    });
    if (!res.ok) throw new Error(`PUT ${table}: HTTP ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  });
  return { seconds, lines, stored: await countRows(table) };
}

/** file → agent → collector → HBase into `table`. */
export async function benchHbaseRelay(
  path: string,
  size: number,
  dir: string,
  timeoutMs: number,
  table: string,
): Promise<StoreResult> {
  const result = await benchRelay(path, size, dir, timeoutMs, {
    topic: 'bench',
    sink: { type: 'hbase', name: 'hbase', url: benchHbaseUrl, tableTemplate: table },
  });
  return { ...result, stored: await countRows(table) };
}

/** Disables and drops the bench's tables (best effort). */
export async function dropHbaseTables(tables: readonly string[]): Promise<void> {
  for (const table of tables) {
    await fetch(`${benchHbaseUrl}/${table}/schema`, { method: 'DELETE' }).catch(() => undefined);
  }
}
