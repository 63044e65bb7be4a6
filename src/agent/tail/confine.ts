/**
 * Confinement of remote tails to `remote.allow`: decided on the descriptor that was opened, not
 * on the path, because a path can be re-pointed (a symlink flipped) between any check and the
 * `open`. The order is: open, then find what the descriptor really is, then read — never the
 * other way round.
 */
import type { Stats } from 'node:fs';
import { lstat, readlink, realpath } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { RelayError } from '../../common/errors/relay-error.js';
import { TailErrorCode } from './line-splitter.js';

/** The refusal reported for a file whose descriptor leads outside the allowed roots. */
export const OUTSIDE_ROOTS_REASON = 'resolves outside the allowed roots (symlink)';

/** True when `real` (an absolute path without symlinks) is one of `roots` or below one. */
export function isInsideRoots(real: string, roots: readonly string[]): boolean {
  return roots.some(
    (root) => real === root || real.startsWith(root.endsWith('/') ? root : `${root}/`),
  );
}

/**
 * The roots as configured and as resolved now: an allowed folder that is itself a symlink
 * (`/var/log` → `/data/log`) is matched by its target too. The roots come from the local
 * configuration, which is trusted; the control plane cannot change them.
 */
export async function resolvedRoots(roots: readonly string[]): Promise<string[]> {
  const resolved = await Promise.all(roots.map((r) => realpath(r).catch(() => r)));
  return [...new Set([...roots, ...resolved])];
}

/**
 * Where the open descriptor leads: `/proc/self/fd/N` names the file the kernel actually opened
 * (after every symlink, as it is now). Without procfs, the path resolved now, which the caller
 * checks against the descriptor's device and inode.
 */
async function descriptorPath(handle: FileHandle, path: string): Promise<string | undefined> {
  const viaProc = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
  if (viaProc !== undefined) return viaProc;
  return realpath(path).catch(() => undefined);
}

/**
 * Verifies that the file open at `handle` (whose fstat is `opened`) lies inside `roots`, before
 * any byte of it is read. Throws `TAIL_OUTSIDE_ROOTS` when it leads outside them, and
 * `TAIL_FILE_REPLACED` (retriable: the next scan tries again) when what it is cannot be
 * established because the file was removed or re-linked meanwhile.
 */
export async function verifyConfined(
  handle: FileHandle,
  opened: Pick<Stats, 'dev' | 'ino'>,
  path: string,
  roots: readonly string[],
): Promise<void> {
  const real = await descriptorPath(handle, path);
  const unsure = (why: string) =>
    new RelayError(TailErrorCode.Replaced, `${path} ${why} while being opened`, {
      details: { path },
      retriable: true,
    });
  // procfs marks a removed file `<path> (deleted)`; anything not absolute is no plain file.
  if (real === undefined || !real.startsWith('/') || real.endsWith(' (deleted)'))
    throw unsure('was removed');
  if (!isInsideRoots(real, await resolvedRoots(roots))) {
    throw new RelayError(TailErrorCode.OutsideRoots, `${path} ${OUTSIDE_ROOTS_REASON}`, {
      details: { path, real },
    });
  }
  // The name inside the roots must still be this very file: lstat, so that a last component
  // swapped for a symlink since does not pass for it.
  const named = await lstat(real).catch(() => undefined);
  if (named?.dev !== opened.dev || named.ino !== opened.ino) throw unsure('was re-linked');
}
