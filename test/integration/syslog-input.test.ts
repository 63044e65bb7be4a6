import { createSocket } from 'node:dgram';
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { metricSum } from '../helpers/processes.js';
import { countLines, exactlyOnce, startAgent, startRecordingCollector } from '../helpers/relay.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

// Issue 15 item 7: syslog over TCP and UDP → spool file → the agent's tail → collector → file
// sink. Every message is unique and counted exactly, across spool rotation and an agent restart.

/** An RFC 5424 message (even n) or an RFC 3164 one (odd n). */
function message(n: number): string {
  return n % 2 === 0
    ? `<34>1 2026-12-07T10:00:00.${String(n % 1000).padStart(3, '0')}Z web-1 checkout 4711 ORD - order ${n} placed`
    : `<13>Dec  7 10:00:00 web-1 cron[99]: job ${n} done`;
}

/** Sends messages over one TCP connection: octet-counted when `counted`, else newline-delimited. */
async function sendTcp(address: string, messages: readonly string[], counted: boolean) {
  const [host, port] = address.split(':');
  const socket = connect(Number(port), host as string);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const wire = messages.map((m) => (counted ? `${Buffer.byteLength(m)} ${m}` : `${m}\n`)).join('');
  await new Promise<void>((resolve) => socket.end(wire, resolve));
  await new Promise((resolve) => socket.once('close', resolve));
}

/**
 * Sends one datagram per message, 20 at a time, each group once the agent counted the one before:
 * UDP has no flow control, and a loaded machine's kernel drops datagrams its socket buffer has no
 * room for before the agent sees them (what the product cannot promise; operations.md says so).
 * A datagram the agent received and lost would still be missing at the end.
 */
async function sendUdp(
  address: string,
  messages: readonly string[],
  received: () => Promise<number>,
) {
  const [host, port] = address.split(':');
  const socket = createSocket('udp4');
  const base = await received();
  for (let i = 0; i < messages.length; i++) {
    await new Promise<void>((resolve, reject) =>
      socket.send(messages[i] as string, Number(port), host, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    if (i % 20 === 19 || i === messages.length - 1) {
      await waitFor(async () => (await received()) - base >= i + 1, {
        timeoutMs: 10_000,
        what: `the agent to receive datagram ${i + 1}`,
      });
    }
  }
  socket.close();
}

describe('syslog input (TCP, UDP) through the spool', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  async function setup() {
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const { collector, committed } = await startRecordingCollector(dir);
    stops.push(() => collector.stop());
    const spool = join(dir, 'spool');
    const agentConfig = {
      id: 'sys',
      collectors: [collector.address],
      tails: [],
      syslog: [
        {
          name: 'edge',
          tcp: '127.0.0.1:0',
          udp: '127.0.0.1:0',
          topic: 'syslog',
          spool: { directory: spool, maxFileBytes: 16 * 1024, fsyncIntervalMs: 20 },
        },
      ],
      checkpoint: { path: join(dir, 'registry.json'), flushIntervalMs: 50 },
    };
    return { committed, spool, agentConfig };
  }

  async function agentFor(config: Record<string, unknown>): Promise<Agent> {
    const agent = await startAgent(config);
    stops.push(() => agent.stop());
    return agent;
  }

  it('delivers every message once, over both framings and UDP, and removes shipped spool files', async () => {
    const { committed, spool, agentConfig } = await setup();
    const agent = await agentFor(agentConfig);
    const input = agent.syslog[0];
    if (!input?.tcpAddress || !input.udpAddress) throw new Error('not listening');
    const all = Array.from({ length: 3000 }, (_, n) => message(n));
    await Promise.all([
      sendTcp(input.tcpAddress, all.slice(0, 1000), true),
      sendTcp(input.tcpAddress, all.slice(1000, 2000), false),
      sendUdp(input.udpAddress, all.slice(2000), async () =>
        metricSum(await agent.registry.metrics(), 'logrelay_agent_syslog_messages_total', {
          transport: 'udp',
        }),
      ),
    ]);
    // Counted below whether or not they all came: a failure says how many are missing.
    await waitFor(() => committed.length >= all.length, {
      timeoutMs: 30_000,
      what: '3000 messages',
    }).catch(() => undefined);
    await sleep(500);
    expect(
      countLines(
        all,
        committed.map((c) => c.text),
      ),
    ).toEqual(exactlyOnce(3000));
    const metrics = await agent.registry.metrics();
    expect(metricSum(metrics, 'logrelay_agent_syslog_messages_total')).toBe(3000);
    // ~170 KiB through 16 KiB spool files (rotated after the group that fills one): rotated
    // several times, each rotated file removed once shipped.
    expect(metricSum(metrics, 'logrelay_agent_syslog_spool_syncs_total')).toBeGreaterThan(0);
    await waitFor(async () => (await readdir(spool)).length === 1, {
      timeoutMs: 10_000,
      what: 'only the live spool file left',
    });
    expect(await readdir(spool)).toEqual(['edge.log']);
    expect(
      metricSum(await agent.registry.metrics(), 'logrelay_agent_syslog_spool_files_removed_total'),
    ).toBeGreaterThanOrEqual(2);
  });

  it('ships what was spooled before an agent restart once, and goes on after it', async () => {
    const { committed, agentConfig } = await setup();
    const first = await agentFor(agentConfig);
    const all = Array.from({ length: 2000 }, (_, n) => message(n));
    await sendTcp(first.syslog[0]?.tcpAddress as string, all.slice(0, 1000), true);
    // Stopped at once: part of what it received is spooled and not yet shipped.
    await first.stop();
    const before = committed.length;
    expect(before).toBeLessThanOrEqual(1000);
    const second = await agentFor(agentConfig);
    await sendTcp(second.syslog[0]?.tcpAddress as string, all.slice(1000), false);
    await waitFor(() => committed.length >= all.length, {
      timeoutMs: 30_000,
      what: '2000 messages',
    });
    await sleep(500);
    expect(
      countLines(
        all,
        committed.map((c) => c.text),
      ),
    ).toEqual(exactlyOnce(2000));
  });
});
