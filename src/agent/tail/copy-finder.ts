/**
 * copytruncate's copy: logrotate copies `app.log` to `app.log.1` and then truncates `app.log`
 * in place. Bytes written after the agent's last read and before the truncation are gone from
 * `app.log` but are in the copy, whose first bytes are the old content's first bytes. The agent
 * finds the copy by those bytes (Vector's checksum identity) and reads the rest from it.
 */
import { open, readdir, stat } from 'node:fs/promises';
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
 * The regular file in `dir` whose first `identity.prefixLength` bytes hash to
 * `identity.prefixHash`, other than those `skip` names (`<dev>:<ino>`); the most recently
 * modified one when several do. Files that vanish or cannot be read are passed over.
 */
export async function findCopy(
  dir: string,
  identity: Pick<FileIdentity, 'prefixLength' | 'prefixHash'>,
  skip: (id: string) => boolean,
): Promise<FoundCopy | undefined> {
  if (!canMatchCopies(identity)) return undefined;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  let best: (FoundCopy & { mtimeMs: number }) | undefined;
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(dir, entry.name);
    const st = await stat(path).catch(() => undefined);
    if (!st || st.size < identity.prefixLength || skip(`${st.dev}:${st.ino}`)) continue;
    const prefix = await readPrefix(path, identity.prefixLength);
    if (prefix?.length !== identity.prefixLength || hashPrefix(prefix) !== identity.prefixHash)
      continue;
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
  if (!best) return undefined;
  const { mtimeMs: _mtime, ...found } = best;
  return found;
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
  const prefix = await readPrefix(path, identity.prefixLength);
  return prefix?.length === identity.prefixLength && hashPrefix(prefix) === identity.prefixHash;
}

async function readPrefix(path: string, length: number): Promise<Buffer | undefined> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return undefined;
  try {
    const buf = Buffer.alloc(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await handle.read(buf, filled, length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buf.subarray(0, filled);
  } catch {
    return undefined;
  } finally {
    await handle.close().catch(() => undefined);
  }
}
