import * as grpc from '@grpc/grpc-js';
import type { Counter } from 'prom-client';
import { Component } from '../../common/lifecycle/component.js';
import type { Logger } from '../../common/logging/logger.js';
import {
  HealthCheckResponse_ServingStatus,
  HealthService,
  messageSizeOptions,
  RelayService,
  type HealthServer,
  type RelayServer as RelayServiceImpl,
  type ShipRequest,
  type ShipResponse,
} from '../../common/wire/index.js';
import {
  loadSecret,
  TOKEN_MIN_LENGTH,
  loadServerCredentials,
  type SecretConfig,
  type ServerTlsConfig,
} from '../../common/security/index.js';
import { Authenticator, type AgentToken } from './authenticator.js';
import type { BatchProcessor } from './batch-processor.js';
import { ConnectionGate } from './connection-gate.js';

export interface RelayServerOptions {
  host: string;
  port: number;
  maxMessageBytes: number;
  /** Interval of gRPC keepalive pings, in ms: without them a dead agent is never noticed. */
  keepaliveMs: number;
  /** How long a graceful stop waits for in-flight batches, in ms. */
  drainTimeoutMs: number;
  /** Most distinct agents connected at once; more are refused (RESOURCE_EXHAUSTED) and fail over. */
  maxAgents: number;
  /** A connection that has made no call this long after it was accepted is closed, in ms. */
  handshakeTimeoutMs: number;
  /** Most TCP connections open at once. */
  maxConnections: number;
  /** Most TCP connections open at once from one source address. */
  maxConnectionsPerAddress: number;
  /** TLS of the listener (`listen.tls`); undefined for plaintext. */
  tls?: ServerTlsConfig;
  /** Accepted agent tokens (`auth.tokens`); undefined when tokens are off. */
  tokens?: ReadonlyArray<{ agent: string; token: SecretConfig }>;
  /** Where the config came from, for errors about the files it names. */
  configSource: string;
}

export interface RelayServerMetrics {
  /**
   * Ship streams refused, by reason (no_client_cert, no_token, bad_token, cert_mismatch,
   * agent_mismatch, no_hello, max_agents, fenced).
   */
  refused: Counter<'reason'>;
  /** Limits hit, by limit name (the config key). */
  limitHits: Counter<'limit'>;
  /**
   * TCP connections closed before or instead of being served, by reason (handshake_timeout,
   * plaintext_on_tls, max_connections, max_connections_per_address).
   */
  droppedConnections: Counter<'reason'>;
  /** Bytes on the wire of the served connections, by direction (received, sent). */
  wireBytes?: Counter<'direction'>;
}

type ShipCall = grpc.ServerDuplexStream<ShipRequest, ShipResponse>;

/**
 * The gRPC endpoint: `Relay.Ship` and `grpc.health.v1.Health` on one port. Every batch on a
 * stream gets exactly one answer with its sequence number. A graceful stop answers new batches
 * with retry-after (agents fail over), waits for the batches already being written, then ends
 * the streams.
 */
export class RelayServer extends Component {
  readonly #opts: RelayServerOptions;
  readonly #processor: BatchProcessor;
  readonly #log: Logger;
  readonly #calls = new Set<ShipCall>();
  readonly #isReady: () => boolean;
  readonly #metrics: RelayServerMetrics;
  /** Open streams per authenticated agent id (an agent may briefly hold two while reconnecting). */
  readonly #agents = new Map<string, number>();
  #auth = new Authenticator({ requireClientCert: false });
  #server: grpc.Server | undefined;
  #gate: ConnectionGate | undefined;
  #port = 0;
  #draining = false;
  /** Why the collector is fenced (cluster mode): streams are refused while set. */
  #fenced: string | undefined;
  #fenceEpoch = 0;
  /** Numbers the Ship streams, so the processor can tell a stream's batches from a later one's. */
  #connectionSeq = 0;

  constructor(
    opts: RelayServerOptions,
    processor: BatchProcessor,
    log: Logger,
    isReady: () => boolean,
    metrics: RelayServerMetrics,
  ) {
    super('relay-server');
    this.#opts = opts;
    this.#processor = processor;
    this.#log = log;
    this.#isReady = isReady;
    this.#metrics = metrics;
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return this.#port;
  }

  get address(): string {
    return `${this.#opts.host}:${this.#port}`;
  }

  get connections(): number {
    return this.#calls.size;
  }

  /** TCP connections open (handshaking or serving). */
  get tcpConnections(): number {
    return this.#gate?.open ?? 0;
  }

  /** Brings the wire-bytes counter up to date with the open connections (at a scrape). */
  countWireBytes(): void {
    this.#gate?.countWireBytes();
  }

  /** Distinct agents with an open stream. */
  get agents(): number {
    return this.#agents.size;
  }

  protected async doStart(): Promise<void> {
    this.#draining = false;
    const source = this.#opts.configSource;
    const { credentials, requireClientCert } = await loadServerCredentials(
      this.#opts.tls,
      'listen.tls',
      source,
    );
    let tokens: AgentToken[] | undefined;
    if (this.#opts.tokens) {
      tokens = await Promise.all(
        this.#opts.tokens.map(async (entry, i) => ({
          agent: entry.agent,
          token: await loadSecret(entry.token, `auth.tokens[${i}].token`, source, TOKEN_MIN_LENGTH),
        })),
      );
    }
    this.#auth = new Authenticator({ requireClientCert, tokens });
    const server = new grpc.Server({
      ...messageSizeOptions(this.#opts.maxMessageBytes),
      'grpc.keepalive_time_ms': this.#opts.keepaliveMs,
      'grpc.keepalive_timeout_ms': Math.max(1000, Math.floor(this.#opts.keepaliveMs / 2)),
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 1000,
    });
    const relay: RelayServiceImpl = { ship: (call: ShipCall) => this.#ship(call) };
    const health: HealthServer = {
      check: (call, callback) => {
        this.#gate?.spoke(call.getPeer());
        callback(null, {
          status:
            this.#isReady() && !this.#draining
              ? HealthCheckResponse_ServingStatus.SERVING
              : HealthCheckResponse_ServingStatus.NOT_SERVING,
        });
      },
      watch: (call) => {
        this.#gate?.spoke(call.getPeer());
        call.write({
          status: this.#isReady()
            ? HealthCheckResponse_ServingStatus.SERVING
            : HealthCheckResponse_ServingStatus.NOT_SERVING,
        });
        call.end();
      },
    };
    server.addService(RelayService, relay);
    server.addService(HealthService, health);
    this.#server = server;
    // Our own listener feeds grpc-js (see ConnectionGate for why): same TLS, HTTP/2 and mTLS.
    const injector = server.createConnectionInjector(credentials);
    const gate = new ConnectionGate(
      {
        handshakeTimeoutMs: this.#opts.handshakeTimeoutMs,
        maxConnections: this.#opts.maxConnections,
        maxConnectionsPerAddress: this.#opts.maxConnectionsPerAddress,
        tls: this.#opts.tls !== undefined,
      },
      (socket) => injector.injectConnection(socket),
      this.#log,
      { dropped: this.#metrics.droppedConnections, wireBytes: this.#metrics.wireBytes },
    );
    this.#gate = gate;
    try {
      this.#port = await gate.listen(this.#opts.host, this.#opts.port);
    } catch (err) {
      server.forceShutdown();
      this.#server = undefined;
      this.#gate = undefined;
      throw err;
    }
    this.#log.info(
      {
        address: this.address,
        tls: this.#opts.tls !== undefined,
        mtls: requireClientCert,
        tokens: tokens !== undefined,
      },
      'relay server listening',
    );
  }

  protected async doStop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#draining = true;
    const drained = await this.#drainWithin(this.#opts.drainTimeoutMs);
    if (!drained)
      this.#log.warn('stop: in-flight batches did not finish in time; agents will resend them');
    for (const call of this.#calls) call.end();
    this.#gate?.stopAccepting();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 2000);
      force.unref();
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    this.#gate?.destroyAll();
    this.#gate = undefined;
    this.#server = undefined;
    this.#calls.clear();
    this.#agents.clear();
  }

  /**
   * Refuses new agents, and drops the connected ones (they go to other collectors) once the
   * batches being written are answered — or after `drainMs` — so no batch is still in flight
   * here when its agent sends it elsewhere. Until `unfence`.
   */
  fence(reason: string, drainMs: number): void {
    this.#fenced = reason;
    const epoch = ++this.#fenceEpoch;
    void this.#drainWithin(drainMs).then(() => {
      if (this.#fenced === undefined || epoch !== this.#fenceEpoch) return;
      for (const call of [...this.#calls]) {
        call.emit('error', {
          code: grpc.status.UNAVAILABLE,
          details: `collector fenced: ${reason}`,
        });
      }
    });
  }

  unfence(): void {
    this.#fenced = undefined;
    this.#fenceEpoch++;
  }

  /** Resolves true once every batch being written is answered, false after `ms`. */
  #drainWithin(ms: number): Promise<boolean> {
    return Promise.race([
      this.#processor.drain().then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref()),
    ]);
  }

  /** Ends a stream with a gRPC error status (the agent logs it and fails over). */
  #refuse(
    call: ShipCall,
    code: grpc.status,
    reason: string,
    detail: string,
    agent: string,
    extra: Record<string, unknown> = {},
  ): void {
    this.#metrics.refused.inc({ reason });
    this.#log.warn({ agent, ...extra, peer: call.getPeer(), reason, detail }, 'agent refused');
    call.emit('error', { code, details: detail });
  }

  /**
   * Ends a stream that speaks for an agent other than its own. Batches are deduplicated and
   * rate-limited by the agent id they carry, so one accepted under another agent's id could
   * move that agent's marks (its next lines then vanish as "duplicates") or dodge its own
   * limit by rotating ids. Nothing of the batch is written.
   */
  #refuseImpostor(call: ShipCall, agent: string, claimed: string): void {
    this.#refuse(
      call,
      grpc.status.PERMISSION_DENIED,
      'agent_mismatch',
      `this stream is agent ${agent}; it may not send for agent ${claimed}`,
      agent,
      { claimed },
    );
  }

  #ship(call: ShipCall): void {
    this.#gate?.spoke(call.getPeer());
    this.#calls.add(call);
    /** The agent this stream speaks for: its hello's, or (no auth, no hello) its first batch's. */
    let agent = '';
    const connection = ++this.#connectionSeq;
    let admitted = false;
    let open = true;
    let outstanding = 0;
    let ended = false;
    const finish = () => {
      if (ended && outstanding === 0 && open) {
        open = false;
        call.end();
      }
    };
    const close = () => {
      open = false;
      this.#calls.delete(call);
      if (admitted) {
        admitted = false;
        const n = (this.#agents.get(agent) ?? 1) - 1;
        if (n <= 0) this.#agents.delete(agent);
        else this.#agents.set(agent, n);
      }
    };
    call.on('cancelled', close);
    call.on('error', (err) => {
      this.#log.debug({ agent, err }, 'ship stream error');
      close();
    });
    call.on('close', close);
    call.on('end', () => {
      ended = true;
      finish();
    });
    call.on('data', (req: ShipRequest) => {
      if (!open) return;
      // Admitted streams stay while fenced (their batches are answered retry-after) until the
      // drain in `fence` ends them; new ones are refused.
      if (this.#fenced !== undefined && !admitted) {
        open = false;
        this.#metrics.refused.inc({ reason: 'fenced' });
        call.emit('error', {
          code: grpc.status.UNAVAILABLE,
          details: `collector fenced: ${this.#fenced}`,
        });
        close();
        return;
      }
      const body = req.body;
      if (body?.$case === 'hello') {
        if (admitted) return;
        if (agent !== '' && body.value.agentId !== agent) {
          open = false;
          this.#refuseImpostor(call, agent, body.value.agentId);
          close();
          return;
        }
        agent = body.value.agentId;
        const verdict = this.#auth.check(body.value, call.getAuthContext());
        if (!verdict.ok) {
          open = false;
          this.#refuse(call, grpc.status.UNAUTHENTICATED, verdict.reason, verdict.detail, agent);
          close();
          return;
        }
        if (!this.#agents.has(agent) && this.#agents.size >= this.#opts.maxAgents) {
          open = false;
          this.#metrics.limitHits.inc({ limit: 'maxAgents' });
          this.#refuse(
            call,
            grpc.status.RESOURCE_EXHAUSTED,
            'max_agents',
            `collector has limits.maxAgents (${this.#opts.maxAgents}) agents connected`,
            agent,
          );
          close();
          return;
        }
        admitted = true;
        this.#agents.set(agent, (this.#agents.get(agent) ?? 0) + 1);
        this.#log.info(
          {
            agent,
            host: body.value.host,
            version: body.value.version,
            peer: call.getPeer(),
            ...(verdict.subject ? { subject: verdict.subject } : {}),
          },
          'agent connected',
        );
        return;
      }
      if (body?.$case !== 'batch') return;
      const batch = body.value;
      if (!admitted && this.#auth.required) {
        open = false;
        this.#refuse(
          call,
          grpc.status.UNAUTHENTICATED,
          'no_hello',
          'the first message must be a hello with credentials',
          batch.agentId,
        );
        close();
        return;
      }
      // Without auth and without a hello the first batch names the stream's agent: a stream
      // still carries one agent, so ids cannot be rotated on it.
      if (agent === '') agent = batch.agentId;
      if (batch.agentId !== agent) {
        open = false;
        this.#refuseImpostor(call, agent, batch.agentId);
        close();
        return;
      }
      if (this.#draining) {
        if (open)
          call.write({
            seq: batch.seq,
            result: { $case: 'retryAfter', value: { delayMs: 100, reason: 'collector stopping' } },
          });
        return;
      }
      outstanding++;
      this.#processor
        .process(batch, connection)
        .then(
          (result) => result,
          (err: unknown): NonNullable<ShipResponse['result']> => {
            this.#log.error({ err, agent }, 'batch processing failed');
            return { $case: 'retryAfter', value: { delayMs: 1000, reason: 'internal error' } };
          },
        )
        .then((result) => {
          outstanding--;
          if (open) call.write({ seq: batch.seq, result });
          finish();
        })
        // Writing the answer can throw once the stream is torn down under us; that must be
        // logged, not become an unhandled rejection that ends the collector.
        .catch((err: unknown) => this.#log.warn({ err, agent }, 'answering a batch failed'));
    });
  }
}
