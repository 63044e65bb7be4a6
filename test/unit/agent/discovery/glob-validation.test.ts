import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { agentConfigSchema } from '../../../../src/agent/config.js';
import { parseRemoteTails } from '../../../../src/agent/control/remote-tails.js';
import {
  expandGlob,
  GlobErrorCode,
  globProblem,
  globToRegExp,
} from '../../../../src/agent/discovery/glob.js';
import { exitCodes } from '../../../../src/cli.js';
import { ConfigError } from '../../../../src/common/config/config-error.js';
import { validateConfig } from '../../../../src/common/config/load-config.js';
import { runCli } from '../../../helpers/cli.js';
import { tempDir } from '../../../helpers/temp-dir.js';

// Issue 12 item 8: a glob that cannot be compiled (`[z-a]`) is refused where it is written —
// agent.yaml (exit 2, naming the key path) or etcd (refused, reported) — never at scan time.
describe('malformed globs', () => {
  afterEach(() => vi.restoreAllMocks());

  it('names what is wrong with a glob that does not compile, and accepts good ones', () => {
    expect(globProblem('/var/log/[z-a].log')).toMatch(
      /^invalid glob "\/var\/log\/\[z-a\]\.log": Range out of order/,
    );
    for (const good of ['/var/log/*.log', '/var/log/**/app-[0-9].log', '/x/[!a]?', '/x/[abc'])
      expect(globProblem(good)).toBeUndefined();
    expect(() => globToRegExp('/x/[z-a]')).toThrow(
      expect.objectContaining({ code: GlobErrorCode.Invalid }),
    );
  });

  it('refuses a bad glob in tails[].paths and tails[].exclude, naming each key path', () => {
    let error: unknown;
    try {
      validateConfig(agentConfigSchema, {
        collectors: ['127.0.0.1:1'],
        tails: [
          { paths: ['/var/log/a.log'], topic: 'a' },
          { paths: ['/var/log/[z-a].log', '/var/log/ok.log'], topic: 'b', exclude: ['*.[9-0]'] },
        ],
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues;
    expect(issues.map((i) => i.path)).toEqual(['tails[1].paths[0]', 'tails[1].exclude[0]']);
    expect(issues[0]?.message).toContain('Range out of order in character class');
  });

  it('exits 2 at start with the key path of the bad glob', async () => {
    const { dir, cleanup } = await tempDir();
    const file = join(dir, 'agent.yaml');
    await writeFile(
      file,
      [
        'collectors: ["127.0.0.1:1"]',
        'tails:',
        '  - { paths: ["/var/log/a.log"], topic: a }',
        '  - { paths: ["/var/log/[z-a].log"], topic: b }',
        '',
      ].join('\n'),
    );
    const { code, stderr } = await runCli('agent', '-c', file);
    await cleanup();
    expect(code).toBe(exitCodes.usage);
    expect(stderr).toContain(`invalid configuration in ${file}`);
    expect(stderr).toMatch(/tails\[1\]\.paths\[0\]: invalid glob .*Range out of order/);
  });

  it('refuses a bad glob from the control plane, keeping the tails around it', () => {
    const { tails, refused } = parseRemoteTails(
      JSON.stringify([
        { id: 1, log_path: '/var/log/app/a.log', topic: 'a', status: 1 },
        { id: 2, log_path: '/var/log/app/[z-a].log', topic: 'b', status: 1 },
        { id: 3, log_path: '/var/log/app/c.log', topic: 'c', status: 1 },
      ]),
      ['/var/log/app'],
    );
    expect(tails.map((t) => t.name)).toEqual(['remote:1', 'remote:3']);
    expect(refused).toEqual([
      {
        id: '2',
        logPath: '/var/log/app/[z-a].log',
        reason: expect.stringContaining('invalid glob') as unknown,
      },
    ]);
  });

  it('expandGlob rejects a bad glob with GLOB_INVALID instead of a bare SyntaxError', async () => {
    await expect(expandGlob('/tmp/[z-a]*')).rejects.toMatchObject({ code: GlobErrorCode.Invalid });
  });
});
