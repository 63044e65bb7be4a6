import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdClientOptions } from '../../../../src/common/etcd/index.js';
import { ConfigError } from '../../../../src/common/config/index.js';
import { validateConfig } from '../../../../src/common/config/load-config.js';
import { loadSecret, loadServiceTls } from '../../../../src/common/security/index.js';
import { kafkaSinkConfigSchema } from '../../../../src/collector/sinks/kafka/config.js';
import { mysqlSinkConfigSchema } from '../../../../src/collector/sinks/mysql/config.js';
import { tempDir } from '../../../helpers/temp-dir.js';

let dir = '';
let cleanup: () => Promise<void> = async () => undefined;
const f = (name: string) => join(dir, name);

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('logrelay-tls-'));
  await promisify(execFile)('bash', ['scripts/dev-ca.sh', dir, '--client', 'svc']);
}, 60_000);
afterAll(() => cleanup());

async function configError(p: Promise<unknown>): Promise<ConfigError> {
  const err = await p.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe('TLS towards services (pass-through)', () => {
  it('reads the files of a tls section into Node TLS options', async () => {
    const tls = await loadServiceTls(
      { ca: f('ca.crt'), cert: f('svc.crt'), key: f('svc.key'), rejectUnauthorized: true },
      'sinks[0].tls',
      'collector.yaml',
    );
    expect(tls.rejectUnauthorized).toBe(true);
    expect(tls.ca?.toString()).toContain('BEGIN CERTIFICATE');
    expect(tls.key?.toString()).toContain('PRIVATE KEY');
  });

  it('names every unreadable file by its key path, and a key that does not fit its certificate', async () => {
    const missing = await configError(
      loadServiceTls(
        { ca: f('nope.crt'), cert: f('svc.crt'), key: f('gone.key'), rejectUnauthorized: true },
        'sinks[1].ssl',
        'collector.yaml',
      ),
    );
    expect(missing.issues.map((i) => i.path).sort()).toEqual([
      'sinks[1].ssl.ca',
      'sinks[1].ssl.key',
    ]);
    const mismatch = await configError(
      loadServiceTls(
        { cert: f('svc.crt'), key: f('server.key'), rejectUnauthorized: true },
        'sinks[1].ssl',
        'collector.yaml',
      ),
    );
    expect(mismatch.issues[0]?.path).toBe('sinks[1].ssl');
  });

  it('gives etcd3 https endpoints, the credentials and a password read from its file', async () => {
    await writeFile(f('etcd.pw'), '  s3cret\n');
    const options = await etcdClientOptions(
      {
        endpoints: ['10.0.0.1:2379', 'https://10.0.0.2:2379'],
        tls: { ca: f('ca.crt'), cert: f('svc.crt'), key: f('svc.key'), rejectUnauthorized: true },
        auth: { username: 'agent', password: { file: f('etcd.pw') } },
      },
      'remote.etcd',
      'agent.yaml',
    );
    expect(options.hosts).toEqual(['https://10.0.0.1:2379', 'https://10.0.0.2:2379']);
    expect(options.credentials?.rootCertificate.toString()).toContain('BEGIN CERTIFICATE');
    expect(options.credentials?.certChain?.toString()).toContain('BEGIN CERTIFICATE');
    expect(options.auth).toEqual({ username: 'agent', password: 's3cret' });
    const plain = await etcdClientOptions({ endpoints: ['127.0.0.1:2379'] }, 'remote.etcd', 'x');
    expect(plain.hosts).toEqual(['http://127.0.0.1:2379']);
    expect(plain.credentials).toBeUndefined();
  });

  it('refuses a token file shorter than the minimum, naming its key path', async () => {
    await writeFile(f('short.token'), 'abc\n');
    const err = await configError(
      loadSecret({ file: f('short.token') }, 'ship.token', 'agent.yaml', 16),
    );
    expect(err.issues).toEqual([
      { path: 'ship.token.file', message: expect.stringContaining('fewer than 16') },
    ]);
  });

  it('accepts Kafka ssl as a flag or as files, and MySQL tls as files', () => {
    expect(validateConfig(kafkaSinkConfigSchema, { type: 'kafka', name: 'k', ssl: true }).ssl).toBe(
      true,
    );
    expect(
      validateConfig(kafkaSinkConfigSchema, {
        type: 'kafka',
        name: 'k',
        ssl: { ca: '/etc/ca.crt' },
        sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
      }).ssl,
    ).toEqual({ ca: '/etc/ca.crt', rejectUnauthorized: true });
    expect(() =>
      validateConfig(kafkaSinkConfigSchema, { type: 'kafka', name: 'k', ssl: { cert: '/c' } }),
    ).toThrow(/ssl/);
    expect(
      validateConfig(mysqlSinkConfigSchema, {
        type: 'mysql',
        name: 'm',
        url: 'mysql://u:p@db:3306/logs',
        tls: { ca: '/etc/ca.crt', rejectUnauthorized: false },
      }).tls,
    ).toEqual({ ca: '/etc/ca.crt', rejectUnauthorized: false });
  });
});
