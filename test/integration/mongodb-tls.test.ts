import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/common/config/load-config.js';
import { ConfigError } from '../../src/common/config/config-error.js';
import { createLogger } from '../../src/common/logging/logger.js';
import { MongodbSink, mongodbSinkConfigSchema } from '../../src/collector/sinks/mongodb/index.js';
import { repoRoot } from '../helpers/processes.js';
import { requireService } from '../helpers/services.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { sinkBatch } from '../helpers/batches.js';

const run = promisify(execFile);
const log = createLogger({ level: 'silent' });

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const batch = (lines: string[], streamKey = 'agent-1:1:2:tls') =>
  sinkBatch(lines, 0, { streamKey, host: 'host-1', topic: 'secure', readTimeMs: Date.now() });

/**
 * The sink's `tls` against a TLS-only server of this test's own: the test bed's launcher
 * (scripts/services/mongodb/MongoTestServer.java) with --tls, an in-memory store, a certificate
 * of scripts/dev-ca.sh. (The test bed's own server is plaintext; this test needs it up only as
 * the sign that its jars are resolved.)
 */
describe('MongoDB sink over TLS (a TLS-only mongo-java-server of its own)', () => {
  let certs: { dir: string; cleanup: () => Promise<void> };
  let server: ChildProcess | undefined;
  let output = '';
  let url = '';
  const ca = (name: string) => join(certs.dir, name);

  beforeAll(async () => {
    await requireService('mongodb');
    certs = await tempDir('logrelay-mongodb-tls-');
    await run('bash', ['scripts/dev-ca.sh', certs.dir], { cwd: repoRoot });
    const { stdout: lib } = await run(
      'bash',
      ['-c', 'source scripts/services/lib.sh && mvn_fetch mongodb scripts/services/mongodb'],
      { cwd: repoRoot, timeout: 120_000 },
    );
    const port = await freePort();
    url = `mongodb://127.0.0.1:${port}`;
    server = spawn(
      'java',
      [
        '-Xmx128m',
        '-XX:+UseSerialGC',
        '-cp',
        `${lib.trim()}/*`,
        join(repoRoot, 'scripts/services/mongodb/MongoTestServer.java'),
        String(port),
        ':memory:',
        '--tls',
        ca('server.key'),
        ca('server.crt'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    server.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    server.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor(() => output.includes('MongoTestServer: listening'), {
      timeoutMs: 30_000,
      what: `the TLS server to listen (output: ${output})`,
    });
  }, 60_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    await certs?.cleanup();
  });

  function make(tls: Record<string, unknown>, registry = new Registry()) {
    const config = validateConfig(mongodbSinkConfigSchema, {
      type: 'mongodb',
      name: 'mongodb-tls',
      url,
      database: 'tls_it',
      connectTimeoutMs: 2000,
      tls,
    });
    return new MongodbSink(config, { log, registry, collectorId: 'c1' });
  }

  it('writes over TLS with the CA, and reads back', async () => {
    const sink = make({ ca: ca('ca.crt') });
    await sink.start();
    try {
      expect(await sink.write(batch(['secret one', 'secret two']))).toEqual({ skippedLines: 0 });
    } finally {
      await sink.stop();
    }
    const admin = new MongoClient(url, {
      tls: true,
      ca: await readFile(ca('ca.crt')),
      serverSelectionTimeoutMS: 3000,
    });
    try {
      const lines = await admin
        .db('tls_it')
        .collection<{ line: string }>('logs_secure')
        .find()
        .sort({ _id: 1 })
        .toArray();
      expect(lines.map((d) => d.line)).toEqual(['secret one', 'secret two']);
    } finally {
      await admin.close();
    }
  });

  it('fails retriable when the certificate does not verify; rejectUnauthorized: false skips it', async () => {
    const strict = make({});
    await strict.start();
    try {
      await expect(strict.write(batch(['unverified']))).rejects.toMatchObject({
        code: 'SINK_UNAVAILABLE',
        retriable: true,
        message: expect.stringMatching(/certificate/) as unknown,
      });
    } finally {
      await strict.stop();
    }
    const lax = make({ rejectUnauthorized: false });
    await lax.start();
    try {
      expect(await lax.write(batch(['unverified'], 'agent-1:1:2:lax'))).toEqual({
        skippedLines: 0,
      });
    } finally {
      await lax.stop();
    }
  });

  it('refuses to start with a TLS file it cannot read, naming the key path', async () => {
    const sink = make({ ca: ca('missing.crt') });
    const error = await sink.start().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.path)).toEqual(['sinks[mongodb-tls].tls.ca']);
    await sink.stop();
  });
});
