import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { OpsServer } from '../common/http/ops-server.js';
import { Component } from '../common/lifecycle/component.js';
import { childLogger, type Logger } from '../common/logging/logger.js';
import { createMetricsRegistry } from '../common/metrics/registry.js';
import type { CollectorConfig } from './config.js';
import { ClusterNode } from './cluster/cluster-node.js';
import { HighWaterMarks } from './dedup/high-water-marks.js';
import { Router } from './routing/router.js';
import { BatchProcessor } from './server/batch-processor.js';
import { RelayServer } from './server/relay-server.js';
import { createSink, sinkGuarantee } from './sinks/registry.js';
import type { Sink } from './sinks/sink.js';
import { AgentRates } from './smoothing/agent-rates.js';
import { SinkFlow } from './smoothing/sink-flow.js';
import { StreamQuota } from './smoothing/stream-quota.js';

/**
 * One collector process: sinks, the router and dedup marks, the gRPC relay server and the
 * operations endpoint. Start order is sinks → server → ops (agents are only let in once the
 * sinks can commit); stop is the reverse, and the server drains before the sinks flush.
 */
export class Collector extends Component {
  readonly config: CollectorConfig;
  readonly registry: Registry;
  readonly sinks: ReadonlyMap<string, Sink>;
  readonly server: RelayServer;
  readonly ops: OpsServer;
  /** Cluster membership, when `cluster` is configured. */
  readonly cluster: ClusterNode | undefined;
  readonly #log: Logger;

  /**
   * @param configSource where `config` came from (its file), named in errors about the files
   *   it points to (TLS certificates, token files)
   */
  constructor(
    config: CollectorConfig,
    log: Logger,
    registry?: Registry,
    configSource = 'the collector configuration',
  ) {
    super(`collector:${config.id}`);
    this.config = config;
    this.#log = childLogger(log, 'collector', { collector: config.id });
    this.registry = registry ?? createMetricsRegistry({ collector: config.id });
    const reg = [this.registry];

    const sinks = new Map<string, Sink>();
    config.sinks.forEach((sinkConfig, i) => {
      sinks.set(
        sinkConfig.name,
        createSink(sinkConfig, {
          log: childLogger(this.#log, `sink.${sinkConfig.type}`, { sink: sinkConfig.name }),
          registry: this.registry,
          collectorId: config.id,
          ...(config.cluster ? { zookeeper: config.cluster.zookeeper } : {}),
          configPath: `sinks[${i}]`,
          configSource,
        }),
      );
    });
    this.sinks = sinks;

    const flows = new Map<string, SinkFlow>();
    for (const sinkConfig of config.sinks)
      flows.set(sinkConfig.name, new SinkFlow(sinkConfig.flow));
    const limitHits = new Counter({
      name: 'logrelay_collector_limit_hits_total',
      help: 'Times a configured limit was hit, by limit (its key under limits).',
      labelNames: ['limit'],
      registers: reg,
    });
    const defaultSinks =
      config.defaultSinks ?? (config.routes.length === 0 ? [...sinks.keys()] : []);
    const marks = new HighWaterMarks();
    const processor = new BatchProcessor(
      {
        ...config.limits,
        retryAfterMs: config.retryAfterMs,
        busyRetryAfterMs: config.busyRetryAfterMs,
        stuckStreamMs: config.stuckStreamMs,
        streamIdleMs: config.streamIdleMs,
        supersededStreamIdleMs: config.supersededStreamIdleMs,
      },
      new Router(config.routes, defaultSinks),
      sinks,
      marks,
      childLogger(this.#log, 'processor'),
      {
        batches: new Counter({
          name: 'logrelay_collector_batches_total',
          help: 'Batches answered, by result (committed, retry, busy, rejected).',
          labelNames: ['result'],
          registers: reg,
        }),
        lines: new Counter({
          name: 'logrelay_collector_lines_total',
          help: 'Lines received, by result.',
          labelNames: ['result'],
          registers: reg,
        }),
        bytes: new Counter({
          name: 'logrelay_collector_bytes_total',
          help: 'Line bytes received, by result.',
          labelNames: ['result'],
          registers: reg,
        }),
        duplicates: new Counter({
          name: 'logrelay_collector_deduplicated_lines_total',
          help: 'Lines dropped because the sink had committed them already.',
          labelNames: ['sink'],
          registers: reg,
        }),
        sinkSeconds: new Histogram({
          name: 'logrelay_collector_sink_write_seconds',
          help: 'Time for a sink to commit a batch.',
          labelNames: ['sink'],
          buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers: reg,
        }),
        sinkErrors: new Counter({
          name: 'logrelay_collector_sink_errors_total',
          help: 'Failed sink writes, by sink and error code.',
          labelNames: ['sink', 'code'],
          registers: reg,
        }),
        sinkLines: new Counter({
          name: 'logrelay_collector_sink_committed_lines_total',
          help: 'Lines committed by a sink (duplicates skipped are not counted), by sink.',
          labelNames: ['sink'],
          registers: reg,
        }),
        sinkBytes: new Counter({
          name: 'logrelay_collector_sink_committed_bytes_total',
          help: 'Line bytes committed by a sink, by sink.',
          labelNames: ['sink'],
          registers: reg,
        }),
        limitHits,
        throttled: new Counter({
          name: 'logrelay_collector_throttled_batches_total',
          help: 'Batches slowed by a rate limit, by scope (sink, agent), name (the sink; agentRate for the per-agent limit, never an agent id) and action (held, refused).',
          labelNames: ['scope', 'name', 'action'],
          registers: reg,
        }),
        skipped: new Counter({
          name: 'logrelay_collector_skipped_delivered_lines_total',
          help: 'Lines not written because the collector or the sink had them as delivered already (retransmissions, re-shipped files), by sink.',
          labelNames: ['sink'],
          registers: reg,
        }),
      },
      {
        sinks: flows,
        agents: config.limits.agentRate ? new AgentRates(config.limits.agentRate) : undefined,
        streams: new StreamQuota(config.limits.maxStreamsPerAgent),
      },
    );
    this.server = new RelayServer(
      {
        host: config.listen.host,
        port: config.listen.port,
        keepaliveMs: config.listen.keepaliveMs,
        drainTimeoutMs: config.listen.drainTimeoutMs,
        maxMessageBytes: config.limits.maxMessageBytes,
        maxAgents: config.limits.maxAgents,
        handshakeTimeoutMs: config.listen.handshakeTimeoutMs,
        maxConnections: config.listen.maxConnections,
        maxConnectionsPerAddress: config.listen.maxConnectionsPerAddress,
        tls: config.listen.tls,
        tokens: config.auth?.tokens,
        configSource,
      },
      processor,
      childLogger(this.#log, 'server'),
      () => [...sinks.values()].every((s) => s.running),
      {
        limitHits,
        refused: new Counter({
          name: 'logrelay_collector_refused_streams_total',
          help: 'Ship streams refused, by reason (no_client_cert, no_token, bad_token, cert_mismatch, agent_mismatch, no_hello, max_agents, fenced).',
          labelNames: ['reason'],
          registers: reg,
        }),
        droppedConnections: new Counter({
          name: 'logrelay_collector_dropped_connections_total',
          help: 'TCP connections closed by the collector before or instead of serving them, by reason (handshake_timeout, plaintext_on_tls, max_connections, max_connections_per_address).',
          labelNames: ['reason'],
          registers: reg,
        }),
        wireBytes: new Counter({
          name: 'logrelay_collector_wire_bytes_total',
          help: 'Bytes on the wire of agent connections (TLS, HTTP/2 framing and compressed messages included), by direction (received, sent); compare received with logrelay_collector_bytes_total (line bytes) to see what ship.compression saves.',
          labelNames: ['direction'],
          registers: reg,
          collect() {
            server.countWireBytes();
          },
        }),
      },
    );
    new Gauge({
      name: 'logrelay_collector_dedup_marks',
      help: 'Dedup high-water marks held in memory, (sink, stream) pairs; bounded by streamIdleMs and supersededStreamIdleMs.',
      registers: reg,
      collect() {
        this.set(marks.size);
      },
    });
    new Gauge({
      name: 'logrelay_collector_tracked_streams',
      help: 'Streams whose dedup and order state the collector holds.',
      registers: reg,
      collect() {
        this.set(processor.streamsTracked);
      },
    });
    new Gauge({
      name: 'logrelay_collector_stuck_streams',
      help: 'Streams whose writes to a sink have failed for longer than stuckStreamMs, by sink.',
      labelNames: ['sink'],
      registers: reg,
      collect() {
        const stuck = processor.stuckStreams.countBySink();
        for (const sink of sinks.keys()) this.set({ sink }, stuck.get(sink) ?? 0);
      },
    });
    new Gauge({
      name: 'logrelay_collector_sink_concurrency_limit',
      help: 'Current adaptive cap on concurrent writes, by sink.',
      labelNames: ['sink'],
      registers: reg,
      collect() {
        for (const [sink, flow] of flows) this.set({ sink }, flow.concurrencyLimit);
      },
    });
    new Gauge({
      name: 'logrelay_collector_sink_writes_in_flight',
      help: 'Writes under way, by sink.',
      labelNames: ['sink'],
      registers: reg,
      collect() {
        for (const [sink, flow] of flows) this.set({ sink }, flow.writesInFlight);
      },
    });
    new Gauge({
      name: 'logrelay_collector_sink_writes_waiting',
      help: 'Writes waiting for a concurrency slot, by sink.',
      labelNames: ['sink'],
      registers: reg,
      collect() {
        for (const [sink, flow] of flows) this.set({ sink }, flow.writesWaiting);
      },
    });
    new Gauge({
      name: 'logrelay_collector_agents',
      help: 'Distinct agents connected.',
      registers: reg,
      collect() {
        this.set(server.agents);
      },
    });
    new Gauge({
      name: 'logrelay_collector_inflight_bytes',
      help: 'Bytes of batches being written now.',
      registers: reg,
      collect() {
        this.set(processor.inFlightBytes);
      },
    });
    const server = this.server;
    new Gauge({
      name: 'logrelay_collector_connections',
      help: 'Open Ship streams from agents.',
      registers: reg,
      collect() {
        this.set(server.connections);
      },
    });
    new Gauge({
      name: 'logrelay_collector_tcp_connections',
      help: 'TCP connections open on the gRPC port (handshaking or serving).',
      registers: reg,
      collect() {
        this.set(server.tcpConnections);
      },
    });

    const cluster = config.cluster;
    this.cluster = cluster
      ? new ClusterNode(
          {
            id: config.id,
            address: () => cluster.advertise ?? this.server.address,
            sinks: config.sinks.map((s) => ({
              name: s.name,
              type: s.type,
              guarantee: sinkGuarantee(s),
            })),
            zookeeper: cluster.zookeeper,
            rebalanceIntervalMs: cluster.rebalanceIntervalMs,
            tolerance: cluster.tolerance,
            moveCooldownMs: cluster.moveCooldownMs,
            configSource,
          },
          {
            load: () => ({
              agents: server.agents,
              connections: server.connections,
              inFlightBytes: processor.inFlightBytes,
              maxInFlightBytes: config.limits.maxInFlightBytes,
              bytes: processor.committedBytes,
            }),
            fence: (reason) => {
              processor.fence(reason);
              // A quarter of the session timeout: well inside the third of it left between
              // fencing and the earliest expiry, so agents leave before a successor is named.
              server.fence(reason, Math.floor(cluster.zookeeper.sessionTimeoutMs / 4));
            },
            unfence: () => {
              processor.unfence();
              server.unfence();
            },
            skippedLines: () => processor.skippedLines,
          },
          childLogger(this.#log, 'cluster'),
          this.registry,
        )
      : undefined;

    this.ops = new OpsServer(config.http, this.registry, childLogger(this.#log, 'ops'));
    this.ops.addReadinessCheck('sinks', () => {
      const down = [...sinks.values()].filter((s) => !s.running).map((s) => s.name);
      return down.length === 0 ? true : `sinks not running: ${down.join(', ')}`;
    });
    this.ops.addReadinessCheck('server', () =>
      this.server.running ? true : 'gRPC server not listening',
    );
    this.ops.addReadinessCheck('streams', () => processor.stuckStreams.readiness());
    const node = this.cluster;
    if (node)
      this.ops.addReadinessCheck('cluster', () =>
        node.fenced ? `not a confirmed cluster member: ${node.fenceReason}` : true,
      );
  }

  /** The gRPC address agents connect to (valid once started). */
  get address(): string {
    return this.server.address;
  }

  protected async doStart(): Promise<void> {
    for (const sink of this.sinks.values()) await sink.start();
    await this.server.start();
    // Registered only once listening: the member node carries the address agents dial.
    await this.cluster?.start();
    await this.ops.start();
    this.#log.info({ address: this.address, sinks: [...this.sinks.keys()] }, 'collector started');
  }

  protected async doStop(): Promise<void> {
    // Leave the cluster first: the leader reassigns our agents while we drain.
    await this.cluster?.stop();
    await this.server.stop();
    for (const sink of this.sinks.values()) await sink.stop();
    await this.ops.stop();
    this.#log.info('collector stopped');
  }
}
