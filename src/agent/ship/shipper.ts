import * as grpc from '@grpc/grpc-js';
import type { Counter, Histogram } from 'prom-client';
import { Component } from '../../common/lifecycle/component.js';
import type { Logger } from '../../common/logging/logger.js';
import {
  compressionOptions,
  messageSizeOptions,
  RelayClient,
  type ShipCompression,
  type Batch,
  type ShipRequest,
  type ShipResponse,
} from '../../common/wire/index.js';
import {
  loadChannelCredentials,
  loadSecret,
  TOKEN_MIN_LENGTH,
  type ClientTlsConfig,
  type SecretConfig,
} from '../../common/security/index.js';
import { Backoff } from './backoff.js';

export interface ShipperOptions {
  agentId: string;
  host: string;
  version: string;
  /** Collector addresses, tried in order (replaced at run time by `setCollectors`). */
  collectors: readonly string[];
  /** Unanswered batches per connection. */
  window: number;
  retryInitialMs: number;
  retryMaxMs: number;
  maxMessageBytes: number;
  /** Wire compression of the messages sent (`ship.compression`). Default: none. */
  compression?: ShipCompression;
  keepaliveMs: number;
  /** Longest wait for a batch's answer before the connection is taken for broken, ms. */
  ackTimeoutMs: number;
  /** TLS towards collectors (`ship.tls`); undefined for plaintext. */
  tls?: ClientTlsConfig;
  /** Token sent in the hello (`ship.token`). */
  token?: SecretConfig;
  /** Where the config came from, for errors about the files it names. */
  configSource: string;
}

/** How the shipper reports each batch's fate. Exactly one call per `send`. */
export interface ShipperEvents {
  /** Every sink of the route committed the batch. */
  committed(batch: Batch, duplicateLines: number): void;
  /** The batch was not committed (retry-after, disconnect): resend it, and everything after it, later. */
  retry(batch: Batch, delayMs: number, reason: string): void;
  /** The batch can never be committed. */
  rejected(batch: Batch, code: string, reason: string): void;
  /** Room opened in the window (or a connection came up): more batches may be sent. */
  ready(): void;
}

export interface ShipperMetrics {
  batches: Counter<'result'>;
  roundTrip: Histogram;
  connects: Counter<'collector' | 'result'>;
}

interface InFlight {
  batch: Batch;
  sentAt: number;
}

/**
 * One bidi `Ship` stream at a time to one collector, with a window of unanswered batches.
 * When the stream breaks, every unanswered batch is reported as `retry` (the agent re-reads it
 * from the file) and the next collector in the list is tried after a backoff. gRPC's `write()`
 * returning false is honoured: nothing more is written until 'drain'.
 */
export class Shipper extends Component {
  readonly #opts: ShipperOptions;
  readonly #events: ShipperEvents;
  readonly #log: Logger;
  readonly #metrics: ShipperMetrics;
  readonly #inFlight = new Map<number, InFlight>();
  readonly #backoff: Backoff;
  #client: RelayClient | undefined;
  #call: grpc.ClientDuplexStream<ShipRequest, ShipResponse> | undefined;
  #connected = false;
  #writable = true;
  #collectorIndex = 0;
  #collectors: readonly string[];
  /** Moving to another collector: nothing new is sent; the switch comes once answers are in. */
  #moving: { to: string; timer: NodeJS.Timeout } | undefined;
  #seq = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #stopping = false;
  #credentials = grpc.credentials.createInsecure();
  #channelOptions: grpc.ChannelOptions = {};
  #token = '';
  #ackTimer: NodeJS.Timeout | undefined;

  constructor(opts: ShipperOptions, events: ShipperEvents, log: Logger, metrics: ShipperMetrics) {
    super('shipper');
    this.#opts = opts;
    this.#events = events;
    this.#log = log;
    this.#metrics = metrics;
    this.#backoff = new Backoff(opts.retryInitialMs, opts.retryMaxMs);
    this.#collectors = opts.collectors;
  }

  /** The collector currently (or next) connected to. */
  get collector(): string {
    return this.#collectors[this.#collectorIndex % Math.max(1, this.#collectors.length)] ?? '';
  }

  get connected(): boolean {
    return this.#connected;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** True when `send` would put a batch on the wire now. */
  get canSend(): boolean {
    return (
      this.#connected && this.#writable && !this.#moving && this.#inFlight.size < this.#opts.window
    );
  }

  /** Sends a batch (its `seq` is assigned here). Call only when `canSend`. */
  send(batch: Batch): void {
    const call = this.#call;
    if (!this.canSend || !call) {
      this.#events.retry(batch, 0, 'not connected');
      return;
    }
    batch.seq = ++this.#seq;
    this.#inFlight.set(batch.seq, { batch, sentAt: performance.now() });
    this.#writable = call.write({ body: { $case: 'batch', value: batch } });
  }

  protected async doStart(): Promise<void> {
    this.#stopping = false;
    const source = this.#opts.configSource;
    const loaded = await loadChannelCredentials(this.#opts.tls, 'ship.tls', source);
    this.#credentials = loaded.credentials;
    this.#channelOptions = loaded.options;
    this.#token = this.#opts.token
      ? await loadSecret(this.#opts.token, 'ship.token', source, TOKEN_MIN_LENGTH)
      : '';
    // A collector that accepted a batch and never answers (a hung sink, a half-dead
    // connection keepalive does not catch) would otherwise hold the stream for ever.
    this.#ackTimer = setInterval(() => this.#checkAcks(), 1000);
    this.#ackTimer.unref();
    this.#connect();
  }

  /**
   * Replaces the collector list (cluster mode: the assigned collector first, then fallbacks).
   * When the first one changes, the move is graceful: nothing new is sent, and once every batch
   * on the wire is answered (or after 10 s) the stream is closed and the new collector dialled,
   * so no batch is in two places at once.
   */
  setCollectors(collectors: readonly string[]): void {
    const target = collectors[0];
    const previous = this.#collectors;
    this.#collectors = collectors;
    if (target === undefined || this.#stopping || !this.running) return;
    const current = previous[this.#collectorIndex % Math.max(1, previous.length)];
    if (this.#moving) {
      if (this.#moving.to === target) return;
      clearTimeout(this.#moving.timer);
      this.#moving = undefined;
    }
    if (!this.#call && !this.#client) {
      // Not connected (waiting to retry, or never had an address): dial the new first one now.
      this.#collectorIndex = 0;
      clearTimeout(this.#reconnectTimer);
      this.#connect();
      return;
    }
    if (current === target) {
      this.#collectorIndex = 0;
      return;
    }
    this.#log.info({ from: current, to: target }, 'moving to the assigned collector');
    const timer = setTimeout(() => this.#finishMove(), 10_000);
    timer.unref();
    this.#moving = { to: target, timer };
    if (this.#inFlight.size === 0) this.#finishMove();
  }

  #checkAcks(): void {
    if (!this.#connected) return;
    const now = performance.now();
    for (const entry of this.#inFlight.values()) {
      if (now - entry.sentAt > this.#opts.ackTimeoutMs) {
        this.#log.warn(
          { collector: this.collector, waitedMs: Math.round(now - entry.sentAt) },
          'no answer within ship.ackTimeoutMs; resending elsewhere',
        );
        this.#failover('no answer within ship.ackTimeoutMs');
        return;
      }
    }
  }

  #finishMove(): void {
    const moving = this.#moving;
    if (!moving) return;
    clearTimeout(moving.timer);
    this.#moving = undefined;
    this.#disconnect(`moving to ${moving.to}`);
    clearTimeout(this.#reconnectTimer);
    this.#collectorIndex = Math.max(0, this.#collectors.indexOf(moving.to));
    this.#connect();
  }

  protected async doStop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#ackTimer);
    clearTimeout(this.#moving?.timer);
    this.#moving = undefined;
    clearTimeout(this.#reconnectTimer);
    this.#disconnect('agent stopping');
  }

  #connect(): void {
    if (this.#stopping) return;
    const address = this.collector;
    if (!address) return; // no collector known yet (cluster mode): setCollectors dials
    const client = new RelayClient(address, this.#credentials, {
      ...this.#channelOptions,
      ...messageSizeOptions(this.#opts.maxMessageBytes),
      ...compressionOptions(this.#opts.compression ?? 'none'),
      'grpc.keepalive_time_ms': this.#opts.keepaliveMs,
      'grpc.keepalive_timeout_ms': Math.max(1000, Math.floor(this.#opts.keepaliveMs / 2)),
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.initial_reconnect_backoff_ms': this.#opts.retryInitialMs,
      'grpc.max_reconnect_backoff_ms': this.#opts.retryMaxMs,
    });
    this.#client = client;
    // waitForReady tells us when the channel is up: a call started before would fail fast or hang.
    client.waitForReady(Date.now() + Math.max(2000, this.#opts.retryInitialMs * 10), (err) => {
      if (this.#client !== client || this.#stopping) return;
      if (err) {
        this.#metrics.connects.inc({ collector: address, result: 'failed' });
        this.#log.warn({ collector: address, err: err.message }, 'collector unreachable');
        this.#failover(`unreachable: ${err.message}`);
        return;
      }
      this.#open(client, address);
    });
  }

  #open(client: RelayClient, address: string): void {
    const call = client.ship();
    this.#call = call;
    this.#writable = true;
    call.on('data', (response: ShipResponse) => this.#answer(response));
    call.on('drain', () => {
      this.#writable = true;
      this.#events.ready();
    });
    const broken = (reason: string, code?: grpc.status) => {
      if (this.#call !== call) return;
      if (code === grpc.status.UNAUTHENTICATED)
        this.#log.error(
          { collector: address, reason },
          'collector refused our credentials (ship.tls / ship.token)',
        );
      else this.#log.warn({ collector: address, reason }, 'ship stream closed');
      this.#failover(reason);
    };
    call.on('error', (err: grpc.ServiceError) =>
      broken(`${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`, err.code),
    );
    call.on('end', () => broken('collector ended the stream'));
    call.write({
      body: {
        $case: 'hello',
        value: {
          agentId: this.#opts.agentId,
          host: this.#opts.host,
          version: this.#opts.version,
          token: this.#token,
        },
      },
    });
    this.#connected = true;
    this.#metrics.connects.inc({ collector: address, result: 'ok' });
    this.#log.info(
      { collector: address, compression: this.#opts.compression ?? 'none' },
      'connected to collector',
    );
    this.#events.ready();
  }

  #answer(response: ShipResponse): void {
    const entry = this.#inFlight.get(response.seq);
    if (!entry) return; // an answer for a batch already given up on (after a reconnect)
    this.#inFlight.delete(response.seq);
    this.#metrics.roundTrip.observe((performance.now() - entry.sentAt) / 1000);
    const result = response.result;
    switch (result?.$case) {
      case 'committed':
        this.#backoff.reset();
        this.#metrics.batches.inc({ result: 'committed' });
        this.#events.committed(entry.batch, result.value.duplicateLines);
        break;
      case 'retryAfter':
        this.#metrics.batches.inc({ result: 'retry' });
        this.#events.retry(entry.batch, result.value.delayMs, result.value.reason);
        break;
      case 'rejected':
        this.#metrics.batches.inc({ result: 'rejected' });
        this.#events.rejected(entry.batch, result.value.code, result.value.reason);
        break;
      default:
        this.#metrics.batches.inc({ result: 'retry' });
        this.#events.retry(entry.batch, this.#opts.retryInitialMs, 'empty answer');
    }
    if (this.#moving && this.#inFlight.size === 0) this.#finishMove();
    this.#events.ready();
  }

  /** Gives up the current connection: unanswered batches go back to be re-read. */
  #disconnect(reason: string): void {
    const call = this.#call;
    const client = this.#client;
    this.#call = undefined;
    this.#client = undefined;
    this.#connected = false;
    if (call) {
      call.removeAllListeners('data');
      call.on('error', () => undefined);
      call.cancel();
    }
    client?.close();
    const lost = [...this.#inFlight.values()];
    this.#inFlight.clear();
    for (const { batch } of lost) this.#events.retry(batch, 0, reason);
  }

  #failover(reason: string): void {
    const moving = this.#moving;
    if (moving) {
      // The stream broke while moving: go straight to where we were moving to.
      clearTimeout(moving.timer);
      this.#moving = undefined;
      this.#disconnect(reason);
      if (this.#stopping) return;
      this.#collectorIndex = Math.max(0, this.#collectors.indexOf(moving.to));
      this.#reconnectTimer = setTimeout(() => this.#connect(), this.#backoff.next());
      return;
    }
    this.#disconnect(reason);
    if (this.#stopping) return;
    this.#collectorIndex = (this.#collectorIndex + 1) % Math.max(1, this.#collectors.length);
    const delay = this.#backoff.next();
    this.#log.info({ next: this.collector, delayMs: delay }, 'failing over');
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
  }
}
