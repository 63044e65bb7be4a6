import { createHash } from 'node:crypto';
import { open, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_FINGERPRINT_BYTES,
  hashPrefix,
  identityOf,
  probeFile,
  sameFile,
  sameInode,
  streamKey,
} from '../../../../src/agent/tail/fingerprint.js';
import type { FileProbe } from '../../../../src/agent/tail/fingerprint.js';
import { tempDir } from '../../../helpers/temp-dir.js';

function probe(content: string | Buffer, device = 1, inode = 100, limit = 1024): FileProbe {
  const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
  return { device, inode, size: bytes.length, prefix: bytes.subarray(0, limit) };
}

describe('fingerprint', () => {
  it('hashes to 16 hex chars of SHA-256', () => {
    const h = hashPrefix(Buffer.from('abc'));
    expect(h).toMatch(/^[0-9a-f]{16}$/);
    expect(h).toBe(createHash('sha256').update('abc').digest('hex').slice(0, 16));
  });

  it('has no fingerprint while the file is shorter than fingerprintBytes', () => {
    const id = identityOf(probe('short file\n'), 1024);
    expect(id).toEqual({
      device: 1,
      inode: 100,
      fingerprint: '',
      prefixLength: 11,
      prefixHash: hashPrefix(Buffer.from('short file\n')),
    });
  });

  it('fingerprints exactly the first fingerprintBytes bytes once the file is that long', () => {
    const body = Buffer.alloc(3000, 0x61);
    body.write('different tail', 2000);
    const id = identityOf(probe(body, 1, 100, 3000), 1024);
    expect(id.prefixLength).toBe(1024);
    expect(id.fingerprint).toBe(hashPrefix(body.subarray(0, 1024)));
    expect(id.prefixHash).toBe(id.fingerprint);
    const exact = identityOf(probe(body.subarray(0, 1024)), 1024);
    expect(exact.fingerprint).toBe(id.fingerprint);
    expect(identityOf(probe(body.subarray(0, 1023)), 1024).fingerprint).toBe('');
    expect(DEFAULT_FINGERPRINT_BYTES).toBe(1024);
  });

  it('recognises a short file as it grows past the threshold, with a stable stream key', () => {
    const first = 'line 1\n';
    const known = identityOf(probe(first));
    const grownContent = first + 'x'.repeat(5000);
    const grown = probe(grownContent);
    expect(sameFile(known, grown)).toBe(true);
    const updated = identityOf(grown);
    expect(updated.fingerprint).not.toBe('');
    expect(sameFile(updated, probe(grownContent + 'more'))).toBe(true);
    expect(streamKey('agent-1', updated)).toBe(streamKey('agent-1', known));
  });

  it('detects inode reuse: same device and inode, different first bytes', () => {
    const known = identityOf(probe('old content of a deleted file\n'));
    expect(sameFile(known, probe('new file on a recycled inode, longer than the old one\n'))).toBe(
      false,
    );
    const longKnown = identityOf(probe('A'.repeat(2000)));
    expect(sameFile(longKnown, probe('B' + 'A'.repeat(1999)))).toBe(false);
    expect(sameFile(longKnown, probe('A'.repeat(1024) + 'changed after the prefix'))).toBe(true);
  });

  it('treats a file now shorter than the known prefix as a different file', () => {
    const known = identityOf(probe('0123456789'));
    expect(sameFile(known, probe('01234'))).toBe(false);
  });

  it('never matches another device or inode', () => {
    const known = identityOf(probe('same bytes'));
    expect(sameFile(known, probe('same bytes', 2, 100))).toBe(false);
    expect(sameFile(known, probe('same bytes', 1, 101))).toBe(false);
    expect(sameInode(known, { device: 1, inode: 100 })).toBe(true);
    expect(sameInode(known, { device: 1, inode: 7 })).toBe(false);
  });

  it('an empty known prefix matches any content on that inode (nothing of it was read)', () => {
    const known = identityOf(probe(''));
    expect(known.prefixLength).toBe(0);
    expect(sameFile(known, probe('anything'))).toBe(true);
  });

  it('builds stream keys from agent, device, inode and generation only', () => {
    const id = identityOf(probe('abc'));
    expect(streamKey('host-a', id)).toBe('host-a:1:100:0');
    expect(streamKey('host-a', id, 3)).toBe('host-a:1:100:3');
    expect(streamKey('a:b', { device: 5, inode: 6 })).toBe('a:b:5:6:0');
    expect(() => streamKey('x', id, -1)).toThrow(
      expect.objectContaining({ code: 'TAIL_BAD_OPTION' }),
    );
  });

  it('rejects a bad fingerprintBytes', () => {
    expect(() => identityOf(probe('x'), 0)).toThrow(
      expect.objectContaining({ code: 'TAIL_BAD_OPTION' }),
    );
  });

  describe('probeFile', () => {
    let dir = '';
    let cleanup: () => Promise<void> = async () => undefined;
    beforeEach(async () => {
      ({ dir, cleanup } = await tempDir());
    });
    afterEach(async () => {
      await cleanup();
    });

    it('reads device, inode, size and the first bytes through one descriptor', async () => {
      const path = join(dir, 'a.log');
      const body = Buffer.alloc(5000, 0x41);
      await writeFile(path, body);
      const handle = await open(path, 'r');
      try {
        const st = await handle.stat();
        const p = await probeFile(handle, { fingerprintBytes: 100 });
        expect(p).toMatchObject({ device: st.dev, inode: st.ino, size: 5000 });
        expect(p.prefix.length).toBe(100);
        // A known identity with a longer prefix (fingerprintBytes lowered since) is still checkable.
        const known = identityOf({ ...p, prefix: body.subarray(0, 300) }, 300);
        const wide = await probeFile(handle, { fingerprintBytes: 100, knownPrefixLength: 300 });
        expect(wide.prefix.length).toBe(300);
        expect(sameFile(known, wide)).toBe(true);
      } finally {
        await handle.close();
      }
    });

    it('returns what exists for a short or empty file', async () => {
      const path = join(dir, 'short.log');
      await writeFile(path, 'hi\n');
      const handle = await open(path, 'r');
      try {
        const p = await probeFile(handle);
        expect(p.prefix.toString()).toBe('hi\n');
        expect(identityOf(p).fingerprint).toBe('');
        await truncate(path, 0);
        expect((await probeFile(handle)).prefix.length).toBe(0);
      } finally {
        await handle.close();
      }
    });
  });
});
