import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;

describe('npm run demo -- --json', () => {
  it('relays every line exactly once through a collector stop and failover', async () => {
    const { stdout } = await promisify(execFile)(
      'npm',
      ['run', '--silent', 'demo', '--', '--json', '--lines', '15000'],
      {
        cwd: root,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const last = stdout.trim().split('\n').at(-1) ?? '';
    const summary = JSON.parse(last) as Record<string, unknown>;
    await rm(String(summary['output']).replace(/\/out$/, ''), { recursive: true, force: true });
    expect(summary).toMatchObject({
      written: 60_000,
      delivered: 60_000,
      missing: 0,
      duplicated: 0,
    });
    expect(summary['p50Ms']).toEqual(expect.any(Number));
    expect(summary['p99Ms']).toEqual(expect.any(Number));
  });
});
