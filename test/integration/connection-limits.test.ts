/**
 * Issue 12 item 16: connections that never speak. The collector closes a TCP connection that has
 * made no gRPC call within `listen.handshakeTimeoutMs`, refuses connections over
 * `listen.maxConnections` / `listen.maxConnectionsPerAddress` at once, and closes, logs and counts
 * a plaintext client on its TLS port; every close is counted by reason in
 * `logrelay_collector_dropped_connections_total` and logged (one line per reason per 10 s). A
 * legit agent keeps delivering throughout.
 */
import * as grpc from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '../../src/collector/collector.js';
import { makeBatch } from '../helpers/batches.js';
import { captureLog } from '../helpers/log-capture.js';
import { RawShip } from '../helpers/raw-client.js';
import { countLines, readAllLines, startAgent, startCollector } from '../helpers/relay.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

let certs: { dir: string; cleanup: () => Promise<void> };
const cert = (name: string) => join(certs.dir, name);
beforeAll(async () => {
  certs = await tempDir('logrelay-gate-certs-');
  await promisify(execFile)('bash', ['scripts/dev-ca.sh', certs.dir]);
}, 60_000);
afterAll(async () => certs.cleanup());

let cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function collectorWith(listen: Record<string, unknown>) {
  const out = await tempDir();
  const { log, records } = captureLog();
  const collector = await startCollector(
    {
      sinks: [{ type: 'file', name: 'files', directory: out.dir, fsync: false }],
      listen: { port: 0, host: '127.0.0.1', ...listen },
    },
    log,
  );
  cleanups.push(out.cleanup, () => collector.stop());
  return { collector, out: out.dir, records };
}

/** A TCP connection that never sends a byte, and when (after it connected) it was closed. */
interface Idle {
  socket: Socket;
  openedAt: number;
  closedAfterMs: number | undefined;
}

/** Opens `n` silent connections from `localAddress`, one after another (so accepted in order). */
async function openIdle(port: number, localAddress: string, n: number): Promise<Idle[]> {
  const idle: Idle[] = [];
  for (let i = 0; i < n; i++) {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    socket.on('error', () => undefined);
    // Reads (and drops) what the server sends, so its close is seen; it never writes a byte.
    socket.resume();
    const entry: Idle = { socket, openedAt: 0, closedAfterMs: undefined };
    socket.once('close', () => (entry.closedAfterMs = performance.now() - entry.openedAt));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    entry.openedAt = performance.now();
    idle.push(entry);
    cleanups.push(async () => socket.destroy());
  }
  return idle;
}

async function dropped(collector: Collector): Promise<Record<string, number>> {
  const metric = await collector.registry
    .getSingleMetric('logrelay_collector_dropped_connections_total')!
    .get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels['reason']), v.value]));
}

async function gauge(collector: Collector, name: string): Promise<number> {
  return (await collector.registry.getSingleMetric(name)!.get()).values[0]?.value ?? -1;
}

const DROP_REASONS = new Set([
  'handshake_timeout',
  'plaintext_on_tls',
  'max_connections',
  'max_connections_per_address',
]);

/** Log lines about closed connections, by reason. */
function logLinesByReason(records: Array<Record<string, unknown>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) {
    const reason = r['reason'];
    if (typeof reason === 'string' && DROP_REASONS.has(reason))
      out[reason] = (out[reason] ?? 0) + 1;
  }
  return out;
}

describe('connections that never speak', () => {
  it('50 idle sockets against caps of 20 (10 per address): over-cap refused at once, the rest closed after the timeout, a legit agent delivers throughout', async () => {
    const timeoutMs = 3000;
    const { collector, out, records } = await collectorWith({
      handshakeTimeoutMs: timeoutMs,
      maxConnections: 20,
      maxConnectionsPerAddress: 10,
    });
    const logs = await tempDir();
    cleanups.push(logs.cleanup);
    const file = join(logs.dir, 'app.log');
    const lines = Array.from({ length: 200 }, (_, i) => `gate-line-${i}`);
    await writeFile(
      file,
      lines
        .slice(0, 100)
        .map((l) => `${l}\n`)
        .join(''),
    );
    const agent = await startAgent({
      id: 'gate-agent',
      collectors: [collector.address],
      tails: [{ paths: [file], topic: 'app' }],
      checkpoint: { path: join(logs.dir, 'registry.json') },
    });
    cleanups.push(() => agent.stop());
    await waitFor(async () => (await readAllLines(out)).length === 100, {
      timeoutMs: 20_000,
      what: 'the first 100 lines',
    });
    const agentSockets = await gauge(collector, 'logrelay_collector_tcp_connections');

    // 15 from 127.0.0.2: 10 accepted, 5 over the per-address cap. 35 from 127.0.0.3: 9 fill
    // the total of 20 (with the agent's and the ten above), 26 over the total cap.
    const port = Number(collector.address.split(':').pop());
    const fromA = await openIdle(port, '127.0.0.2', 15);
    const fromB = await openIdle(port, '127.0.0.3', 35);
    const idle = [...fromA, ...fromB];
    await waitFor(
      async () => {
        const d = await dropped(collector);
        return (d['max_connections'] ?? 0) + (d['max_connections_per_address'] ?? 0) === 31;
      },
      { what: 'the over-cap sockets to be refused' },
    );
    const whileFull = {
      dropped: await dropped(collector),
      tcp: await gauge(collector, 'logrelay_collector_tcp_connections'),
    };

    // The agent's connection made its call long ago: it is not touched, and delivers.
    await appendFile(
      file,
      lines
        .slice(100)
        .map((l) => `${l}\n`)
        .join(''),
    );
    await waitFor(async () => (await readAllLines(out)).length === 200, {
      timeoutMs: 20_000,
      what: 'the last 100 lines',
    });

    await waitFor(() => idle.every((s) => s.closedAfterMs !== undefined), {
      timeoutMs: timeoutMs + 15_000,
      what: 'every idle socket to be closed',
    });
    const accepted = [...fromA.slice(0, 10), ...fromB.slice(0, 9)];
    const refused = [...fromA.slice(10), ...fromB.slice(9)];
    console.log(
      JSON.stringify({
        agentSockets,
        whileFull,
        acceptedClosedAfterMs: accepted.map((s) => Math.round(s.closedAfterMs ?? -1)),
        refusedClosedAfterMs: refused.map((s) => Math.round(s.closedAfterMs ?? -1)),
      }),
    );

    // A new connection is served once the idle ones are gone.
    const raw = new RawShip(collector.address);
    cleanups.push(async () => raw.close());
    raw.hello('late-agent');
    const late = await raw.ship(makeBatch(['late-line'], 0, { agentId: 'late-agent', seq: 1 }));

    expect({
      agentSockets,
      whileFull,
      droppedAfter: await dropped(collector),
      tcpAfter: await gauge(collector, 'logrelay_collector_tcp_connections'),
      acceptedClosedBeforeTimeout: accepted.filter((s) => (s.closedAfterMs ?? 0) < timeoutMs - 100)
        .length,
      lines: countLines([...lines, 'late-line'], await readAllLines(out)),
      late: late.result?.$case,
      logLines: logLinesByReason(records),
    }).toEqual({
      agentSockets: 1,
      whileFull: { dropped: { max_connections: 26, max_connections_per_address: 5 }, tcp: 20 },
      droppedAfter: { max_connections: 26, max_connections_per_address: 5, handshake_timeout: 19 },
      // The agent's and the late client's.
      tcpAfter: 2,
      acceptedClosedBeforeTimeout: 0,
      lines: { written: 201, delivered: 201, missing: 0, duplicated: 0, unexpected: 0 },
      late: 'committed',
      // One line per reason: the rest of the flood is counted, not logged.
      logLines: { max_connections: 1, max_connections_per_address: 1, handshake_timeout: 1 },
    });
    // The agent never lost its connection.
    const connects = await agent.registry.getSingleMetric('logrelay_agent_connects_total')!.get();
    expect(connects.values.filter((v) => v.labels['result'] === 'ok').map((v) => v.value)).toEqual([
      1,
    ]);
  }, 60_000);

  it('a plaintext client on the TLS port is closed, logged and counted; TLS clients are served, past the handshake timeout', async () => {
    const { collector, out, records } = await collectorWith({
      handshakeTimeoutMs: 1000,
      tls: { cert: cert('server.crt'), key: cert('server.key') },
    });
    const port = Number(collector.address.split(':').pop());
    // What a gRPC client without ship.tls sends first: the HTTP/2 connection preface.
    const plain = connect({ host: '127.0.0.1', port });
    plain.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => plain.once('close', () => resolve()));
    plain.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    await closed;

    const raw = new RawShip(
      collector.address,
      {},
      grpc.credentials.createSsl(await readFile(cert('ca.crt'))),
    );
    cleanups.push(async () => raw.close());
    raw.hello('tls-agent');
    const answer = await raw.ship(makeBatch(['over-tls'], 0, { agentId: 'tls-agent', seq: 1 }));
    // The TLS connection made its call: it outlives the handshake timeout.
    await sleep(2000);
    const later = await raw.ship(makeBatch(['later'], 9, { agentId: 'tls-agent', seq: 2 }));

    const said = records.filter((r) => r['reason'] === 'plaintext_on_tls');
    expect({
      dropped: await dropped(collector),
      answers: [answer.result?.$case, later.result?.$case],
      lines: await readAllLines(out),
      logged: said.map((r) => ({ level: r['level'], peer: String(r['peer']).split(':')[0] })),
    }).toEqual({
      dropped: { plaintext_on_tls: 1 },
      answers: ['committed', 'committed'],
      lines: ['over-tls', 'later'],
      logged: [{ level: 'warn', peer: '127.0.0.1' }],
    });
    expect(String(said[0]?.['msg'])).toMatch(/plaintext connection on the TLS port/);
  });
});
