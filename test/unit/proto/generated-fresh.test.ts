import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/temp-dir.js';

const root = new URL('../../../', import.meta.url).pathname;
const committed = join(root, 'src/common/generated');

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(relative(dir, join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

describe('generated protobuf code', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterAll(() => cleanup?.());

  it('matches a fresh `npm run proto` (regenerate and commit when this fails)', async () => {
    const tmp = await tempDir('logrelay-proto-');
    cleanup = tmp.cleanup;
    const fresh = join(tmp.dir, 'generated');
    await promisify(execFile)('bash', ['scripts/proto.sh', fresh], { cwd: root });

    const files = await listFiles(fresh);
    expect(files).toEqual(await listFiles(committed));
    expect(files).toContain('logrelay/v1/relay.ts');
    for (const file of files) {
      const [want, have] = await Promise.all([
        readFile(join(fresh, file), 'utf8'),
        readFile(join(committed, file), 'utf8'),
      ]);
      expect(have, `src/common/generated/${file} is stale: run npm run proto`).toBe(want);
    }
  }, 60_000);
});
