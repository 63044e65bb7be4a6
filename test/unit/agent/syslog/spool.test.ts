import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../../../src/agent/config.js';
import { Spool } from '../../../../src/agent/syslog/spool.js';
import { tempDir } from '../../../helpers/temp-dir.js';

describe('Spool', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('writes lines in groups, rotates past maxFileBytes by rename, and lists the rotated files', async () => {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    const groups: number[] = [];
    const spool = new Spool({
      directory: join(dir, 'spool'),
      name: 'edge',
      maxFileBytes: 4096,
      fsyncIntervalMs: 10_000,
      onSync: (bytes) => groups.push(bytes),
    });
    await spool.open();
    const line = (n: number) =>
      Buffer.from(`message ${String(n).padStart(4, '0')} ${'x'.repeat(90)}`);
    for (let n = 0; n < 30; n++) spool.append(line(n));
    expect(spool.pendingBytes).toBe(30 * 104);
    await spool.flush();
    // One group of 3120 bytes: below the limit, nothing rotated.
    expect(groups).toEqual([3120]);
    for (let n = 30; n < 60; n++) spool.append(line(n));
    await spool.flush();
    const rotated = await spool.rotated();
    expect(rotated).toHaveLength(1);
    expect(rotated[0]?.size).toBe(6240);
    for (let n = 60; n < 61; n++) spool.append(line(n));
    await spool.close();
    await spool.close();
    const all = [
      ...(await readFile(rotated[0]?.path as string, 'utf8')).split('\n'),
      ...(await readFile(spool.livePath, 'utf8')).split('\n'),
    ].filter((l) => l !== '');
    expect(all).toEqual(Array.from({ length: 61 }, (_, n) => String(line(n))));
    expect((await readdir(join(dir, 'spool'))).sort()).toEqual(
      ['edge.log', (rotated[0]?.path as string).split('/').pop()].sort(),
    );
  });
});

describe('syslog config', () => {
  const base = { collectors: ['127.0.0.1:7070'] };
  const input = { name: 'edge', topic: 'syslog', spool: { directory: '/var/spool/logrelay' } };

  function problems(syslog: unknown[]): string[] {
    const r = agentConfigSchema.safeParse({ ...base, syslog });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  }

  it('needs a listener, a unique name, host:port addresses and an absolute spool folder', () => {
    expect(problems([{ ...input, tcp: '127.0.0.1:5514' }])).toEqual([]);
    expect(problems([input])).toEqual(['syslog.0.tcp: give tcp, udp or both']);
    expect(
      problems([
        { ...input, udp: '0.0.0.0:514' },
        { ...input, tcp: '0.0.0.0:514' },
      ]),
    ).toEqual(['syslog.1.name: another syslog input is named edge']);
    expect(problems([{ ...input, tcp: '5514' }])[0]).toMatch(/^syslog\.0\.tcp: use host:port/);
    expect(problems([{ ...input, tcp: 'h:70000' }])).toEqual([
      'syslog.0.tcp: port must be at most 65535',
    ]);
    expect(problems([{ ...input, udp: 'h:1', spool: { directory: 'spool' } }])).toEqual([
      'syslog.0.spool.directory: must be an absolute path',
    ]);
  });
});
