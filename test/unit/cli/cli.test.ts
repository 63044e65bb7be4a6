import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exitCodes, main } from '../../../src/cli.js';
import { tempDir } from '../../helpers/temp-dir.js';

/** Runs the CLI in-process and captures what it prints. */
async function run(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation(
    (chunk) => ((stdout += String(chunk)), true),
  );
  vi.spyOn(process.stderr, 'write').mockImplementation(
    (chunk) => ((stderr += String(chunk)), true),
  );
  const code = await main(argv);
  vi.restoreAllMocks();
  return { code, stdout, stderr };
}

describe('logrelay command line', () => {
  afterEach(() => vi.restoreAllMocks());

  it('lists every subcommand of the contract in --help', async () => {
    const { code, stdout } = await run('--help');
    expect(code).toBe(exitCodes.ok);
    for (const sub of ['agent', 'collector', 'admin', 'status', 'demo']) {
      expect(stdout).toMatch(new RegExp(`^  ${sub}\\b`, 'm'));
    }
  });

  it.each(['agent', 'collector', 'admin', 'status', 'demo'])(
    '`%s --help` describes the subcommand',
    async (sub) => {
      const { code, stdout } = await run(sub, '--help');
      expect(code).toBe(exitCodes.ok);
      expect(stdout).toContain(`Usage: logrelay ${sub}`);
    },
  );

  it('prints the version', async () => {
    const { code, stdout } = await run('--version');
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('rejects an unknown subcommand with a usage error', async () => {
    const { code, stderr } = await run('frobnicate');
    expect(code).toBe(exitCodes.usage);
    expect(stderr).toContain("unknown command 'frobnicate'");
  });
});

describe('logrelay collector', () => {
  it('requires a configuration file', async () => {
    const { code, stderr } = await run('collector');
    expect(code).toBe(exitCodes.usage);
    expect(stderr).toContain("required option '-c, --config <file>'");
  });

  it('reports every configuration error with its key path and exits with the usage code', async () => {
    const { dir, cleanup } = await tempDir();
    const file = join(dir, 'collector.yaml');
    await writeFile(
      file,
      'listen: { port: 99999 }\nsinks: [{ type: file, name: a, directory: /tmp, colour: red }]\nroutes: [{ topics: [x], sinks: [nope] }]\n',
    );
    const { code, stderr } = await run('collector', '-c', file);
    await cleanup();
    expect(code).toBe(exitCodes.usage);
    expect(stderr).toContain(`invalid configuration in ${file}`);
    expect(stderr).toContain('listen.port:');
    expect(stderr).toContain('sinks[0].colour: unknown key');
  });

  it('names an unreadable configuration file', async () => {
    const { code, stderr } = await run('collector', '-c', '/nonexistent/collector.yaml');
    expect(code).toBe(exitCodes.failure);
    expect(stderr).toContain('cannot read configuration file /nonexistent/collector.yaml');
  });
});

describe('subcommands that are not built yet', () => {
  it.each(['admin', 'status'])('`%s` says so and exits non-zero', async (sub) => {
    const { code, stderr } = await run(sub);
    expect(code).toBe(exitCodes.notImplemented);
    expect(stderr).toContain(`'logrelay ${sub}' is not built yet`);
  });
});
