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
    // The usage code: a supervisor must not restart a process whose file is missing (issue 12).
    expect(code).toBe(exitCodes.usage);
    expect(stderr).toContain('cannot read configuration file /nonexistent/collector.yaml');
  });
});

describe('configuration files that restarting cannot fix exit with the usage code', () => {
  afterEach(() => vi.restoreAllMocks());

  // "Billion laughs": each level names the previous one nine times.
  const aliasBomb = [
    'id: c1',
    'a: &a ["x","x","x","x","x","x","x","x","x"]',
    'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
    'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
    'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
    'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
    'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
    'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
  ].join('\n');

  it.each(['agent', 'collector'])(
    '%s: a YAML alias bomb exits 2 naming the file and the key',
    async (sub) => {
      const { dir, cleanup } = await tempDir();
      const file = join(dir, `${sub}.yaml`);
      await writeFile(file, aliasBomb);
      const { code, stderr } = await run(sub, '-c', file);
      await cleanup();
      expect(code).toBe(exitCodes.usage);
      expect(stderr).toBe(
        `logrelay: invalid configuration in ${file}:\n` +
          '  - d[0]: YAML aliases expand past 100 uses (an alias bomb); write the values out\n',
      );
    },
  );

  it.each(['agent', 'collector'])(
    '%s: a missing configuration file exits 2 naming it',
    async (sub) => {
      const { dir, cleanup } = await tempDir();
      const file = join(dir, `missing-${sub}.yaml`);
      const { code, stderr } = await run(sub, '-c', file);
      await cleanup();
      expect(code).toBe(exitCodes.usage);
      expect(stderr).toBe(`logrelay: cannot read configuration file ${file}: no such file\n`);
    },
  );
});

describe('logrelay admin usage errors (no service is contacted)', () => {
  afterEach(() => vi.unstubAllEnvs());
  // Port 1: a store opens its pool lazily, so these fail on input before any connection.
  const mysql = ['--mysql', 'mysql://root@127.0.0.1:1/logrelay'];

  it('shows the admin subcommands and exits with the usage code without one', async () => {
    const { code, stderr } = await run('admin');
    expect(code).toBe(exitCodes.usage);
    for (const sub of ['migrate', 'node', 'tail', 'publish']) {
      expect(stderr).toMatch(new RegExp(`^  ${sub}\\b`, 'm'));
    }
  });

  it('requires a database', async () => {
    vi.stubEnv('LOGRELAY_MYSQL_URL', '');
    const { code, stderr } = await run('admin', 'node', 'list');
    expect(code).toBe(exitCodes.usage);
    expect(stderr).toBe(
      'logrelay admin: no database given: pass --mysql mysql://user:pass@host:port/db or set LOGRELAY_MYSQL_URL\n',
    );
  });

  it.each([
    [['node', 'add'], "required option '--ip <ip>'"],
    [['tail', 'add', '--node', '1', '--path', '/a.log'], "required option '--topic <topic>'"],
    [['tail', 'stop', 'abc'], 'logrelay admin: tail id must be a positive integer, got "abc"'],
    [['node', 'remove', '-3'], 'logrelay admin: node id must be a positive integer, got "-3"'],
    [['publish'], 'logrelay admin: etcd is not configured'],
  ])('`admin %j` is a usage error', async (args, message) => {
    vi.stubEnv('LOGRELAY_ETCD_ENDPOINTS', '');
    const { code, stderr } = await run('admin', ...mysql, ...args);
    expect(code).toBe(exitCodes.usage);
    expect(stderr).toContain(message);
  });

  it('rejects a MySQL URL without a database', async () => {
    const { code, stderr } = await run('admin', '--mysql', 'mysql://h:3306', 'migrate');
    expect(code).toBe(exitCodes.usage);
    expect(stderr).toContain('the MySQL URL must name a database');
  });
});

describe('status', () => {
  it('fails clearly (exit 1) when ZooKeeper does not answer', async () => {
    const { code, stderr } = await run('status', '--zookeeper', '127.0.0.1:1');
    expect(code).toBe(exitCodes.failure);
    expect(stderr).toContain('zookeeper at 127.0.0.1:1 did not answer');
  }, 15_000);
});
