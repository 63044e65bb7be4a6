import { mkdir, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { identityOf } from '../../../../src/agent/tail/fingerprint.js';
import type { FileProbe } from '../../../../src/agent/tail/fingerprint.js';
import {
  classifyPath,
  decideResume,
  detectTruncation,
  findByInode,
  probePath,
} from '../../../../src/agent/tail/rotation.js';
import type { PathProbe, TrackedFile } from '../../../../src/agent/tail/rotation.js';
import { tempDir } from '../../../helpers/temp-dir.js';

const tracked: TrackedFile = { device: 1, inode: 10, position: 500, lastSize: 800 };
const linked = { nlink: 1, size: 800 };
const unlinked = { nlink: 0, size: 800 };

function at(ino: number, size: number, extra: Partial<PathProbe> = {}): PathProbe {
  return {
    stat: { dev: 1, ino, size, nlink: 1 },
    isSymlink: false,
    linkTarget: undefined,
    ...extra,
  };
}

const nothing: PathProbe = { stat: undefined, isSymlink: false, linkTarget: undefined };

describe('detectTruncation', () => {
  it('sees nothing while the file only grows', () => {
    expect(detectTruncation(500, 800, 800)).toBeUndefined();
    expect(detectTruncation(500, 800, 900, true)).toBeUndefined();
  });

  it('reports a file smaller than the read position, counting seen-but-unread bytes as lost', () => {
    expect(detectTruncation(500, 800, 0)).toEqual({ cause: 'shrunk', newSize: 0, lostBytes: 300 });
    expect(detectTruncation(800, 800, 10)).toEqual({ cause: 'shrunk', newSize: 10, lostBytes: 0 });
  });

  it('reports a file smaller than its last size even if still past the read position', () => {
    expect(detectTruncation(100, 800, 400)).toEqual({
      cause: 'shrunk',
      newSize: 400,
      lostBytes: 700,
    });
  });

  it('reports a rewritten file (first bytes changed) even when it did not shrink', () => {
    expect(detectTruncation(500, 800, 5000, false)).toEqual({
      cause: 'rewritten',
      newSize: 5000,
      lostBytes: 300,
    });
  });
});

describe('classifyPath', () => {
  it('same inode: unchanged or grew', () => {
    expect(classifyPath(tracked, at(10, 800), linked)).toEqual({ kind: 'grew', newBytes: 300 });
    expect(classifyPath({ ...tracked, lastSize: 500 }, at(10, 500), linked)).toEqual({
      kind: 'unchanged',
    });
    expect(classifyPath(tracked, at(10, 900), linked)).toEqual({ kind: 'grew', newBytes: 400 });
  });

  it('same inode, smaller: copytruncate', () => {
    expect(classifyPath(tracked, at(10, 20), linked)).toEqual({
      kind: 'truncated',
      cause: 'shrunk',
      newSize: 20,
      lostBytes: 300,
    });
  });

  it('same inode, first bytes changed: truncated and rewritten', () => {
    expect(classifyPath(tracked, at(10, 4000), linked, false)).toMatchObject({
      kind: 'truncated',
      cause: 'rewritten',
    });
  });

  it('another inode at the path: renamed away (or deleted) and replaced', () => {
    expect(classifyPath(tracked, at(11, 0), linked)).toEqual({
      kind: 'replaced',
      via: 'rename',
      oldFile: 'renamed',
    });
    expect(classifyPath(tracked, at(11, 0), unlinked)).toEqual({
      kind: 'replaced',
      via: 'rename',
      oldFile: 'deleted',
    });
  });

  it('a symlink whose target changed: identity follows the target', () => {
    const link = { ...tracked, linkTarget: 'app-1.log' };
    expect(
      classifyPath(link, at(11, 50, { isSymlink: true, linkTarget: 'app-2.log' }), linked),
    ).toEqual({ kind: 'replaced', via: 'symlink', oldFile: 'renamed' });
    // Same target string, same inode: an ordinary append.
    expect(
      classifyPath(link, at(10, 900, { isSymlink: true, linkTarget: 'app-1.log' }), linked),
    ).toEqual({ kind: 'grew', newBytes: 400 });
  });

  it('nothing at the path: moved (still named elsewhere) or deleted', () => {
    expect(classifyPath(tracked, nothing, linked)).toEqual({ kind: 'moved' });
    expect(classifyPath(tracked, nothing, unlinked)).toEqual({ kind: 'deleted' });
  });
});

describe('decideResume', () => {
  const content = 'first line\nsecond line\n';
  const identity = identityOf({
    device: 1,
    inode: 10,
    size: content.length,
    prefix: Buffer.from(content),
  });
  const p = (body: string, ino = 10): FileProbe => ({
    device: 1,
    inode: ino,
    size: body.length,
    prefix: Buffer.from(body).subarray(0, 1024),
  });

  it('resumes the same file (possibly grown) at the acked offset', () => {
    expect(decideResume({ identity, offset: 11 }, p(content))).toEqual({
      action: 'resume',
      offset: 11,
    });
    expect(decideResume({ identity, offset: 23 }, p(content + 'third\n'))).toEqual({
      action: 'resume',
      offset: 23,
    });
  });

  it('restarts when the same content is now shorter than the acked offset', () => {
    const id = identityOf(p('first line\n'));
    expect(decideResume({ identity: id, offset: 23 }, p('first line\nxy'))).toEqual({
      action: 'restart',
      reason: 'truncated',
    });
  });

  it('restarts as a new file when the inode was reused with other content', () => {
    expect(decideResume({ identity, offset: 11 }, p('a different file entirely\n'))).toEqual({
      action: 'restart',
      reason: 'replaced',
    });
  });

  it('ignores entries of other inodes', () => {
    expect(decideResume({ identity, offset: 11 }, p(content, 99))).toEqual({
      action: 'unrelated',
    });
  });
});

describe('findByInode', () => {
  it('finds the open file a rotated name refers to', () => {
    const files = [
      { device: 1, inode: 10, path: 'app.log' },
      { device: 1, inode: 11, path: 'other.log' },
    ];
    expect(findByInode(files, { dev: 1, ino: 11 })?.path).toBe('other.log');
    expect(findByInode(files, { dev: 2, ino: 11 })).toBeUndefined();
  });
});

describe('probePath', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterEach(async () => {
    await cleanup();
  });

  it('stats a regular file and reports a missing one without throwing', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, 'abc\n');
    const p = await probePath(path);
    expect(p.isSymlink).toBe(false);
    expect(p.stat).toMatchObject({ size: 4, nlink: 1 });
    expect(await probePath(join(dir, 'missing.log'))).toEqual(nothing);
    expect(await probePath(join(dir, 'app.log', 'below-a-file'))).toEqual(nothing);
  });

  it('follows a symlink, reports its target, and sees a retarget and a dangling link', async () => {
    await writeFile(join(dir, 'a.log'), 'a\n');
    await writeFile(join(dir, 'b.log'), 'bb\n');
    const link = join(dir, 'current.log');
    await symlink('a.log', link);
    const first = await probePath(link);
    expect(first).toMatchObject({ isSymlink: true, linkTarget: 'a.log', stat: { size: 2 } });
    const tracked: TrackedFile = {
      device: first.stat!.dev,
      inode: first.stat!.ino,
      position: 2,
      lastSize: 2,
      linkTarget: first.linkTarget,
    };

    // Retarget atomically, as deploy tools do: new link, rename over the old one.
    await symlink('b.log', join(dir, 'next.log'));
    await rename(join(dir, 'next.log'), link);
    const second = await probePath(link);
    expect(second).toMatchObject({ isSymlink: true, linkTarget: 'b.log', stat: { size: 3 } });
    expect(classifyPath(tracked, second, { nlink: 1, size: 2 })).toEqual({
      kind: 'replaced',
      via: 'symlink',
      oldFile: 'renamed',
    });

    await unlink(join(dir, 'b.log'));
    expect(await probePath(link)).toEqual({
      stat: undefined,
      isSymlink: true,
      linkTarget: 'b.log',
    });
  });

  it('reports a directory where a file was as it is (the caller compares inodes)', async () => {
    const path = join(dir, 'x');
    await mkdir(path);
    const p = await probePath(path);
    expect(p.stat).toBeDefined();
    await rm(path, { recursive: true });
    expect((await probePath(path)).stat).toBeUndefined();
  });
});
