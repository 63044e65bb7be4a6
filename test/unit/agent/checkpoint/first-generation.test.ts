import { mkdtemp, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { birthtimeOf, firstGeneration } from '../../../../src/agent/checkpoint/first-generation.js';

describe('the generation of a file the registry does not know', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('is the same for the same first KiB and birth time, and another for another birth', () => {
    const fp = '3be53c8e9ff36eb6';
    const g = firstGeneration(fp, 1_796_618_383_209_000_001n);
    expect(g).toBe(firstGeneration(fp, 1_796_618_383_209_000_001n));
    expect(g).toBeGreaterThanOrEqual(1);
    expect(g).toBeLessThan(2 ** 31);
    // The same first KiB, another file (the inode reused): never the earlier file's key.
    expect(firstGeneration(fp, 1_796_618_383_209_000_002n)).not.toBe(g);
    expect(firstGeneration('7f114eaaa45e273f', 1_796_618_383_209_000_001n)).not.toBe(g);
  });

  it('is random without a birth time or a complete fingerprint: duplicates at worst, never loss', () => {
    const noBirth = new Set(Array.from({ length: 20 }, () => firstGeneration('3be53c8e', 0n)));
    const short = new Set(Array.from({ length: 20 }, () => firstGeneration('', 123n)));
    expect(noBirth.size).toBeGreaterThan(15);
    expect(short.size).toBeGreaterThan(15);
    for (const g of [...noBirth, ...short]) expect(g).toBeGreaterThanOrEqual(1);
  });

  it("reads a file's birth time while the path still names the same inode", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'logrelay-gen-'));
    dirs.push(dir);
    const path = join(dir, 'app.log');
    await writeFile(path, 'same content\n'.repeat(100));
    const first = await stat(path, { bigint: true });
    const identity = { device: Number(first.dev), inode: Number(first.ino) };
    const born = await birthtimeOf(path, identity);
    if (first.birthtimeNs === 0n) {
      expect(born).toBe(0n); // this file system keeps no birth time
      return;
    }
    expect(born).toBe(first.birthtimeNs);
    expect(await birthtimeOf(path, { ...identity, inode: identity.inode + 1 })).toBe(0n);
    expect(await birthtimeOf(join(dir, 'gone.log'), identity)).toBe(0n);
    // A new file with the same content at the same path: another birth time, another key.
    await unlink(path);
    await new Promise((r) => setTimeout(r, 5));
    await writeFile(path, 'same content\n'.repeat(100));
    const again = await stat(path, { bigint: true });
    const bornAgain = await birthtimeOf(path, {
      device: Number(again.dev),
      inode: Number(again.ino),
    });
    expect(bornAgain).not.toBe(born);
    expect(firstGeneration('3be53c8e9ff36eb6', bornAgain)).not.toBe(
      firstGeneration('3be53c8e9ff36eb6', born),
    );
  });
});
