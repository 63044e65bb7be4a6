import { Gauge, type Registry } from 'prom-client';
import { clusterPaths, readCluster } from '../../common/cluster/index.js';
import { PeriodicTask } from '../../common/lifecycle/periodic-task.js';
import type { Logger } from '../../common/logging/logger.js';
import { ZkSession } from '../../common/zk/zk-session.js';
import { statusReport, type StatusReport } from '../status/status-report.js';

/** Configuration of {@link ClusterMonitor}. */
export interface ClusterMonitorConfig {
  /** ZooKeeper connect string, `host:port[,host:port]`. */
  zookeeper: string;
  /** The cluster's root znode. Default `/logrelay`. */
  root?: string;
  /** How often ZooKeeper is read, in ms. Default 2000. */
  intervalMs?: number;
  /** How much history the charts get, in ms. Default 600000 (10 minutes). */
  historyMs?: number;
}

/** One sample of the cluster for the dashboard's charts. */
export interface HistoryPoint {
  /** When it was read, ms since the epoch. */
  t: number;
  /** Line bytes per second committed, over all members (what they report). */
  bytesPerSec: number;
  /** Bytes per second by member id. */
  members: Record<string, number>;
  /** Bytes not yet acknowledged, over all agents' listed streams. */
  lagBytes: number;
  /** The oldest unacknowledged byte over all agents, in seconds. */
  lagSeconds: number;
  /** Per agent: bytes per second, lag bytes and seconds. */
  agents: Record<string, { bytesPerSec: number; lagBytes: number; lagSeconds: number }>;
}

/** What the dashboard shows of the cluster now. */
export interface ClusterSnapshot {
  /** True while the last read of ZooKeeper succeeded. */
  connected: boolean;
  /** When the report was read (ISO), or null before the first read. */
  readAt: string | null;
  /** Why the last read failed, when it did. */
  error: string | null;
  report: StatusReport | null;
}

/**
 * Reads the collector cluster from ZooKeeper on a timer for the dashboard: the same view as
 * `logrelay status` (one code path, {@link statusReport}), plus a bounded history for the charts.
 * The session is opened lazily and replaced after any failure, so the admin outlives a ZooKeeper
 * outage and shows it instead of the last good picture as if it were current.
 */
export class ClusterMonitor extends PeriodicTask {
  readonly #zookeeper: string;
  readonly #root: string;
  readonly #historyMs: number;
  /** Two poll intervals (at least 1 s): a connect must not outlast the next poll by much. */
  readonly #connectTimeoutMs: number;
  readonly #log: Logger;
  #session: ZkSession | undefined;
  #snapshot: ClusterSnapshot = { connected: false, readAt: null, error: null, report: null };
  #history: HistoryPoint[] = [];

  constructor(config: ClusterMonitorConfig, log: Logger, registry?: Registry) {
    const intervalMs = config.intervalMs ?? 2000;
    super('cluster-monitor', intervalMs, true);
    this.#connectTimeoutMs = Math.max(1000, intervalMs * 2);
    this.#zookeeper = config.zookeeper;
    this.#root = config.root ?? '/logrelay';
    this.#historyMs = config.historyMs ?? 600_000;
    this.#log = log;
    if (registry) {
      const connected = () => this.#snapshot.connected;
      new Gauge({
        name: 'logrelay_admin_zookeeper_connected',
        help: '1 while the last read of the cluster from ZooKeeper succeeded.',
        registers: [registry],
        collect() {
          this.set(connected() ? 1 : 0);
        },
      });
    }
  }

  get snapshot(): ClusterSnapshot {
    return this.#snapshot;
  }

  /** Samples, oldest first, covering at most `historyMs`. */
  get history(): readonly HistoryPoint[] {
    return this.#history;
  }

  protected override async doStop(): Promise<void> {
    await super.doStop();
    this.#session?.close();
    this.#session = undefined;
  }

  protected async runOnce(): Promise<void> {
    try {
      if (!this.#session) {
        const session = new ZkSession(this.#zookeeper, {
          sessionTimeoutMs: 10_000,
          connectTimeoutMs: this.#connectTimeoutMs,
        });
        this.#session = session;
        await session.connect();
      }
      const view = await readCluster(this.#session, clusterPaths(this.#root));
      const report = statusReport(view, this.#zookeeper, this.#root);
      const now = Date.now();
      this.#snapshot = {
        connected: true,
        readAt: new Date(now).toISOString(),
        error: null,
        report,
      };
      this.#record(report, now);
    } catch (err) {
      if (this.#snapshot.connected || this.#snapshot.readAt === null)
        this.#log.warn({ err, zookeeper: this.#zookeeper }, 'cannot read the cluster');
      this.#session?.close();
      this.#session = undefined;
      this.#snapshot = {
        ...this.#snapshot,
        connected: false,
        error: err instanceof Error ? err.message : String(err),
      };
    }
  }

  #record(report: StatusReport, now: number): void {
    const agents: HistoryPoint['agents'] = {};
    for (const a of report.agents)
      agents[a.id] = { bytesPerSec: a.bytesPerSec, lagBytes: a.lagBytes, lagSeconds: a.lagSeconds };
    // A stale registration repeats the last load of a process that is gone: not counted.
    const live = report.members.filter((m) => !m.stale);
    this.#history.push({
      t: now,
      bytesPerSec: live.reduce((n, m) => n + m.bytesPerSec, 0),
      members: Object.fromEntries(live.map((m) => [m.id, m.bytesPerSec])),
      lagBytes: report.agents.reduce((n, a) => n + a.lagBytes, 0),
      lagSeconds: report.agents.reduce((n, a) => Math.max(n, a.lagSeconds), 0),
      agents,
    });
    const cutoff = now - this.#historyMs;
    let drop = 0;
    while (drop < this.#history.length && (this.#history[drop]?.t ?? 0) < cutoff) drop++;
    if (drop > 0) this.#history.splice(0, drop);
  }
}
