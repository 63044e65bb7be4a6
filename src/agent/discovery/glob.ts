import { readdir } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { RelayError } from '../../common/errors/relay-error.js';

/** Stable error codes of glob handling. */
export const GlobErrorCode = {
  /** The glob cannot be compiled (e.g. a reversed range `[z-a]`). */
  Invalid: 'GLOB_INVALID',
} as const;

/**
 * A path glob: `*` and `?` within one path segment, `**` for any number of segments, `[abc]`
 * classes. Node 20 has no fs.glob, and tailing needs only this much. Throws `GLOB_INVALID` for
 * a glob that cannot be compiled (a reversed range such as `[z-a]`).
 */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches zero or more whole segments.
        const slash = glob[i + 2] === '/';
        re += slash ? '(?:[^/]*/)*' : '.*';
        i += slash ? 2 : 1;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) re += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else re += /[.+^${}()|\\]/.test(c) ? `\\${c}` : c;
  }
  try {
    return new RegExp(`^${re}$`);
  } catch (err) {
    // The engine's message names the regular expression, not the glob the user wrote.
    const why = err instanceof Error ? err.message.replace(/^.*: /, '') : String(err);
    throw new RelayError(GlobErrorCode.Invalid, `invalid glob ${JSON.stringify(glob)}: ${why}`, {
      cause: err,
      details: { glob },
    });
  }
}

/**
 * Why `glob` cannot be used (e.g. `invalid glob "/x/[z-a]": Range out of order in character
 * class`), or undefined when it compiles. Config validation and the control plane call this so
 * a bad glob is refused where it is written, never at scan time.
 */
export function globProblem(glob: string): string | undefined {
  try {
    globToRegExp(glob);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export function hasMagic(segment: string): boolean {
  return /[*?[]/.test(segment);
}

/** The longest leading directory of an absolute glob without wildcards (where the walk starts). */
export function globBase(glob: string): string {
  const parts = glob.split('/');
  const fixed: string[] = [];
  for (const part of parts.slice(0, -1)) {
    if (hasMagic(part)) break;
    fixed.push(part);
  }
  return fixed.join('/') || '/';
}

/** Errors of a folder that does not exist (yet): normal, never reported. */
const ABSENT = new Set(['ENOENT', 'ENOTDIR']);

export interface ExpandGlobOptions {
  /** Deepest folder level `**` descends to. Default: 16. */
  maxDepth?: number;
  /**
   * Called for each folder that exists but cannot be read (EACCES, EIO, ...); it is skipped.
   * A missing folder is not reported: it is normal before an application first writes.
   */
  onUnreadable?: (dir: string, err: NodeJS.ErrnoException) => void;
}

/**
 * Files (and symlinks to files) matching an absolute glob. Folders that cannot be read are
 * skipped (and reported to `onUnreadable` unless they are merely missing).
 */
export async function expandGlob(glob: string, options: ExpandGlobOptions = {}): Promise<string[]> {
  const maxDepth = options.maxDepth ?? 16;
  if (!hasMagic(glob)) return [glob];
  const re = globToRegExp(glob);
  const recursive = glob.includes('**');
  const base = globBase(glob);
  const baseDepth = base === '/' ? 0 : base.split('/').length - 1;
  const globDepth = glob.split('/').length - 1;
  const out: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (!ABSENT.has(e.code ?? '')) options.onUnreadable?.(dir, e);
      return;
    }
    for (const entry of entries) {
      const path = dir === '/' ? `/${entry.name}` : join(dir, entry.name);
      if (entry.isDirectory()) {
        if (depth + 1 < (recursive ? maxDepth : globDepth)) await walk(path, depth + 1);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && re.test(path.split(sep).join('/'))) {
        out.push(path);
      }
    }
  };
  await walk(base, baseDepth);
  return out.sort();
}
