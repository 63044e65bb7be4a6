/**
 * File identity: which file is this, across renames, restarts and inode reuse?
 *
 * How identity works (and why):
 * - The **stream key** is agent id + device + inode + generation ({@link streamKey}); it never
 *   contains the fingerprint. A file that starts short and grows past `fingerprintBytes` would
 *   otherwise change key half-way and be shipped again from offset 0 as a "new" stream.
 * - The **fingerprint** (hex hash of the first `fingerprintBytes` bytes, default 1024, as Vector
 *   and Filebeat do) is what travels in `StreamId.fingerprint`; it is `''` while the file is
 *   shorter than that, as the wire contract says.
 * - To recognise a file that is **still short**, the identity also records a hash of whatever
 *   prefix exists (`prefixLength` = min(size, fingerprintBytes) bytes, `prefixHash`). A file is
 *   the same as a known one when device and inode match and its first `known.prefixLength` bytes
 *   still hash to `known.prefixHash` ({@link sameFile}); the identity is then re-taken with the
 *   longer prefix, until it covers `fingerprintBytes` and the fingerprint is set for good. For
 *   a short file the prefix hash covers every byte read so far, so inode reuse and truncate-and-
 *   rewrite are caught even before the fingerprint exists.
 * - When the same device + inode holds different content (inode reused, or truncated and
 *   rewritten), the caller gives it a new **generation**, so its offsets restarting at 0 never
 *   collide with the old content's offsets in the collectors' dedup marks.
 *
 * Limits: two files whose first `prefixLength` bytes are equal (a fixed header, an empty file)
 * cannot be told apart by content; an empty file matches anything, which is harmless because
 * nothing of it was read. Device and inode are JavaScript numbers (as on the wire); values
 * above 2^53 lose precision, and the prefix check then still separates distinct files.
 */
import { hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { RelayError } from '../../common/errors/relay-error.js';
import { TailErrorCode } from './line-splitter.js';

/** 1024 bytes: default length of the prefix the fingerprint covers. */
export const DEFAULT_FINGERPRINT_BYTES = 1024;

/** Hex digits kept of the SHA-256 digest: 64 bits, ample to tell a host's files apart. */
const HASH_HEX_CHARS = 16;

/** What identifies a file; persist all of it in the checkpoint registry. */
export interface FileIdentity {
  /** `st_dev` of the file. */
  device: number;
  /** `st_ino` of the file. */
  inode: number;
  /** Hex hash of the first `fingerprintBytes` bytes; `''` while the file is shorter. */
  fingerprint: string;
  /** Bytes covered by `prefixHash`: min(file size when taken, `fingerprintBytes`). */
  prefixLength: number;
  /** Hex hash of the first `prefixLength` bytes (equals `fingerprint` once that is set). */
  prefixHash: string;
}

/** A file as seen now: device, inode, size, and its first bytes (read through one descriptor). */
export interface FileProbe {
  device: number;
  inode: number;
  /** Size in bytes from the same fstat. */
  size: number;
  /** The first min(size, bytes asked for) bytes of the file. */
  prefix: Buffer;
}

/** Device and inode, the part of an identity that names a stream. */
export type InodeRef = Pick<FileIdentity, 'device' | 'inode'>;

/** Hex hash of `bytes` as used for fingerprints and prefix hashes. */
export function hashPrefix(bytes: Uint8Array): string {
  return hash('sha256', bytes, 'hex').slice(0, HASH_HEX_CHARS);
}

/** The identity of a probed file, covering min(prefix length, `fingerprintBytes`) bytes. */
export function identityOf(
  probe: FileProbe,
  fingerprintBytes: number = DEFAULT_FINGERPRINT_BYTES,
): FileIdentity {
  checkFingerprintBytes(fingerprintBytes);
  const length = Math.min(probe.prefix.length, fingerprintBytes);
  const prefixHash = hashPrefix(probe.prefix.subarray(0, length));
  return {
    device: probe.device,
    inode: probe.inode,
    fingerprint: length === fingerprintBytes ? prefixHash : '',
    prefixLength: length,
    prefixHash,
  };
}

/**
 * Whether `probe` is the file `known` describes, possibly grown: same device and inode, at least
 * `known.prefixLength` bytes, and those bytes unchanged. False means a different file (inode
 * reused) or the same inode truncated and rewritten; both restart at offset 0 as a new
 * generation. The probe must cover `known.prefixLength` bytes (see {@link probeFile}).
 */
export function sameFile(known: FileIdentity, probe: FileProbe): boolean {
  if (!sameInode(known, probe)) return false;
  if (probe.prefix.length < known.prefixLength) return false;
  return hashPrefix(probe.prefix.subarray(0, known.prefixLength)) === known.prefixHash;
}

/** Whether two identities name the same device and inode (the same file while it is open). */
export function sameInode(a: InodeRef, b: InodeRef): boolean {
  return a.device === b.device && a.inode === b.inode;
}

/**
 * The key of a stream: `<agentId>:<device>:<inode>:<generation>`. Unambiguous even when the
 * agent id contains `:`, because the last three fields are numbers.
 *
 * @param generation 0 for the first content seen on this device + inode; the caller raises it
 *   whenever the content restarts (copytruncate, inode reuse). It must never repeat for one
 *   device + inode, also after the registry forgets old entries, or the collectors' dedup marks
 *   of the old content would swallow the new content's lines.
 */
export function streamKey(agentId: string, identity: InodeRef, generation = 0): string {
  if (!Number.isSafeInteger(generation) || generation < 0) {
    throw new RelayError(TailErrorCode.BadOption, 'generation must be a non-negative integer', {
      details: { generation },
    });
  }
  return `${agentId}:${identity.device}:${identity.inode}:${generation}`;
}

/** Options of {@link probeFile}. */
export interface ProbeOptions {
  /** Prefix length the fingerprint covers, in bytes. Default 1024. */
  fingerprintBytes?: number;
  /**
   * A known identity's `prefixLength`: read at least this many bytes so {@link sameFile} can
   * check it even if `fingerprintBytes` was lowered since. Default 0.
   */
  knownPrefixLength?: number;
}

/** fstat + read of the first bytes through one open descriptor, so both describe one file. */
export async function probeFile(
  handle: FileHandle,
  options: ProbeOptions = {},
): Promise<FileProbe> {
  const fingerprintBytes = options.fingerprintBytes ?? DEFAULT_FINGERPRINT_BYTES;
  checkFingerprintBytes(fingerprintBytes);
  try {
    const st = await handle.stat();
    const want = Math.min(st.size, Math.max(fingerprintBytes, options.knownPrefixLength ?? 0));
    const prefix = await readPrefix(handle, want);
    return { device: st.dev, inode: st.ino, size: st.size, prefix };
  } catch (err) {
    throw ioError(err, 'probe');
  }
}

/** Reads up to `length` bytes from offset 0; fewer if the file shrank meanwhile. */
async function readPrefix(handle: FileHandle, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buf, filled, length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buf : buf.subarray(0, filled);
}

function checkFingerprintBytes(n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RelayError(TailErrorCode.BadOption, 'fingerprintBytes must be an integer ≥ 1', {
      details: { fingerprintBytes: n },
    });
  }
}

function ioError(err: unknown, op: string): RelayError {
  if (err instanceof RelayError) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  return new RelayError(TailErrorCode.ReadFailed, `${op} failed: ${String(err)}`, {
    retriable: true,
    cause: err,
    details: { errno },
  });
}
