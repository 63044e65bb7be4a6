import {
  clusterPaths,
  readCluster,
  rendezvousPick,
  RateMeter,
  type AgentInfo,
  type ClusterPaths,
} from '../../common/cluster/index.js';
import { Component } from '../../common/lifecycle/component.js';
import type { Logger } from '../../common/logging/logger.js';
import {
  CreateMode,
  openZkSession,
  type ZkSession,
  type ZookeeperConfig,
} from '../../common/zk/index.js';

/** Streams listed in the agent's znode at most (the node must stay far below 1 MB). */
const MAX_LISTED_STREAMS = 2000;

export interface ClusterCollectorsOptions {
  agentId: string;
  host: string;
  zookeeper: ZookeeperConfig;
  /** How often the agent's znode (load, streams) is refreshed and its target re-checked, ms. */
  reportIntervalMs: number;
  configSource: string;
}

/** What discovery needs from the agent. */
export interface ClusterCollectorsHooks {
  /** Line bytes committed so far (a running total). */
  committedBytes(): number;
  /** The collector connected to now ('' when none). */
  collector(): string;
  streams(): Array<{ path: string; acked: number; size: number; lagSeconds: number }>;
  /** The collectors to use: the assigned (or hashed-to) one first, then fallbacks. */
  setCollectors(addresses: string[]): void;
}

/**
 * Finds collectors through ZooKeeper: registers the agent (an ephemeral node with its load and
 * streams, which the leader balances on and `logrelay status` shows), follows the assignment
 * and the member list, and hands the shipper its collectors: the assigned one first; with no
 * leader or no assignment, the rendezvous hash of the live members. When ZooKeeper cannot be
 * reached the list in force stays (data keeps flowing to the collectors already known).
 */
export class ClusterCollectors extends Component {
  readonly #opts: ClusterCollectorsOptions;
  readonly #hooks: ClusterCollectorsHooks;
  readonly #log: Logger;
  readonly #paths: ClusterPaths;
  #session: ZkSession | undefined;
  #generation = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopping = false;
  #last: string[] = [];
  readonly #rate = new RateMeter();
  #refreshing: Promise<void> | undefined;
  /** Sessions whose members / assignment watch is set and has not fired yet. */
  readonly #membersWatch = new WeakSet<ZkSession>();
  readonly #assignmentWatch = new WeakSet<ZkSession>();

  constructor(opts: ClusterCollectorsOptions, hooks: ClusterCollectorsHooks, log: Logger) {
    super('cluster-collectors');
    this.#opts = opts;
    this.#hooks = hooks;
    this.#log = log;
    this.#paths = clusterPaths(opts.zookeeper.root);
  }

  /** True while a ZooKeeper session is held (it is dropped on failure and on expiry). */
  get connected(): boolean {
    return this.running && this.#session !== undefined;
  }

  /** The collector list handed to the shipper last. */
  get collectors(): readonly string[] {
    return this.#last;
  }

  protected async doStart(): Promise<void> {
    this.#stopping = false;
    await Promise.race([
      this.#refresh(),
      new Promise((r) => setTimeout(r, this.#opts.zookeeper.sessionTimeoutMs).unref()),
    ]);
    this.#timer = setInterval(() => void this.#refresh(), this.#opts.reportIntervalMs);
    this.#timer.unref();
  }

  protected async doStop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#timer);
    await Promise.race([this.#refreshing, new Promise((r) => setTimeout(r, 1000).unref())]);
    this.#generation++;
    this.#session?.close();
    this.#session = undefined;
  }

  #refresh(): Promise<void> {
    if (this.#refreshing) return this.#refreshing;
    this.#refreshing = this.#doRefresh()
      .catch((err: unknown) => {
        this.#log.warn({ err }, 'ZooKeeper not reachable; keeping the collectors in force');
        // A session that failed is replaced on the next round.
        this.#session?.close();
        this.#session = undefined;
      })
      .finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #doRefresh(): Promise<void> {
    if (this.#stopping) return;
    const session = await this.#ensureSession();
    await this.#report(session);
    await this.#follow(session);
  }

  async #ensureSession(): Promise<ZkSession> {
    if (this.#session) return this.#session;
    const generation = ++this.#generation;
    const session = await openZkSession(
      this.#opts.zookeeper,
      'cluster.zookeeper',
      this.#opts.configSource,
    );
    if (this.#stopping || generation !== this.#generation) {
      session.close();
      throw new Error('stopped');
    }
    session.client.once('expired', () => {
      if (this.#session !== session) return;
      this.#log.warn('ZooKeeper session expired; registering again');
      this.#session = undefined;
      session.close();
      void this.#refresh();
    });
    await session.mkdirp(this.#paths.agents);
    this.#session = session;
    return session;
  }

  /** Creates or refreshes `<root>/agents/<id>` with the agent's load and streams. */
  async #report(session: ZkSession): Promise<void> {
    const now = performance.now();
    const bytes = this.#hooks.committedBytes();
    const bytesPerSec = this.#rate.sample(bytes, now);
    const streams = this.#hooks.streams();
    const info: AgentInfo = {
      id: this.#opts.agentId,
      host: this.#opts.host,
      bytesPerSec: Math.round(bytesPerSec),
      collector: this.#hooks.collector(),
      updatedAt: new Date().toISOString(),
      streams: streams.slice(0, MAX_LISTED_STREAMS),
      streamCount: streams.length,
    };
    const path = `${this.#paths.agents}/${this.#opts.agentId}`;
    const data = Buffer.from(JSON.stringify(info));
    const stat = await session.exists(path);
    if (!stat) {
      await session.create(path, data, CreateMode.EPHEMERAL).catch((err: unknown) => {
        // The node of our previous session lingers until that session expires.
        if ((err as { code?: string }).code !== 'ZK_NODE_EXISTS') throw err;
      });
      return;
    }
    if (stat.ephemeralOwner.equals(session.client.getSessionId()))
      await session.setData(path, data, stat.version);
  }

  /** Reads members and assignment (watching both) and hands the shipper its collectors. */
  async #follow(session: ZkSession): Promise<void> {
    // One-shot watches, armed once per session and again after they fire (the client keeps
    // every watcher until then: re-arming on each refresh would pile them up).
    const arm = async (armed: WeakSet<ZkSession>, set: (watch: () => void) => Promise<unknown>) => {
      if (armed.has(session)) return;
      armed.add(session);
      await set(() => {
        armed.delete(session);
        if (this.#session === session && !this.#stopping) void this.#refresh();
      });
    };
    await arm(this.#membersWatch, (w) => session.getChildren(this.#paths.members, w));
    await arm(this.#assignmentWatch, (w) => session.exists(this.#paths.assignment, w));
    const view = await readCluster(session, this.#paths);
    const live = new Map(view.members.map((m) => [m.id, m.address]));
    if (live.size === 0) return; // no member known: keep what is in force
    const ids = [...live.keys()];
    const assigned = view.assignment?.agents[this.#opts.agentId];
    const first =
      assigned !== undefined && live.has(assigned)
        ? assigned
        : rendezvousPick(this.#opts.agentId, ids);
    // Fallbacks in the same rendezvous order for every agent: a dead collector's agents spread.
    const rest: string[] = [];
    let remaining = ids.filter((id) => id !== first);
    while (remaining.length > 0) {
      const next = rendezvousPick(this.#opts.agentId, remaining)!;
      rest.push(next);
      remaining = remaining.filter((id) => id !== next);
    }
    const addresses = [first!, ...rest].map((id) => live.get(id)!);
    if (addresses.join(',') === this.#last.join(',')) return;
    this.#last = addresses;
    this.#log.info(
      { collector: addresses[0], assigned: assigned !== undefined && live.has(assigned) },
      'collectors from the cluster',
    );
    this.#hooks.setCollectors(addresses);
  }
}
