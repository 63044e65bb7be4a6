import { copyFileSync, renameSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findCopy, startsWith } from '../../../../src/agent/tail/copy-finder.js';
import { identityOf } from '../../../../src/agent/tail/fingerprint.js';
import { tempDir } from '../../../helpers/temp-dir.js';

describe('findCopy', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  const content = Array.from({ length: 100 }, (_, i) => `line ${i} of the old content\n`).join('');
  const identity = identityOf({
    device: 1,
    inode: 2,
    size: content.length,
    prefix: Buffer.from(content),
  });

  it('finds the file in the folder that starts with the known first bytes', async () => {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    await writeFile(join(dir, 'app.log'), 'new content after the truncation\n');
    await writeFile(join(dir, 'app.log.1'), content + 'line written before the truncation\n');
    await writeFile(join(dir, 'other.log'), 'something else entirely, long enough\n');
    const copy = await findCopy(dir, identity, () => false);
    expect(copy?.path).toBe(join(dir, 'app.log.1'));
    expect(copy?.size).toBe(content.length + 'line written before the truncation\n'.length);
  });

  it('passes over skipped files, shorter files and too short an identity', async () => {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    await writeFile(join(dir, 'app.log.1'), content);
    await writeFile(join(dir, 'app.log.2'), content.slice(0, 500));
    expect(await findCopy(dir, identity, () => true)).toBeUndefined();
    const short = identityOf({ device: 1, inode: 2, size: 8, prefix: Buffer.from('line 0 o') });
    expect(await findCopy(dir, short, () => false)).toBeUndefined();
  });

  it('finds the copy when a rotation shifts the names while the folder is gone through', async () => {
    // logrotate's shift (app.log.1 → app.log.2, app.log → app.log.1) happens each time the copy
    // is looked at, twice: at its first name and at its second one. A pass that took a name's
    // file and bytes at different times, or trusted one listing, would miss it whichever order
    // the folder lists its names in; it ends at app.log.3.
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    const at = (name: string) => join(dir, name);
    await writeFile(at('app.log'), 'the content copied next, long enough to be compared\n');
    await writeFile(at('app.log.1'), content);
    await writeFile(at('app.log.2'), 'an older content, long enough to be compared\n');
    const { dev, ino } = statSync(at('app.log.1'));
    const id = `${dev}:${ino}`;
    let rotations = 0;
    const rotate = () => {
      for (let k = rotations + 2; k >= 1; k--)
        renameSync(at(`app.log.${k}`), at(`app.log.${k + 1}`));
      copyFileSync(at('app.log'), at('app.log.1'));
      rotations++;
    };
    // skip() is asked about each file as it is looked at: the moment to rotate.
    const copy = await findCopy(dir, identity, (seen) => {
      if (seen === id && rotations < 2) rotate();
      return false;
    });
    expect(rotations).toBe(2);
    expect(copy).toMatchObject({ dev, ino, size: content.length });
    expect([at('app.log.1'), at('app.log.2'), at('app.log.3')]).toContain(copy?.path);
  });

  it('startsWith: the known first bytes, however few; none match anything', async () => {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'app.log.1');
    await writeFile(path, 'a#1\nmore lines\n');
    const of = (bytes: string) =>
      identityOf({ device: 1, inode: 2, size: bytes.length, prefix: Buffer.from(bytes) });
    expect(await startsWith(path, of(''))).toBe(true);
    expect(await startsWith(path, of('a#1\n'))).toBe(true);
    expect(await startsWith(path, of('a#2\n'))).toBe(false);
    expect(await startsWith(path, of('a#1\nmore lines\nand beyond'))).toBe(false);
    expect(await startsWith(join(dir, 'missing'), of('a#1\n'))).toBe(false);
  });
});
