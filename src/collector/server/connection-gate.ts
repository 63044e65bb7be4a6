import { lookup } from 'node:dns/promises';
import { createServer, isIP, type Server, type Socket } from 'node:net';
import type { Counter } from 'prom-client';
import { RelayError } from '../../common/errors/relay-error.js';
import type { Logger } from '../../common/logging/logger.js';
import { openFilesLimit } from './open-files-limit.js';
import { RateLimitedWarn } from './rate-limited-warn.js';

export interface ConnectionGateOptions {
  /** A connection that has made no gRPC call this long after it was accepted is closed, in ms. */
  handshakeTimeoutMs: number;
  /** Most TCP connections open at once; more are closed as soon as they are accepted. */
  maxConnections: number;
  /** Most TCP connections open at once from one source address. */
  maxConnectionsPerAddress: number;
  /** The listener speaks TLS: a connection whose first byte is not a TLS record is plaintext. */
  tls: boolean;
}

/** Why the gate closed a connection (the `reason` label: a fixed set). */
export type DropReason =
  'handshake_timeout' | 'plaintext_on_tls' | 'max_connections' | 'max_connections_per_address';

export interface ConnectionGateMetrics {
  /** Connections closed by the gate, by reason. */
  dropped: Counter<'reason'>;
  /**
   * Bytes read from and written to the served connections as they are on the wire (TLS
   * records, HTTP/2 frames, compressed messages), by direction (received, sent). Brought up to
   * date when a connection closes and by `countWireBytes`.
   */
  wireBytes?: Counter<'direction'>;
}

/** The first byte of every TLS connection: a handshake record (ClientHello). */
const TLS_HANDSHAKE_RECORD = 0x16;

const MESSAGES: Record<DropReason, string> = {
  handshake_timeout: 'connection closed: no gRPC call within listen.handshakeTimeoutMs',
  plaintext_on_tls:
    'plaintext connection on the TLS port closed (is ship.tls unset on that agent?)',
  max_connections: 'connection refused: listen.maxConnections connections open',
  max_connections_per_address:
    'connection refused: listen.maxConnectionsPerAddress connections open from that address',
};

interface Tracked {
  socket: Socket;
  address: string;
  timer: NodeJS.Timeout | undefined;
  /** Bytes of the socket already added to the wire-bytes counter. */
  countedRead: number;
  countedWritten: number;
}

/**
 * The TCP listener in front of the gRPC server. grpc-js's Server owns the HTTP/2 (and TLS)
 * server it binds, with no say over raw connections: a client that connects and never speaks
 * holds a descriptor for good, and a plaintext client on a TLS port fails inside TLS without a
 * trace. So the collector listens itself and hands each accepted socket to grpc-js through its
 * public `createConnectionInjector` (the supported way to feed it connections; it then does TLS,
 * HTTP/2 and mTLS exactly as for a port it bound), after:
 *
 * - the caps: over `maxConnections` in total or `maxConnectionsPerAddress` from one address, the
 *   socket is closed at once;
 * - on a TLS port, a look at the first byte: anything but a TLS handshake record is a plaintext
 *   client, closed, logged and counted (the byte is put back for TLS otherwise);
 * - a deadline: a connection that has made no gRPC call `handshakeTimeoutMs` after it was
 *   accepted is closed. "Made a call" stands for "finished the TLS and HTTP/2 handshakes": it is
 *   the first point grpc-js reports through its public API (`RelayServer` calls `spoke` for every
 *   call with the call's peer), and gRPC clients open a connection to make a call.
 *
 * The alternatives read grpc-js internals (its private map of HTTP/2 servers, to listen for
 * sessions) or re-implement its TLS setup; both break silently on a grpc-js upgrade.
 */
export class ConnectionGate {
  readonly #opts: ConnectionGateOptions;
  readonly #hand: (socket: Socket) => void;
  readonly #log: Logger;
  readonly #warn: RateLimitedWarn;
  readonly #metrics: ConnectionGateMetrics;
  /** Open connections by peer (`address:port`, as grpc-js's `getPeer` writes it). */
  readonly #open = new Map<string, Tracked>();
  readonly #perAddress = new Map<string, number>();
  readonly #servers: Server[] = [];

  constructor(
    opts: ConnectionGateOptions,
    hand: (socket: Socket) => void,
    log: Logger,
    metrics: ConnectionGateMetrics,
  ) {
    this.#opts = opts;
    this.#hand = hand;
    this.#log = log;
    this.#warn = new RateLimitedWarn(log);
    this.#metrics = metrics;
  }

  /** TCP connections open now (handshaking or serving). */
  get open(): number {
    return this.#open.size;
  }

  /**
   * Listens on `host:port` (0: a free port); resolves with the bound port. A host name is
   * listened on at every address it resolves to (`localhost`: 127.0.0.1 and ::1), on one port,
   * as grpc-js's own bind does; the first address must bind, later ones may fail (logged).
   */
  async listen(host: string, port: number): Promise<number> {
    let addresses: string[];
    try {
      addresses = isIP(host)
        ? [host]
        : [...new Set((await lookup(host, { all: true })).map((a) => a.address))];
    } catch (err) {
      throw new RelayError('LISTEN_FAILED', `cannot resolve listen.host ${host}`, { cause: err });
    }
    this.#checkDescriptors();
    let bound = port;
    for (const [i, address] of addresses.entries()) {
      try {
        bound = await this.#listenOn(address, bound);
      } catch (err) {
        if (i === 0) {
          this.stopAccepting();
          throw new RelayError(
            'LISTEN_FAILED',
            `cannot listen on ${host}:${port}: ${(err as Error).message}`,
            { cause: err },
          );
        }
        this.#log.warn(
          { address, port: bound, err },
          'cannot listen on one address of listen.host',
        );
      }
    }
    return bound;
  }

  /**
   * Connections beyond the descriptor limit fail in `accept` before the caps see them (and
   * sinks fail to open files): a cap at or above the limit protects nothing. Said once at start.
   */
  #checkDescriptors(): void {
    const limit = openFilesLimit();
    if (limit !== undefined && this.#opts.maxConnections >= limit) {
      this.#log.warn(
        { maxConnections: this.#opts.maxConnections, openFilesLimit: limit },
        'listen.maxConnections is not below the open-files limit (ulimit -n / LimitNOFILE): lower it, or raise the limit, so the cap is reached before descriptors run out',
      );
    }
  }

  #listenOn(address: string, port: number): Promise<number> {
    const server = createServer({ noDelay: true }, (socket) => this.#accept(socket));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => {
        server.removeListener('error', reject);
        server.on('error', (err) => this.#log.error({ address, err }, 'listener error'));
        this.#servers.push(server);
        const bound = server.address();
        resolve(typeof bound === 'object' && bound ? bound.port : port);
      });
    });
  }

  /** A gRPC call arrived from `peer`: its connection has finished its handshakes. */
  spoke(peer: string): void {
    const tracked = this.#open.get(peer);
    if (tracked?.timer === undefined) return;
    clearTimeout(tracked.timer);
    tracked.timer = undefined;
  }

  /** Adds the bytes the open connections moved since the last count to the wire-bytes counter. */
  countWireBytes(): void {
    for (const tracked of this.#open.values()) this.#count(tracked);
  }

  #count(tracked: Tracked): void {
    const counter = this.#metrics.wireBytes;
    if (!counter) return;
    const { bytesRead, bytesWritten } = tracked.socket;
    if (bytesRead > tracked.countedRead) {
      counter.inc({ direction: 'received' }, bytesRead - tracked.countedRead);
      tracked.countedRead = bytesRead;
    }
    if (bytesWritten > tracked.countedWritten) {
      counter.inc({ direction: 'sent' }, bytesWritten - tracked.countedWritten);
      tracked.countedWritten = bytesWritten;
    }
  }

  /** Stops accepting, and closes every connection that has not made a call yet. */
  stopAccepting(): void {
    for (const server of this.#servers.splice(0)) server.close();
    for (const t of [...this.#open.values()]) if (t.timer !== undefined) t.socket.destroy();
  }

  /** Closes every connection still open (after grpc-js had its chance to end them cleanly). */
  destroyAll(): void {
    for (const t of [...this.#open.values()]) t.socket.destroy();
  }

  #accept(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    const peer = `${address}:${socket.remotePort ?? 0}`;
    socket.on('error', (err) => this.#log.debug({ peer, err }, 'connection error'));
    if (this.#open.size >= this.#opts.maxConnections) {
      this.#drop(socket, peer, 'max_connections');
      return;
    }
    const fromAddress = this.#perAddress.get(address) ?? 0;
    if (fromAddress >= this.#opts.maxConnectionsPerAddress) {
      this.#drop(socket, peer, 'max_connections_per_address');
      return;
    }
    const tracked: Tracked = {
      socket,
      address,
      timer: undefined,
      countedRead: 0,
      countedWritten: 0,
    };
    this.#open.set(peer, tracked);
    this.#perAddress.set(address, fromAddress + 1);
    tracked.timer = setTimeout(() => {
      tracked.timer = undefined;
      this.#drop(socket, peer, 'handshake_timeout');
    }, this.#opts.handshakeTimeoutMs);
    tracked.timer.unref();
    socket.once('close', () => this.#forget(peer, tracked));
    if (!this.#opts.tls) {
      this.#hand(socket);
      return;
    }
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      if (chunk[0] !== TLS_HANDSHAKE_RECORD) {
        if (tracked.timer !== undefined) clearTimeout(tracked.timer);
        tracked.timer = undefined;
        this.#drop(socket, peer, 'plaintext_on_tls');
        return;
      }
      // TLS reads what is already buffered on the socket before its own reads.
      socket.unshift(chunk);
      this.#hand(socket);
    });
  }

  #forget(peer: string, tracked: Tracked): void {
    this.#count(tracked);
    if (tracked.timer !== undefined) clearTimeout(tracked.timer);
    tracked.timer = undefined;
    if (this.#open.get(peer) !== tracked) return;
    this.#open.delete(peer);
    const n = (this.#perAddress.get(tracked.address) ?? 1) - 1;
    if (n <= 0) this.#perAddress.delete(tracked.address);
    else this.#perAddress.set(tracked.address, n);
  }

  #drop(socket: Socket, peer: string, reason: DropReason): void {
    this.#metrics.dropped.inc({ reason });
    this.#warn.warn(reason, { peer, reason }, MESSAGES[reason]);
    socket.destroy();
  }
}
