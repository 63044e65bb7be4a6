/**
 * What happened to a tailed file? Pure decisions over stat results (plus one I/O helper that
 * gathers them), so every rotation scheme can be unit-tested without a file system.
 *
 * The agent holds an open descriptor per file it reads. While a descriptor is open the inode
 * cannot be freed, so "the path names another inode" always means the path was pointed elsewhere
 * (rename + create, symlink retarget, delete + create), never that our file changed identity;
 * the old file is finished through the descriptor. Inode reuse can only be met when no
 * descriptor is held (after a restart), which {@link decideResume} handles with the prefix check.
 */
import { lstat, readlink, stat } from 'node:fs/promises';
import { RelayError } from '../../common/errors/relay-error.js';
import { sameFile, sameInode } from './fingerprint.js';
import type { FileIdentity, FileProbe, InodeRef } from './fingerprint.js';
import { TailErrorCode } from './line-splitter.js';

/** The fields of `fs.Stats` the decisions use. */
export interface StatLike {
  dev: number;
  ino: number;
  /** Size in bytes. */
  size: number;
  /** Hard-link count; 0 for a file that has been deleted but is still open. */
  nlink: number;
}

/** What is at a path now. */
export interface PathProbe {
  /** `stat` of the path, following symlinks; undefined when nothing is there (or the link dangles). */
  stat: StatLike | undefined;
  /** Whether the path itself is a symbolic link. */
  isSymlink: boolean;
  /** The link's target as stored (`readlink`), when `isSymlink`. */
  linkTarget: string | undefined;
}

/** What the agent knows about a file it holds open under a path. */
export interface TrackedFile extends InodeRef {
  /** Bytes read from the descriptor so far (the tailer's `position`). */
  position: number;
  /** File size at the previous observation, in bytes. */
  lastSize: number;
  /** The path's link target at the previous observation, when the path was a symlink. */
  linkTarget?: string | undefined;
}

/** Why content restarted on the same inode. */
export type TruncationCause =
  /** The file is smaller than what was read or seen: truncated in place (copytruncate). */
  | 'shrunk'
  /** Not smaller, but its first bytes changed: truncated and written again between looks. */
  | 'rewritten';

/** A truncation in place: read again from offset 0 as a new generation. */
export interface Truncation {
  cause: TruncationCause;
  /** File size when the truncation was seen, in bytes. */
  newSize: number;
  /**
   * Bytes known to be lost: those the file was seen to hold past the read position
   * (`lastSize - position`) before it was truncated. A lower bound: bytes appended after the last
   * observation and before the truncation were never seen by anyone on this host.
   */
  lostBytes: number;
}

/** The change at a tailed path since the previous look, and what the caller does about it. */
export type PathChange =
  /** Same file, no new bytes. */
  | { kind: 'unchanged' }
  /** Same file, `newBytes` more to read. Keep reading. */
  | { kind: 'grew'; newBytes: number }
  /** Same inode truncated in place: the tailer restarts at 0 as a new generation. */
  | ({ kind: 'truncated' } & Truncation)
  /**
   * The path names another file now. Drain the old descriptor to EOF (and keep it until its
   * batches are acked), then open the path as a new file from offset 0. `oldFile` tells whether
   * the old file still has a name (`renamed`, e.g. `app.log.1`) or none (`deleted`).
   */
  | { kind: 'replaced'; via: 'rename' | 'symlink'; oldFile: 'renamed' | 'deleted' }
  /** Nothing at the path; the old file lives on under another name. Drain it; watch the path. */
  | { kind: 'moved' }
  /** Nothing at the path and the old file has no name left. Drain the descriptor, then close. */
  | { kind: 'deleted' };

/**
 * Pure truncation test: the file is smaller than the bytes already read or than its last seen
 * size, or (when checked) its first bytes changed.
 *
 * @param prefixMatches result of {@link sameFile} for the current content; undefined when not checked.
 */
export function detectTruncation(
  position: number,
  lastSize: number,
  size: number,
  prefixMatches?: boolean,
): Truncation | undefined {
  const shrunk = size < position || size < lastSize;
  if (!shrunk && prefixMatches !== false) return undefined;
  return {
    cause: shrunk ? 'shrunk' : 'rewritten',
    newSize: size,
    lostBytes: Math.max(0, lastSize - position),
  };
}

/**
 * Decides what happened at a tailed path.
 *
 * @param tracked the open file previously read under this path.
 * @param probe what is at the path now ({@link probePath}).
 * @param openStat fstat of the held descriptor (its `nlink` tells renamed from deleted).
 * @param prefixMatches whether the open file's first bytes still match its identity, if checked.
 */
export function classifyPath(
  tracked: TrackedFile,
  probe: PathProbe,
  openStat: Pick<StatLike, 'nlink' | 'size'>,
  prefixMatches?: boolean,
): PathChange {
  const oldFile = openStat.nlink === 0 ? 'deleted' : 'renamed';
  const now = probe.stat;
  if (now === undefined) return oldFile === 'deleted' ? { kind: 'deleted' } : { kind: 'moved' };
  if (!sameInode(tracked, { device: now.dev, inode: now.ino })) {
    const retargeted = probe.isSymlink && probe.linkTarget !== tracked.linkTarget;
    return { kind: 'replaced', via: retargeted ? 'symlink' : 'rename', oldFile };
  }
  const truncation = detectTruncation(tracked.position, tracked.lastSize, now.size, prefixMatches);
  if (truncation !== undefined) return { kind: 'truncated', ...truncation };
  return now.size > tracked.position
    ? { kind: 'grew', newBytes: now.size - tracked.position }
    : { kind: 'unchanged' };
}

/** A registry entry: the file's identity and the acked offset to resume from. */
export interface ResumePoint {
  identity: FileIdentity;
  /** Acked byte offset (start of the first line not yet acknowledged). */
  offset: number;
}

/** What to do with a file found at start-up (or reopened) given a registry entry. */
export type ResumeDecision =
  /** Same file: continue at the acked offset, same stream and generation. */
  | { action: 'resume'; offset: number }
  /**
   * Same device + inode but the content restarted: `truncated` (same first bytes, now shorter
   * than the acked offset) or `replaced` (different first bytes: inode reused, or truncated and
   * rewritten). Read from 0 under a new generation.
   */
  | { action: 'restart'; reason: 'truncated' | 'replaced' }
  /** The entry describes another device + inode: it says nothing about this file. */
  | { action: 'unrelated' };

/**
 * Pure: decides how to read a file that has a registry entry with the same device + inode.
 * The probe must come from the descriptor that will be read (see `FileTailer.probe()`), so the
 * decision and the reading concern one file.
 */
export function decideResume(point: ResumePoint, probe: FileProbe): ResumeDecision {
  if (!sameInode(point.identity, probe)) return { action: 'unrelated' };
  if (!sameFile(point.identity, probe)) return { action: 'restart', reason: 'replaced' };
  if (probe.size < point.offset) return { action: 'restart', reason: 'truncated' };
  return { action: 'resume', offset: point.offset };
}

/**
 * The open file with the given device + inode, if any. Discovery uses it so a rotated name that
 * still matches the glob (`app.log.1`) is recognised as the file already being read, not a new one.
 */
export function findByInode<T extends InodeRef>(
  files: Iterable<T>,
  st: Pick<StatLike, 'dev' | 'ino'>,
): T | undefined {
  for (const f of files) {
    if (f.device === st.dev && f.inode === st.ino) return f;
  }
  return undefined;
}

/** Looks at a path: `lstat` for the link, `stat` through it. Missing paths are not errors. */
export async function probePath(path: string): Promise<PathProbe> {
  try {
    const l = await lstat(path);
    if (!l.isSymbolicLink()) {
      return { stat: pickStat(l), isSymlink: false, linkTarget: undefined };
    }
    const linkTarget = await readlink(path);
    const target = await stat(path).catch((err: unknown) => {
      if (isMissing(err)) return undefined;
      throw err;
    });
    return { stat: target && pickStat(target), isSymlink: true, linkTarget };
  } catch (err) {
    if (isMissing(err)) return { stat: undefined, isSymlink: false, linkTarget: undefined };
    throw new RelayError(TailErrorCode.ReadFailed, `cannot stat ${path}: ${String(err)}`, {
      retriable: true,
      cause: err,
      details: { path, errno: (err as NodeJS.ErrnoException).code },
    });
  }
}

function pickStat(s: StatLike): StatLike {
  return { dev: s.dev, ino: s.ino, size: s.size, nlink: s.nlink };
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  // ENOTDIR: a path component became a file; ELOOP: a symlink cycle. Either way nothing to read.
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}
