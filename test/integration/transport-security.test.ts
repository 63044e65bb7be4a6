/**
 * Issue 6, "Done when" item 3: mTLS — no client certificate, a certificate from another CA, a
 * valid one → refused, refused, accepted; tokens — missing, wrong, right → refused, refused,
 * accepted. Refusals are a clear gRPC status (UNAUTHENTICATED) plus a collector log line naming
 * the agent; nothing of a refused stream reaches the sink. The certificates come from
 * scripts/dev-ca.sh, as an operator would make them.
 */
import * as grpc from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import type { Collector } from '../../src/collector/collector.js';
import { ConfigError } from '../../src/common/config/index.js';
import { makeBatch } from '../helpers/batches.js';
import { captureLog } from '../helpers/log-capture.js';
import { RawShip } from '../helpers/raw-client.js';
import { readAllLines, startAgent, startCollector } from '../helpers/relay.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);

let certs: { dir: string; cleanup: () => Promise<void> };
/** The collector's CA (`ca/`) and a foreign one (`other/`), each with a client `agent-1`. */
const ca = (name: string) => join(certs.dir, 'ca', name);
const other = (name: string) => join(certs.dir, 'other', name);

beforeAll(async () => {
  certs = await tempDir('logrelay-certs-');
  await run('bash', ['scripts/dev-ca.sh', join(certs.dir, 'ca'), '--client', 'agent-1']);
  await run('bash', ['scripts/dev-ca.sh', join(certs.dir, 'other'), '--client', 'agent-1']);
}, 60_000);
afterAll(async () => certs.cleanup());

let cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function collectorWith(config: Record<string, unknown>) {
  const out = await tempDir();
  const { log, records } = captureLog();
  const collector = await startCollector(
    { sinks: [{ type: 'file', name: 'files', directory: out.dir }], ...config },
    log,
  );
  cleanups.push(out.cleanup, () => collector.stop());
  return { collector, out: out.dir, records };
}

/** A raw stream that says hello and ships one batch; resolves with the answer or the status. */
async function tryShip(
  collector: Collector,
  credentials: grpc.ChannelCredentials,
  opts: { agent?: string; token?: string; line: string },
): Promise<{ committed: boolean; status?: grpc.StatusObject }> {
  const raw = new RawShip(collector.address, {}, credentials);
  cleanups.push(async () => raw.close());
  raw.hello(opts.agent ?? 'agent-1', opts.token ?? '');
  raw.send(makeBatch([opts.line], 0, { seq: 1, agentId: opts.agent ?? 'agent-1' }));
  const outcome = await Promise.race([
    raw.answer(1).then((a) => ({ committed: a.result?.$case === 'committed' })),
    raw.status.then((status) => ({ committed: false, status })),
  ]);
  return outcome;
}

function refusals(records: Array<Record<string, unknown>>) {
  return records.filter((r) => r['msg'] === 'agent refused');
}

async function refusedCount(collector: Collector, reason: string): Promise<number> {
  const metric = await collector.registry
    .getSingleMetric('logrelay_collector_refused_streams_total')!
    .get();
  return metric.values.find((v) => v.labels['reason'] === reason)?.value ?? 0;
}

describe('mTLS between agent and collector', () => {
  const mtls = () => ({
    listen: {
      port: 0,
      host: '127.0.0.1',
      tls: { cert: ca('server.crt'), key: ca('server.key'), clientCa: ca('ca.crt') },
    },
  });

  it('refuses a client without a certificate and one from another CA; accepts a valid one', async () => {
    const { collector, out, records } = await collectorWith(mtls());
    const caPem = await readFile(ca('ca.crt'));

    const none = await tryShip(collector, grpc.credentials.createSsl(caPem), { line: 'no-cert' });
    const foreign = await tryShip(
      collector,
      grpc.credentials.createSsl(
        caPem,
        await readFile(other('agent-1.key')),
        await readFile(other('agent-1.crt')),
      ),
      { line: 'other-ca' },
    );
    const valid = await tryShip(
      collector,
      grpc.credentials.createSsl(
        caPem,
        await readFile(ca('agent-1.key')),
        await readFile(ca('agent-1.crt')),
      ),
      { line: 'valid' },
    );

    expect(none.committed).toBe(false);
    expect(none.status?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(none.status?.details).toMatch(/client certificate/);
    expect(foreign.committed).toBe(false);
    expect(foreign.status?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(valid).toEqual({ committed: true });

    expect(await readAllLines(out)).toEqual(['valid']);
    expect(await refusedCount(collector, 'no_client_cert')).toBe(2);
    const logged = refusals(records);
    expect(logged).toHaveLength(2);
    for (const r of logged) {
      expect(r).toMatchObject({ agent: 'agent-1', reason: 'no_client_cert' });
      expect(String(r['peer'])).toMatch(/127\.0\.0\.1/);
    }
    expect(records.find((r) => r['msg'] === 'agent connected')).toMatchObject({
      agent: 'agent-1',
      subject: 'agent-1',
    });
  });

  it('a real agent with ship.tls delivers every line; one without a client certificate delivers none and says why', async () => {
    const { collector, out } = await collectorWith(mtls());
    const logs = await tempDir();
    cleanups.push(logs.cleanup);
    const lines = Array.from({ length: 500 }, (_, i) => `mtls-line-${i}`);
    await writeFile(join(logs.dir, 'good.log'), lines.map((l) => `${l}\n`).join(''));
    await writeFile(join(logs.dir, 'bad.log'), 'must-not-arrive\n');

    const good = await startAgent({
      id: 'agent-1',
      collectors: [collector.address],
      tails: [{ paths: [join(logs.dir, 'good.log')], topic: 'app' }],
      checkpoint: { path: join(logs.dir, 'good.registry') },
      ship: { tls: { ca: ca('ca.crt'), cert: ca('agent-1.crt'), key: ca('agent-1.key') } },
    });
    cleanups.push(() => good.stop());
    const badLog = captureLog();
    const bad: Agent = await startAgent(
      {
        id: 'agent-2',
        collectors: [collector.address],
        tails: [{ paths: [join(logs.dir, 'bad.log')], topic: 'app' }],
        checkpoint: { path: join(logs.dir, 'bad.registry') },
        ship: { tls: { ca: ca('ca.crt') }, retryInitialMs: 50, retryMaxMs: 200 },
      },
      badLog.log,
    );
    cleanups.push(() => bad.stop());

    await waitFor(async () => (await readAllLines(out)).length === lines.length, {
      timeoutMs: 20_000,
    });
    await waitFor(async () => (await refusedCount(collector, 'no_client_cert')) >= 2, {
      timeoutMs: 20_000,
    });
    await appendFile(join(logs.dir, 'good.log'), 'mtls-line-last\n');
    await waitFor(async () => (await readAllLines(out)).length === lines.length + 1, {
      timeoutMs: 20_000,
    });
    expect((await readAllLines(out)).sort()).toEqual([...lines, 'mtls-line-last'].sort());
    const said = badLog.records.find(
      (r) => r['msg'] === 'collector refused our credentials (ship.tls / ship.token)',
    );
    expect(String(said?.['reason'])).toMatch(/UNAUTHENTICATED/);
  });

  it('names the key path of a missing certificate file at start', async () => {
    const out = await tempDir();
    cleanups.push(out.cleanup);
    const error = await startCollector({
      sinks: [{ type: 'file', name: 'files', directory: out.dir }],
      listen: { port: 0, tls: { cert: join(out.dir, 'nope.crt'), key: ca('server.key') } },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      { path: 'listen.tls.cert', message: expect.stringContaining('nope.crt') },
    ]);
  });

  it('names the key path of a certificate that does not match its key', async () => {
    const out = await tempDir();
    cleanups.push(out.cleanup);
    const error = await startCollector({
      sinks: [{ type: 'file', name: 'files', directory: out.dir }],
      listen: { port: 0, tls: { cert: ca('server.crt'), key: other('server.key') } },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]?.path).toBe('listen.tls');
  });
});

describe('agent tokens', () => {
  it('refuses a missing and a wrong token, and a token bound to another agent; accepts the right one', async () => {
    const secrets = await tempDir();
    cleanups.push(secrets.cleanup);
    const tokenFile = join(secrets.dir, 'agent-1.token');
    await writeFile(tokenFile, 'agent-1-secret-0123456789\n');
    const { collector, out, records } = await collectorWith({
      auth: {
        tokens: [
          { agent: 'agent-1', token: { file: tokenFile } },
          { agent: 'agent-9', token: { value: 'agent-9-secret-0123456789' } },
        ],
      },
    });
    const plain = grpc.credentials.createInsecure();

    const missing = await tryShip(collector, plain, { line: 'missing' });
    const wrong = await tryShip(collector, plain, {
      line: 'wrong',
      token: 'not-the-secret-000000',
    });
    const borrowed = await tryShip(collector, plain, {
      line: 'borrowed',
      token: 'agent-9-secret-0123456789',
    });
    const right = await tryShip(collector, plain, {
      line: 'right',
      token: 'agent-1-secret-0123456789',
    });

    for (const refused of [missing, wrong, borrowed]) {
      expect(refused.committed).toBe(false);
      expect(refused.status?.code).toBe(grpc.status.UNAUTHENTICATED);
    }
    expect(missing.status?.details).toMatch(/token is required/);
    expect(wrong.status?.details).toMatch(/not valid for agent agent-1/);
    expect(right).toEqual({ committed: true });
    expect(await readAllLines(out)).toEqual(['right']);
    expect(await refusedCount(collector, 'no_token')).toBe(1);
    expect(await refusedCount(collector, 'bad_token')).toBe(2);
    expect(refusals(records).map((r) => [r['agent'], r['reason']])).toEqual([
      ['agent-1', 'no_token'],
      ['agent-1', 'bad_token'],
      ['agent-1', 'bad_token'],
    ]);
  });

  it('a real agent with ship.token (from a file) delivers its lines', async () => {
    const secrets = await tempDir();
    cleanups.push(secrets.cleanup);
    await writeFile(join(secrets.dir, 't'), 'shared-token-for-all-agents\n');
    const { collector, out } = await collectorWith({
      auth: { tokens: [{ agent: '*', token: { value: 'shared-token-for-all-agents' } }] },
    });
    const lines = Array.from({ length: 300 }, (_, i) => `token-line-${i}`);
    await writeFile(join(secrets.dir, 'app.log'), lines.map((l) => `${l}\n`).join(''));
    const agent = await startAgent({
      id: 'agent-5',
      collectors: [collector.address],
      tails: [{ paths: [join(secrets.dir, 'app.log')], topic: 'app' }],
      checkpoint: { path: join(secrets.dir, 'registry') },
      ship: { token: { file: join(secrets.dir, 't') } },
    });
    cleanups.push(() => agent.stop());
    await waitFor(async () => (await readAllLines(out)).length === lines.length, {
      timeoutMs: 20_000,
    });
    expect((await readAllLines(out)).sort()).toEqual([...lines].sort());
  });
});

describe('limits.maxAgents', () => {
  it('refuses an agent beyond the limit with RESOURCE_EXHAUSTED and counts the hit', async () => {
    const { collector } = await collectorWith({ limits: { maxAgents: 1 } });
    const plain = grpc.credentials.createInsecure();
    const first = new RawShip(collector.address, {}, plain);
    cleanups.push(async () => first.close());
    first.hello('agent-a');
    expect(
      (await first.ship(makeBatch(['a'], 0, { seq: 1, agentId: 'agent-a' }))).result?.$case,
    ).toBe('committed');
    const second = await tryShip(collector, plain, { agent: 'agent-b', line: 'b' });
    expect(second.status?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(second.status?.details).toMatch(/limits\.maxAgents/);
    // The same agent may open a second stream (a reconnect overlapping the old one).
    const again = await tryShip(collector, plain, { agent: 'agent-a', line: 'a2' });
    expect(again.committed).toBe(true);
    const hits = await collector.registry
      .getSingleMetric('logrelay_collector_limit_hits_total')!
      .get();
    expect(hits.values.find((v) => v.labels['limit'] === 'maxAgents')?.value).toBe(1);
  });
});
