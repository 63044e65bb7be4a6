import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isInsideRoots } from '../../../../src/agent/tail/confine.js';
import { FileTailer } from '../../../../src/agent/tail/file-reader.js';
import { TailErrorCode } from '../../../../src/agent/tail/line-splitter.js';
import { tempDir } from '../../../helpers/temp-dir.js';

// Issue 12 item 2: confinement is decided on the opened descriptor, before any read.
describe('FileTailer.open with confine (remote.allow)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  async function layout() {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    const root = join(dir, 'logs');
    const outside = join(dir, 'secret');
    await mkdir(root);
    await mkdir(outside);
    await writeFile(join(root, 'app.log'), 'inside\n');
    await writeFile(join(outside, 'shadow'), 'SECRET\n');
    return { dir, root, outside };
  }

  it('opens and reads a file inside the roots', async () => {
    const { root } = await layout();
    const tailer = await FileTailer.open(join(root, 'app.log'), { confine: [root] });
    const { lines } = await tailer.readLines();
    expect(lines.map((l) => l.content.toString())).toEqual(['inside']);
    await tailer.close();
  });

  it('refuses a symlink inside the roots that leads outside, with TAIL_OUTSIDE_ROOTS', async () => {
    const { root, outside } = await layout();
    await symlink(join(outside, 'shadow'), join(root, 'escape.log'));
    await expect(
      FileTailer.open(join(root, 'escape.log'), { confine: [root] }),
    ).rejects.toMatchObject({
      code: TailErrorCode.OutsideRoots,
      message: expect.stringContaining('resolves outside the allowed roots (symlink)') as unknown,
    });
    // Unconfined (a local tail), the same path opens: confinement is what refused it.
    const local = await FileTailer.open(join(root, 'escape.log'));
    await local.close();
  });

  it('accepts files below an allowed root that is itself a symlink', async () => {
    const { dir, root } = await layout();
    const alias = join(dir, 'alias');
    await symlink(root, alias);
    const tailer = await FileTailer.open(join(alias, 'app.log'), { confine: [alias] });
    await tailer.close();
  });

  it('matches roots by whole path components', () => {
    expect(isInsideRoots('/var/log/app/a.log', ['/var/log/app'])).toBe(true);
    expect(isInsideRoots('/var/log/app/a.log', ['/var/log/app/'])).toBe(true);
    expect(isInsideRoots('/var/log/application/a.log', ['/var/log/app'])).toBe(false);
    expect(isInsideRoots('/etc/shadow', [])).toBe(false);
  });
});
