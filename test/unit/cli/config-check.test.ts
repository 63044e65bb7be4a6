import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodes } from '../../../src/cli.js';
import { runCli } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/temp-dir.js';

// A collector that draws no warning: every one of the tests below changes one thing.
const token = { agent: 'web-1', token: { value: 'a-token-of-16-chars-or-more' } };
const quietCollector = {
  id: 'c1',
  listen: { host: '0.0.0.0', port: 7070 },
  auth: { tokens: [token] },
  cluster: { zookeeper: { connect: '127.0.0.1:2181' }, advertise: '10.0.0.5:7070' },
  sinks: [
    { type: 'file', name: 'files', directory: '/var/lib/logrelay' },
    { type: 'kafka', name: 'kafka', brokers: ['10.0.0.9:9092'], exactlyOnce: true },
  ],
};

describe('logrelay config check', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let n = 0;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterAll(() => cleanup());

  /** Writes `config` (JSON is YAML) to a new file and returns its path. */
  async function file(config: unknown, name = 'collector'): Promise<string> {
    const path = join(dir, `${name}-${n++}.yaml`);
    await writeFile(path, typeof config === 'string' ? config : JSON.stringify(config));
    return path;
  }

  async function check(config: unknown, ...flags: string[]) {
    const path = await file(config);
    return { path, ...(await runCli('config', 'check', '-c', path, ...flags)) };
  }

  /** The warning lines of a check that passed. */
  async function warningsOf(config: unknown): Promise<string[]> {
    const { code, stdout, stderr, path } = await check(config);
    expect({ code, stderr }).toEqual({ code: exitCodes.ok, stderr: '' });
    const lines = stdout.trimEnd().split('\n');
    const warnings = lines.slice(0, -1);
    const count = warnings.length === 0 ? 'no warnings' : `${warnings.length} warning`;
    expect(lines.at(-1)).toMatch(
      new RegExp(`^${path}: a valid collector configuration \\(${count}`),
    );
    return warnings;
  }

  it('passes a collector that draws no warning, exit 0', async () => {
    expect(await warningsOf(quietCollector)).toEqual([]);
  });

  it('warns about a kafka sink without exactly-once', async () => {
    const sinks = [{ type: 'kafka', name: 'k', brokers: ['10.0.0.9:9092'] }];
    expect(await warningsOf({ ...quietCollector, sinks })).toEqual([
      'warning: sinks[0].exactlyOnce: kafka sink k is at-least-once: after a write that fails ' +
        'for good or a collector crash, lines can be written twice; set exactlyOnce: true for no ' +
        'duplicates (Kafka 2.5 or newer)',
    ]);
  });

  it('warns about a file sink without fsync', async () => {
    const sinks = [{ type: 'file', name: 'f', directory: '/d', fsync: false }];
    expect(await warningsOf({ ...quietCollector, sinks })).toEqual([
      'warning: sinks[0].fsync: file sink f acknowledges lines before they are fsynced: lines ' +
        'the agents count as delivered can be lost in a power failure or an OS crash',
    ]);
  });

  it('warns that without any auth anyone can claim any agent id', async () => {
    const { auth: _auth, ...open } = quietCollector;
    expect(await warningsOf(open)).toEqual([
      'warning: auth: agents are not authenticated (neither auth.tokens nor ' +
        'listen.tls.clientCa): anyone who can reach 0.0.0.0:7070 can claim any agent id, write ' +
        "lines as that agent and move its deduplication marks (README, 'Security')",
    ]);
    // A token for every agent id is the same for whoever holds it.
    const wildcard = { tokens: [{ ...token, agent: '*' }] };
    expect(await warningsOf({ ...quietCollector, auth: wildcard })).toEqual([
      "warning: auth.tokens[0].agent: '*': whoever holds this token can claim any agent id",
    ]);
  });

  it('warns about a cluster advertise address on loopback, set or defaulted', async () => {
    const cluster = { zookeeper: { connect: '127.0.0.1:2181' } };
    expect(
      await warningsOf({ ...quietCollector, cluster: { ...cluster, advertise: '127.0.0.1:7070' } }),
    ).toEqual([
      'warning: cluster.advertise: this collector advertises 127.0.0.1:7070 to the cluster, a ' +
        'loopback address: agents on other hosts that are assigned to it cannot reach it; set ' +
        'cluster.advertise to an address they can dial',
    ]);
    // listen.host defaults to 127.0.0.1, and an unset advertise is listen.host:port.
    const { listen: _listen, ...defaultListen } = quietCollector;
    expect(await warningsOf({ ...defaultListen, cluster })).toEqual([
      'warning: listen.host: this collector advertises 127.0.0.1:7070 to the cluster ' +
        '(cluster.advertise is unset, so listen.host:port is advertised), a loopback address: ' +
        'agents on other hosts that are assigned to it cannot reach it; set cluster.advertise to ' +
        'an address they can dial',
    ]);
    expect(await warningsOf({ ...quietCollector, cluster })).toEqual([
      'warning: listen.host: this collector advertises 0.0.0.0:7070 to the cluster ' +
        '(cluster.advertise is unset, so listen.host:port is advertised), which is no address an ' +
        'agent can dial; set cluster.advertise',
    ]);
  });

  it('warns about a rate limit smaller than one default agent batch', async () => {
    // The two cases: 5000 lines/s and 300000 bytes/s, with default burst and hold.
    const limits = { agentRate: { recordsPerSecond: 5000 } };
    expect(await warningsOf({ ...quietCollector, limits })).toEqual([
      'warning: limits.agentRate.recordsPerSecond: lets at most 3500 lines through at once ' +
        '(recordsPerSecond × (burstMs + maxHoldMs) = 5000 × 700 ms), less than one full agent ' +
        "batch (10000 lines, the agents' default batch.maxLines): such batches stall; raise the " +
        "rate or burstMs, or lower the agents' batch.maxLines",
    ]);
    const sinks = [
      {
        type: 'file',
        name: 'f',
        directory: '/d',
        flow: { rate: { bytesPerSecond: 300_000 } },
      },
    ];
    expect(await warningsOf({ ...quietCollector, sinks })).toEqual([
      'warning: sinks[0].flow.rate.bytesPerSecond: lets at most 210000 bytes through at once ' +
        '(bytesPerSecond × (burstMs + maxHoldMs) = 300000 × 700 ms), less than one full agent ' +
        "batch (1048576 bytes, the agents' default batch.maxBytes): such batches stall; raise " +
        "the rate or burstMs, or lower the agents' batch.maxBytes",
    ]);
    // A limit that admits a full batch at once says nothing.
    const ample = { agentRate: { bytesPerSecond: 2_000_000, recordsPerSecond: 20_000 } };
    expect(await warningsOf({ ...quietCollector, limits: ample })).toEqual([]);
  });

  it('exits 2 with every error and its key path, exactly as the collector does at start', async () => {
    const bad = {
      listen: { port: 99_999 },
      sinks: [{ type: 'file', name: 'a', directory: '/tmp', colour: 'red' }],
      routes: [{ topics: ['x'], sinks: ['nope'] }],
    };
    const { code, stdout, stderr, path } = await check(bad);
    expect({ code, stdout }).toEqual({ code: exitCodes.usage, stdout: '' });
    expect(stderr).toContain(`logrelay: invalid configuration in ${path}:\n`);
    for (const key of ['listen.port:', 'sinks[0].colour: unknown key', 'routes[0].sinks[0]:']) {
      expect(stderr).toContain(`  - ${key}`);
    }
    expect(await runCli('collector', '-c', path)).toEqual({ code, stdout: '', stderr });
  });

  it('exits 2 for an agent configuration with the messages of `logrelay agent`', async () => {
    const path = await file({ tails: [{ paths: ['relative/*.log'], topic: 'a b' }] }, 'agent');
    const checked = await runCli('config', 'check', '-c', path);
    expect(checked.code).toBe(exitCodes.usage);
    expect(checked.stderr).toContain('  - collectors: give at least one collector');
    expect(checked.stderr).toContain('  - tails[0].paths[0]: must be an absolute path');
    expect(checked.stderr).toContain('  - tails[0].topic:');
    expect(await runCli('agent', '-c', path)).toEqual(checked);
  });

  it('reads the files a configuration names, unless --no-files', async () => {
    const missing = join(dir, 'no-such-token');
    const auth = { tokens: [{ agent: 'web-1', token: { file: missing } }] };
    const { code, stderr, path } = await check({ ...quietCollector, auth });
    expect(code).toBe(exitCodes.usage);
    expect(stderr).toContain(`  - auth.tokens[0].token.file: cannot read ${missing}: ENOENT`);
    const skipped = await runCli('config', 'check', '--no-files', '-c', path);
    expect(skipped.code).toBe(exitCodes.ok);
  });

  it('reads the files of an hbase sink (tls, auth password)', async () => {
    const missing = join(dir, 'no-such-password');
    const hbase = {
      type: 'hbase',
      name: 'hbase',
      url: 'https://hbase.example:8443',
      tls: { ca: join(dir, 'no-such-ca.pem') },
      auth: { user: 'relay', password: { file: missing } },
    };
    const { code, stderr } = await check({
      ...quietCollector,
      sinks: [...quietCollector.sinks, hbase],
    });
    expect(code).toBe(exitCodes.usage);
    expect(stderr).toContain(`  - sinks[2].auth.password.file: cannot read ${missing}: ENOENT`);
    expect(stderr).toContain('  - sinks[2].tls.ca: cannot read');
  });

  it('tells an agent from a collector, or asks for --kind', async () => {
    const agent = await runCli(
      'config',
      'check',
      '-c',
      await file({ collectors: ['10.0.0.5:7070'], tails: [] }, 'agent'),
    );
    expect(agent.code).toBe(exitCodes.ok);
    expect(agent.stdout).toMatch(/: a valid agent configuration \(no warnings\)\n$/);

    const { code, stderr, path } = await check({ id: 'x' });
    expect(code).toBe(exitCodes.usage);
    expect(stderr).toBe(
      `logrelay: cannot tell whether ${path} is an agent or a collector configuration from its ` +
        'keys; pass --kind agent or --kind collector\n',
    );
    // Forced: the schema of that kind decides.
    const forced = await runCli('config', 'check', '--kind', 'collector', '-c', path);
    expect(forced.code).toBe(exitCodes.usage);
    expect(forced.stderr).toContain('  - sinks:');
    const asAgent = await runCli('config', 'check', '--kind', 'agent', '-c', path);
    expect(asAgent.stderr).toContain('  - collectors: give at least one collector');
  });

  it('exits 2 naming a missing file', async () => {
    const path = join(dir, 'absent.yaml');
    expect(await runCli('config', 'check', '-c', path)).toEqual({
      code: exitCodes.usage,
      stdout: '',
      stderr: `logrelay: cannot read configuration file ${path}: no such file\n`,
    });
  });
});
