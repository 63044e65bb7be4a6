// Role: the syslog input — TCP and UDP listeners that append every message to the input's spool
// file; the agent tails that file like any other, so everything after the spool is exactly-once.

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { unlink } from 'node:fs/promises';
import { Counter, Gauge, type Registry } from 'prom-client';
import { RelayError } from '../../common/errors/relay-error.js';
import { Component } from '../../common/lifecycle/component.js';
import type { Logger } from '../../common/logging/logger.js';
import type { SyslogInputConfig } from './config.js';
import { SyslogFramer, spoolLine, type Framed } from './framing.js';
import { Spool, type SpoolFile } from './spool.js';

/** Stable codes of the errors a syslog input throws. */
export const syslogErrorCodes = {
  /** A listen address could not be bound (in use, not local, no permission). */
  listenFailed: 'SYSLOG_LISTEN_FAILED',
  /** The spool directory or file could not be opened. */
  spoolFailed: 'SYSLOG_SPOOL_FAILED',
} as const;

/** Metric families shared by every syslog input of an agent (labelled by input). */
export interface SyslogMetrics {
  messages: Counter<'input' | 'transport'>;
  bytes: Counter<'input'>;
  truncated: Counter<'input'>;
  dropped: Counter<'input' | 'reason'>;
  syncs: Counter<'input'>;
  removed: Counter<'input'>;
  connections: Gauge<'input'>;
}

export function syslogMetrics(registry: Registry): SyslogMetrics {
  const registers = [registry];
  return {
    messages: new Counter({
      name: 'logrelay_agent_syslog_messages_total',
      help: 'Syslog messages received and queued for the spool, by input and transport.',
      labelNames: ['input', 'transport'],
      registers,
    }),
    bytes: new Counter({
      name: 'logrelay_agent_syslog_spooled_bytes_total',
      help: 'Bytes written to syslog spool files (newlines included).',
      labelNames: ['input'],
      registers,
    }),
    truncated: new Counter({
      name: 'logrelay_agent_syslog_truncated_total',
      help: 'Syslog messages longer than maxMessageBytes, cut to it.',
      labelNames: ['input'],
      registers,
    }),
    dropped: new Counter({
      name: 'logrelay_agent_syslog_dropped_total',
      help: 'Syslog messages or connections refused: reason=buffer_full (UDP while the spool is behind), connections (over maxConnections).',
      labelNames: ['input', 'reason'],
      registers,
    }),
    syncs: new Counter({
      name: 'logrelay_agent_syslog_spool_syncs_total',
      help: 'Groups of messages written and fsynced to a spool file.',
      labelNames: ['input'],
      registers,
    }),
    removed: new Counter({
      name: 'logrelay_agent_syslog_spool_files_removed_total',
      help: 'Rotated spool files deleted once every line of them was acknowledged.',
      labelNames: ['input'],
      registers,
    }),
    connections: new Gauge({
      name: 'logrelay_agent_syslog_connections',
      help: 'Open syslog TCP connections.',
      labelNames: ['input'],
      registers,
    }),
  };
}

/** Says whether a file (device, inode) was acknowledged up to `size` bytes. */
export type ShippedCheck = (file: SpoolFile) => boolean;

/** How often rotated spool files are checked for deletion, ms. */
const CLEANUP_INTERVAL_MS = 2000;

/**
 * One `syslog[]` input. Received is not yet safe: a message is safe once its group is fsynced to
 * the spool (at most `spool.fsyncIntervalMs` later). UDP has no acknowledgement at all; TCP's is
 * the kernel's, before the spool: a crash of the agent loses what was received and not yet
 * fsynced. What is in the spool is shipped exactly-once, like any file.
 */
export class SyslogInput extends Component {
  readonly config: SyslogInputConfig;
  readonly spool: Spool;
  readonly #log: Logger;
  readonly #m: SyslogMetrics;
  readonly #shipped: ShippedCheck;
  #tcp: Server | undefined;
  #udp: UdpSocket | undefined;
  readonly #sockets = new Set<Socket>();
  #paused = false;
  #cleanupTimer: NodeJS.Timeout | undefined;

  constructor(
    config: SyslogInputConfig,
    log: Logger,
    metrics: SyslogMetrics,
    shipped: ShippedCheck,
  ) {
    super(`syslog:${config.name}`);
    this.config = config;
    this.#log = log.child({ input: config.name });
    this.#m = metrics;
    this.#shipped = shipped;
    this.spool = new Spool({
      directory: config.spool.directory,
      name: config.name,
      maxFileBytes: config.spool.maxFileBytes,
      fsyncIntervalMs: config.spool.fsyncIntervalMs,
      onSync: () => metrics.syncs.inc({ input: config.name }),
    });
  }

  /** Where TCP listens (the port chosen when the config gave 0). */
  get tcpAddress(): string | undefined {
    const a = this.#tcp?.address();
    return a && typeof a === 'object' ? `${a.address}:${a.port}` : undefined;
  }

  /** Where UDP listens (the port chosen when the config gave 0). */
  get udpAddress(): string | undefined {
    const a = this.#udp?.address();
    return a ? `${a.address}:${a.port}` : undefined;
  }

  protected async doStart(): Promise<void> {
    try {
      await this.spool.open();
    } catch (err) {
      throw new RelayError(
        syslogErrorCodes.spoolFailed,
        `syslog ${this.config.name}: cannot open the spool ${this.spool.livePath}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (this.config.tcp !== undefined) this.#tcp = await this.#listenTcp(this.config.tcp);
    if (this.config.udp !== undefined) this.#udp = await this.#listenUdp(this.config.udp);
    this.#cleanupTimer = setInterval(() => void this.removeShipped(), CLEANUP_INTERVAL_MS);
    this.#log.info(
      { tcp: this.tcpAddress, udp: this.udpAddress, spool: this.spool.livePath },
      'syslog input listening',
    );
  }

  protected async doStop(): Promise<void> {
    clearInterval(this.#cleanupTimer);
    // Stop taking messages first, then write what was taken.
    const tcp = this.#tcp;
    this.#tcp = undefined;
    for (const s of this.#sockets) s.end();
    if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    this.#udp?.close();
    this.#udp = undefined;
    await this.spool.close();
  }

  /** Deletes rotated spool files whose every line was acknowledged. Returns how many. */
  async removeShipped(): Promise<number> {
    let removed = 0;
    try {
      for (const file of await this.spool.rotated()) {
        if (!this.#shipped(file)) continue;
        await unlink(file.path);
        removed++;
        this.#m.removed.inc({ input: this.config.name });
        this.#log.info({ path: file.path, bytes: file.size }, 'spool file shipped: removed');
      }
    } catch (err) {
      this.#log.warn({ err }, 'could not clean the spool directory');
    }
    return removed;
  }

  #accept(message: Framed, transport: 'tcp' | 'udp'): void {
    const name = this.config.name;
    const line = spoolLine(message.message);
    if (line.length === 0) return;
    if (message.truncated) this.#m.truncated.inc({ input: name });
    this.#m.messages.inc({ input: name, transport });
    this.#m.bytes.inc({ input: name }, line.length + 1);
    this.spool.append(line);
    if (this.spool.pendingBytes >= this.config.spool.maxBufferedBytes) this.#pause();
  }

  /** The spool is behind: TCP senders wait (backpressure), until the pending bytes are written. */
  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    for (const s of this.#sockets) s.pause();
    const resume = (): void => {
      if (this.spool.pendingBytes < this.config.spool.maxBufferedBytes / 2) {
        this.#paused = false;
        for (const s of this.#sockets) s.resume();
        return;
      }
      void this.spool
        .flush()
        .catch((err: unknown) => this.#log.error({ err }, 'spool write failed; will retry'))
        .then(() => setTimeout(resume, 50));
    };
    void this.spool
      .flush()
      .catch((err: unknown) => this.#log.error({ err }, 'spool write failed; will retry'))
      .then(resume);
  }

  async #listenTcp(address: string): Promise<Server> {
    const { host, port } = splitAddress(address);
    const server = createServer((socket) => {
      if (this.#sockets.size >= this.config.maxConnections) {
        this.#m.dropped.inc({ input: this.config.name, reason: 'connections' });
        socket.destroy();
        return;
      }
      this.#sockets.add(socket);
      this.#m.connections.inc({ input: this.config.name });
      if (this.#paused) socket.pause();
      const framer = new SyslogFramer(this.config.maxMessageBytes);
      socket.on('data', (chunk: Buffer) => {
        for (const m of framer.push(chunk)) this.#accept(m, 'tcp');
      });
      socket.on('end', () => {
        const last = framer.end();
        if (last) this.#accept(last, 'tcp');
      });
      socket.on('error', (err) => this.#log.debug({ err }, 'syslog connection error'));
      socket.on('close', () => {
        this.#sockets.delete(socket);
        this.#m.connections.dec({ input: this.config.name });
      });
    });
    return listen(server, host, port, address, () => server.listen(port, host));
  }

  async #listenUdp(address: string): Promise<UdpSocket> {
    const { host, port } = splitAddress(address);
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.on('message', (datagram: Buffer) => {
      if (this.spool.pendingBytes >= this.config.spool.maxBufferedBytes) {
        this.#m.dropped.inc({ input: this.config.name, reason: 'buffer_full' });
        return;
      }
      const max = this.config.maxMessageBytes;
      this.#accept({ message: datagram.subarray(0, max), truncated: datagram.length > max }, 'udp');
    });
    return listen(socket, host, port, address, () => socket.bind(port, host));
  }
}

function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

async function listen<T extends Server | UdpSocket>(
  target: T,
  host: string,
  port: number,
  address: string,
  start: () => void,
): Promise<T> {
  start();
  const [err] = (await Promise.race([
    once(target, 'listening').then(() => [undefined]),
    once(target, 'error'),
  ])) as [Error | undefined];
  if (err !== undefined) {
    throw new RelayError(
      syslogErrorCodes.listenFailed,
      `syslog: cannot listen on ${address}: ${err.message}`,
      { cause: err, details: { host, port } },
    );
  }
  return target;
}
