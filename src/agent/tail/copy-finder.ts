/**
 * copytruncate's copy: logrotate copies `app.log` to `app.log.1` and then truncates `app.log`
 * in place. Bytes written after the agent's last read and before the truncation are gone from
 * `app.log` but are in the copy, whose first bytes are the old content's first bytes. The agent
 * finds the copy by those bytes (Vector's checksum identity) and reads the rest from it.
 */
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { hashPrefix, type FileIdentity } from './fingerprint.js';

/**
 * Fewest leading bytes two files must share to be taken for copies of one content: below that,
 * a common header or a short first line would make unrelated files match.
 */
export const MIN_COPY_PREFIX_BYTES = 16;

/** A file whose first bytes are those of a known content. */
export interface FoundCopy {
  path: string;
  dev: number;
  ino: number;
  /** Size in bytes when found. */
  size: number;
  /** Birth time (mtime where none is kept), ms. */
  bornMs: number;
}

/** Whether an identity covers enough bytes to recognise a copy of its content by them. */
export function canMatchCopies(identity: Pick<FileIdentity, 'prefixLength'>): boolean {
  return identity.prefixLength >= MIN_COPY_PREFIX_BYTES;
}

/**
 * Most passes over a folder that findCopy makes while files are renamed in it: logrotate shifts
 * every rotated name by one, a few times a second at most, and a pass takes milliseconds.
 */
const MAX_COPY_SEARCH_PASSES = 8;

/**
 * The regular file in `dir` whose first `identity.prefixLength` bytes hash to
 * `identity.prefixHash`, other than those `skip` names (`<dev>:<ino>`); the most recently
 * modified one when several do. Files that vanish or cannot be read are passed over.
 *
 * A rotation may shift the names while the folder is gone through (`app.log.1` → `app.log.2`):
 * the copy can move from a name not yet looked at to one already looked at. A pass that finds
 * nothing is therefore trusted only when every name still names the file it named when looked
 * at; otherwise the folder is gone through again (up to {@link MAX_COPY_SEARCH_PASSES} times).
 * Each file's identity, size and first bytes are taken through one descriptor, so they belong
 * to one file even when its name is taken over meanwhile.
 */
export async function findCopy(
  dir: string,
  identity: Pick<FileIdentity, 'prefixLength' | 'prefixHash'>,
  skip: (id: string) => boolean,
): Promise<FoundCopy | undefined> {
  if (!canMatchCopies(identity)) return undefined;
  for (let pass = 1; ; pass++) {
    const { found, seen } = await searchOnce(dir, identity, skip);
    if (found || pass >= MAX_COPY_SEARCH_PASSES) return found;
    if (!(await namesChanged(dir, seen))) return undefined;
  }
}

/** One pass over the folder: the copy found, and which file each name named when looked at. */
async function searchOnce(
  dir: string,
  identity: Pick<FileIdentity, 'prefixLength' | 'prefixHash'>,
  skip: (id: string) => boolean,
): Promise<{ found: FoundCopy | undefined; seen: Map<string, string | undefined> }> {
  const seen = new Map<string, string | undefined>();
  let best: (FoundCopy & { mtimeMs: number }) | undefined;
  for (const name of await readdir(dir).catch(() => [])) {
    const path = join(dir, name);
    const file = await lookAt(path, identity, skip);
    seen.set(name, file?.id);
    if (!file?.matches) continue;
    const { st } = file;
    if (best && best.mtimeMs >= st.mtimeMs) continue;
    best = {
      path,
      dev: st.dev,
      ino: st.ino,
      size: st.size,
      bornMs: st.birthtimeMs || st.mtimeMs,
      mtimeMs: st.mtimeMs,
    };
  }
  if (!best) return { found: undefined, seen };
  const { mtimeMs: _mtime, ...found } = best;
  return { found, seen };
}

/**
 * A regular file at `path` (undefined for anything else or nothing): its `<dev>:<ino>`, its
 * stat, and whether it starts with the identity's bytes. The stat and the bytes come from one
 * descriptor; the cheap path `stat` before it only spares opening skipped and short files.
 */
async function lookAt(
  path: string,
  identity: Pick<FileIdentity, 'prefixLength' | 'prefixHash'>,
  skip: (id: string) => boolean,
): Promise<{ id: string; st: Stats; matches: boolean } | undefined> {
  const named = await stat(path).catch(() => undefined);
  if (!named?.isFile()) return undefined;
  const namedId = `${named.dev}:${named.ino}`;
  if (named.size < identity.prefixLength || skip(namedId))
    return { id: namedId, st: named, matches: false };
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return undefined;
  try {
    const st = await handle.stat();
    const id = `${st.dev}:${st.ino}`;
    if (!st.isFile()) return undefined;
    if (id !== namedId && (st.size < identity.prefixLength || skip(id)))
      return { id, st, matches: false };
    const prefix = await readPrefix(handle, identity.prefixLength);
    const matches =
      prefix.length === identity.prefixLength && hashPrefix(prefix) === identity.prefixHash;
    return { id, st, matches };
  } catch {
    return undefined;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Whether a name in `dir` names another file (or none) than `seen` says, or a name was added. */
async function namesChanged(
  dir: string,
  seen: ReadonlyMap<string, string | undefined>,
): Promise<boolean> {
  const names = await readdir(dir).catch(() => []);
  if (names.length !== seen.size) return true;
  for (const name of names) {
    if (!seen.has(name)) return true;
    const st = await stat(join(dir, name)).catch(() => undefined);
    const id = st?.isFile() ? `${st.dev}:${st.ino}` : undefined;
    if (id !== seen.get(name)) return true;
  }
  return false;
}

/**
 * Whether the file at `path` starts with the bytes `identity` covers (always, when it covers
 * none). False when the file cannot be read or is shorter.
 */
export async function startsWith(
  path: string,
  identity: Pick<FileIdentity, 'prefixLength' | 'prefixHash'>,
): Promise<boolean> {
  if (identity.prefixLength === 0) return true;
  const prefix = await firstBytes(path, identity.prefixLength);
  return prefix?.length === identity.prefixLength && hashPrefix(prefix) === identity.prefixHash;
}

/** Up to `length` first bytes of the file at `path`; undefined when it cannot be read. */
export async function firstBytes(path: string, length: number): Promise<Buffer | undefined> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return undefined;
  try {
    return await readPrefix(handle, length);
  } catch {
    return undefined;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Up to `length` bytes from offset 0; fewer when the file is shorter. */
async function readPrefix(handle: FileHandle, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buf, filled, length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buf.subarray(0, filled);
}
