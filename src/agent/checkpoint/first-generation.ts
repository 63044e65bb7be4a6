import { createHash, randomInt } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { InodeRef } from '../tail/fingerprint.js';

/**
 * The generation of a file the registry does not know (part of its stream key, with device and
 * inode), chosen so that:
 *
 * - the same file, met again after a lost or torn registry, gets the same key, and the sinks
 *   drop what it resends (their marks are per stream);
 * - another file on a reused inode never gets a key used before, even when its first KiB is the
 *   same as the earlier file's (a fixed header, or a test writing the same lines again): the
 *   sinks would take its lines for ones they already have and drop them, a silent loss.
 *
 * Both hold when the key comes from the fingerprint (first KiB) and the file's birth time:
 * a file keeps its birth time for life, a new file on an old inode gets a new one. Where the
 * file system keeps no birth time (or the fingerprint is not complete yet), the generation is
 * random: a lost registry then costs duplicates, never lines.
 *
 * In [1, 2^31): truncations add one each, within the wire's uint32; never 0, which every file
 * the registry knew from its first byte has.
 */
export function firstGeneration(fingerprint: string, birthtimeNs: bigint): number {
  if (fingerprint.length >= 8 && birthtimeNs > 0n) {
    const digest = createHash('sha256').update(`${fingerprint}:${birthtimeNs}`).digest();
    return (digest.readUInt32BE(0) % (2 ** 31 - 1)) + 1;
  }
  return randomInt(1, 2 ** 31);
}

/**
 * The birth time of the file at `path` in ns, when the file system keeps one and `path` is still
 * the file `identity` names; 0n otherwise.
 */
export async function birthtimeOf(path: string, identity: InodeRef): Promise<bigint> {
  const st = await stat(path, { bigint: true }).catch(() => undefined);
  if (!st || st.ino !== BigInt(identity.inode) || st.dev !== BigInt(identity.device)) return 0n;
  return st.birthtimeNs;
}
