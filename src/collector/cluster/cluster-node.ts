import { Counter, Gauge, type Registry } from 'prom-client';
import {
  clusterPaths,
  RateMeter,
  readCluster,
  sequenceOf,
  type Assignment,
  type ClusterPaths,
  type MemberInfo,
  type MemberSink,
  type MemberLoad,
} from '../../common/cluster/index.js';
import { Component } from '../../common/lifecycle/component.js';
import type { Logger } from '../../common/logging/logger.js';
import {
  CreateMode,
  openZkSession,
  type ZkSession,
  type ZookeeperConfig,
} from '../../common/zk/index.js';
import { assign } from './assignment.js';

export interface ClusterNodeOptions {
  /** This collector's id. */
  id: string;
  /** Where agents dial this collector; asked once the gRPC server is listening. */
  address: () => string;
  /** Its sinks and their guarantees, shown by `logrelay status` and the dashboard. */
  sinks: readonly MemberSink[];
  zookeeper: ZookeeperConfig;
  /** How often the leader recomputes the assignment from measured load, ms. */
  rebalanceIntervalMs: number;
  /** Load imbalance tolerated before agents move (0.2 = ±20 % of the mean). */
  tolerance: number;
  /** An agent moved for balance is not moved again for balance within this long, ms. */
  moveCooldownMs: number;
  /** Where the config came from, for errors about the files it names. */
  configSource: string;
}

/** What the cluster node needs from its collector. */
export interface ClusterNodeHooks {
  /** The collector's load now; `bytes` is a running total of committed line bytes. */
  load(): Omit<MemberLoad, 'bytesPerSec'> & { bytes: number };
  /** Stop committing and drop the agents: this collector can no longer prove it is a member. */
  fence(reason: string): void;
  /** Membership is confirmed again: accept agents. */
  unfence(): void;
  /** Lines each sink skipped as already delivered, since start (shown by `logrelay status`). */
  skippedLines?(): ReadonlyMap<string, number>;
}

export type AssignmentWrite = 'ok' | 'fenced' | 'conflict';

/**
 * A collector's part in the ZooKeeper cluster: membership (an ephemeral sequential member node
 * carrying its address and load), leader election (lowest election node leads; each candidate
 * watches only its predecessor), the leader's balanced assignment of agents (written only while
 * its own election node exists — a deposed leader's late write fails), and self-fencing.
 *
 * Self-fencing does not trust the client library to report expiry (node-zookeeper-client may
 * never say SESSION_EXPIRED during a partition): the member node is rewritten with the load
 * every sixth of the session timeout, and when no write has been confirmed for two thirds of
 * it, the collector fences itself — before the server can expire the session and a successor
 * can take its agents. A lost session is replaced by a new one; the collector rejoins.
 */
export class ClusterNode extends Component {
  readonly #opts: ClusterNodeOptions;
  readonly #hooks: ClusterNodeHooks;
  readonly #log: Logger;
  readonly #paths: ClusterPaths;
  readonly #writes: Counter<'result'>;
  readonly #sessions: Counter;
  #session: ZkSession | undefined;
  /** Bumped for each session: callbacks of an older one are ignored. */
  #generation = 0;
  #memberNode = '';
  #electionNode = '';
  #leader = false;
  #fenced = true;
  #fenceReason = 'not registered yet';
  #lastConfirmed = 0;
  #stopping = false;
  #timers: NodeJS.Timeout[] = [];
  #rebalanceTimer: NodeJS.Timeout | undefined;
  #rebalancing: Promise<void> | undefined;
  #rebalanceAgain = false;
  readonly #rate = new RateMeter();
  #startedAt = new Date().toISOString();
  #establishing: Promise<void> | undefined;
  /** When the leader last moved each agent (for `moveCooldownMs`). */
  readonly #movedAt = new Map<string, number>();
  /** Watches set and not fired yet, by `<generation>:<path>`. */
  readonly #armed = new Set<string>();

  constructor(opts: ClusterNodeOptions, hooks: ClusterNodeHooks, log: Logger, registry: Registry) {
    super('cluster');
    this.#opts = opts;
    this.#hooks = hooks;
    this.#log = log;
    this.#paths = clusterPaths(opts.zookeeper.root);
    const reg = [registry];
    const gauge = (name: string, help: string, value: () => number) => {
      const g: Gauge = new Gauge({ name, help, registers: reg, collect: () => g.set(value()) });
    };
    gauge('logrelay_cluster_leader', '1 while this collector is the cluster leader.', () =>
      this.leader ? 1 : 0,
    );
    gauge(
      'logrelay_cluster_fenced',
      '1 while this collector has fenced itself (not a confirmed member: commits nothing).',
      () => (this.fenced ? 1 : 0),
    );
    gauge(
      'logrelay_cluster_zookeeper_connected',
      '1 while the ZooKeeper session is confirmed (last heartbeat within its lease).',
      () => (this.#session && !this.fenced ? 1 : 0),
    );
    gauge(
      'logrelay_cluster_epoch',
      'Election epoch of this collector (its election node sequence); 0 before it has one.',
      () => this.epoch ?? 0,
    );
    this.#writes = new Counter({
      name: 'logrelay_cluster_assignment_writes_total',
      help: 'Assignment writes by this collector as leader, by result (ok, fenced, conflict).',
      labelNames: ['result'],
      registers: reg,
    });
    this.#sessions = new Counter({
      name: 'logrelay_cluster_registrations_total',
      help: 'ZooKeeper sessions this collector registered with (more than 1: it rejoined).',
      registers: reg,
    });
  }

  get leader(): boolean {
    return this.#leader;
  }

  get fenced(): boolean {
    return this.#fenced;
  }

  get fenceReason(): string {
    return this.#fenced ? this.#fenceReason : '';
  }

  /** The election epoch (sequence of this node's election znode), once registered. */
  get epoch(): number | undefined {
    return this.#electionNode ? sequenceOf(this.#electionNode) : undefined;
  }

  /** The member znode path, once registered. */
  get memberNode(): string {
    return this.#memberNode;
  }

  /** The live session (tests expire it to prove the fencing). */
  get session(): ZkSession | undefined {
    return this.#session;
  }

  get paths(): ClusterPaths {
    return this.#paths;
  }

  protected async doStart(): Promise<void> {
    this.#stopping = false;
    // Fenced until registered: the collector commits nothing before it is a member.
    this.#fenced = false;
    this.#fence('not registered yet');
    // The first registration is awaited (briefly) so a healthy start is a registered one; an
    // unreachable ZooKeeper does not stop the collector: it stays fenced and keeps trying.
    this.#establishing = this.#establish();
    await Promise.race([
      this.#establishing,
      new Promise((r) => setTimeout(r, this.#opts.zookeeper.sessionTimeoutMs).unref()),
    ]);
    const lease = setInterval(() => this.#checkLease(), 100);
    lease.unref();
    this.#timers.push(lease);
  }

  protected async doStop(): Promise<void> {
    this.#stopping = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    clearTimeout(this.#rebalanceTimer);
    // Both end soon (ZooKeeper operations time out), but a stop does not wait on ZooKeeper.
    await Promise.race([
      Promise.allSettled([this.#establishing, this.#rebalancing]),
      new Promise((r) => setTimeout(r, 1000).unref()),
    ]);
    this.#leader = false;
    this.#generation++;
    // Closing the session removes our member and election nodes at once: the others react now
    // rather than after the session timeout.
    this.#session?.close();
    this.#session = undefined;
    this.#memberNode = '';
    this.#electionNode = '';
  }

  /**
   * Writes an assignment as leader, fenced by this node's election znode (and the version last
   * read, -1 for any; undefined to create it). Public so tests can show a deposed leader's
   * write failing.
   */
  async writeAssignment(
    assignment: Assignment,
    version: number | undefined,
  ): Promise<AssignmentWrite> {
    const session = this.#session;
    const guard = this.#electionNode ? `${this.#paths.election}/${this.#electionNode}` : '';
    if (!session || !guard) {
      this.#writes.inc({ result: 'fenced' });
      return 'fenced';
    }
    try {
      await session.guardedWrite(
        guard,
        this.#paths.assignment,
        Buffer.from(JSON.stringify(assignment)),
        version === undefined ? { create: true } : { version },
      );
      this.#writes.inc({ result: 'ok' });
      return 'ok';
    } catch (err) {
      const guardAlive = await session.exists(guard).catch(() => undefined);
      const result: AssignmentWrite = guardAlive ? 'conflict' : 'fenced';
      this.#writes.inc({ result });
      this.#log.warn({ err, result }, 'assignment write refused by ZooKeeper');
      if (result === 'fenced') this.#stepDown('our election node is gone');
      return result;
    }
  }

  async #establish(): Promise<void> {
    let delay = 200;
    while (!this.#stopping) {
      const generation = ++this.#generation;
      try {
        await this.#register(generation);
        return;
      } catch (err) {
        if (this.#stopping) return;
        this.#log.warn({ err, retryInMs: delay }, 'cannot register in ZooKeeper; retrying');
        this.#session?.close();
        this.#session = undefined;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  async #register(generation: number): Promise<void> {
    const session = await openZkSession(
      this.#opts.zookeeper,
      'cluster.zookeeper',
      this.#opts.configSource,
    );
    if (generation !== this.#generation || this.#stopping) {
      session.close();
      return;
    }
    this.#session = session;
    session.client.on('expired', () => void this.#lost(generation, 'ZooKeeper session expired'));
    for (const path of [this.#paths.members, this.#paths.election, this.#paths.agents])
      await session.mkdirp(path);
    const sentAt = performance.now();
    const member = await session.create(
      `${this.#paths.members}/m-`,
      this.#memberData(),
      CreateMode.EPHEMERAL_SEQUENTIAL,
    );
    const election = await session.create(
      `${this.#paths.election}/e-`,
      Buffer.from(JSON.stringify({ id: this.#opts.id })),
      CreateMode.EPHEMERAL_SEQUENTIAL,
    );
    this.#memberNode = member.split('/').pop() ?? '';
    this.#electionNode = election.split('/').pop() ?? '';
    this.#lastConfirmed = sentAt;
    this.#sessions.inc();
    this.#log.info(
      { member: this.#memberNode, election: this.#electionNode, session: session.sessionId },
      'registered in the cluster',
    );
    this.#unfence();
    const heartbeat = setInterval(
      () => void this.#heartbeat(generation),
      Math.max(100, Math.floor(this.#opts.zookeeper.sessionTimeoutMs / 6)),
    );
    heartbeat.unref();
    this.#timers.push(heartbeat);
    await this.#checkElection(generation);
  }

  #memberData(): Buffer {
    const { bytes, ...rest } = this.#hooks.load();
    const now = performance.now();
    const bytesPerSec = this.#rate.sample(bytes, now);
    const info: MemberInfo = {
      id: this.#opts.id,
      address: this.#opts.address(),
      startedAt: this.#startedAt,
      updatedAt: new Date().toISOString(),
      load: { ...rest, bytesPerSec: Math.round(bytesPerSec) },
      sinks: this.#opts.sinks.map((sink) => ({
        ...sink,
        skippedLines: this.#hooks.skippedLines?.().get(sink.name) ?? 0,
      })),
    };
    return Buffer.from(JSON.stringify(info));
  }

  async #heartbeat(generation: number): Promise<void> {
    const session = this.#session;
    if (!session || generation !== this.#generation || !this.#memberNode) return;
    const sentAt = performance.now();
    try {
      await session.setData(`${this.#paths.members}/${this.#memberNode}`, this.#memberData());
      if (generation !== this.#generation) return;
      this.#lastConfirmed = sentAt;
      if (this.#fenced) {
        this.#log.info('ZooKeeper session confirmed again');
        this.#unfence();
        await this.#checkElection(generation);
      }
    } catch (err) {
      if (generation !== this.#generation) return;
      if ((err as { code?: string }).code === 'ZK_NO_NODE')
        await this.#lost(generation, 'our member node is gone (session expired)');
      // Other errors (connection loss): the lease timer decides.
    }
  }

  #checkLease(): void {
    if (this.#stopping) return;
    const age = performance.now() - this.#lastConfirmed;
    const timeout = this.#opts.zookeeper.sessionTimeoutMs;
    if (!this.#fenced) {
      if (age > (timeout * 2) / 3) {
        this.#fence(`ZooKeeper session not confirmed for ${Math.round(age)} ms`);
        this.#stepDown('session not confirmed');
        // The session may still come back (the heartbeat then unfences); if the server expired
        // it, the heartbeat sees our node gone, or the client reports it, and we register anew.
      }
      return;
    }
    // Neither came back nor reported expired after twice the session timeout: by now the server
    // has expired it, or the client is stuck (node-zookeeper-client can hang on to a dead
    // connection without ever reporting expiry, #13/#20; seen after a ZooKeeper restart, one
    // collector of three never rejoined). A new session is the way back.
    if (this.#session && this.#memberNode !== '' && age > timeout * 2) {
      void this.#lost(
        this.#generation,
        `ZooKeeper session not confirmed for ${Math.round(age)} ms: replacing it`,
      );
    }
  }

  async #lost(generation: number, reason: string): Promise<void> {
    if (generation !== this.#generation || this.#stopping) return;
    this.#generation++;
    this.#fence(reason);
    this.#stepDown(reason);
    for (const t of this.#timers.splice(0)) clearInterval(t);
    const lease = setInterval(() => this.#checkLease(), 100);
    lease.unref();
    this.#timers.push(lease);
    this.#session?.close();
    this.#session = undefined;
    this.#memberNode = '';
    this.#electionNode = '';
    this.#log.warn({ reason }, 'left the cluster; registering with a new session');
    this.#establishing = this.#establish();
  }

  async #checkElection(generation: number): Promise<void> {
    const session = this.#session;
    if (!session || generation !== this.#generation || this.#fenced) return;
    try {
      const names = (await session.getChildren(this.#paths.election)).sort(
        (a, b) => sequenceOf(a) - sequenceOf(b),
      );
      const mine = names.indexOf(this.#electionNode);
      if (mine < 0) {
        await this.#lost(generation, 'our election node is gone (session expired)');
        return;
      }
      if (mine === 0) {
        this.#becomeLeader(generation);
        return;
      }
      // Watch only the predecessor: no herd when the leader goes.
      const predecessor = `${this.#paths.election}/${names[mine - 1]}`;
      const stat = await session.exists(predecessor, () => void this.#checkElection(generation));
      if (!stat) await this.#checkElection(generation);
    } catch (err) {
      this.#log.warn({ err }, 'election check failed; retrying');
      const retry = setTimeout(() => void this.#checkElection(generation), 500);
      retry.unref();
    }
  }

  #becomeLeader(generation: number): void {
    if (this.#leader) return;
    this.#leader = true;
    this.#log.info({ epoch: this.epoch }, 'became the cluster leader');
    const tick = () => {
      if (!this.#leader || generation !== this.#generation) return;
      this.#requestRebalance(generation);
      this.#rebalanceTimer = setTimeout(tick, this.#opts.rebalanceIntervalMs);
      this.#rebalanceTimer.unref();
    };
    tick();
  }

  #stepDown(reason: string): void {
    if (!this.#leader) return;
    this.#leader = false;
    clearTimeout(this.#rebalanceTimer);
    this.#log.warn({ reason }, 'no longer the cluster leader');
  }

  #requestRebalance(generation: number): void {
    if (this.#rebalancing) {
      this.#rebalanceAgain = true;
      return;
    }
    this.#rebalancing = this.#rebalance(generation)
      .catch((err: unknown) => this.#log.warn({ err }, 'rebalance failed'))
      .finally(() => {
        this.#rebalancing = undefined;
        if (this.#rebalanceAgain) {
          this.#rebalanceAgain = false;
          this.#requestRebalance(generation);
        }
      });
  }

  async #rebalance(generation: number): Promise<void> {
    const session = this.#session;
    if (!session || !this.#leader || this.#fenced || generation !== this.#generation) return;
    // Membership and agent changes trigger a rebalance at once. ZooKeeper watches are one-shot
    // and the client keeps every watcher until it fires: arm each once, re-arm after it fired.
    for (const path of [this.#paths.members, this.#paths.agents]) {
      const key = `${generation}:${path}`;
      if (this.#armed.has(key)) continue;
      this.#armed.add(key);
      await session.getChildren(path, () => {
        this.#armed.delete(key);
        if (this.#leader && generation === this.#generation) this.#requestRebalance(generation);
      });
    }
    const view = await readCluster(session, this.#paths);
    const epoch = this.epoch ?? 0;
    if (view.assignment && view.assignment.epoch > epoch) {
      this.#stepDown(`a newer leader (epoch ${view.assignment.epoch}) wrote the assignment`);
      return;
    }
    const members = Object.fromEntries(view.members.map((m) => [m.id, m.address]));
    const now = Date.now();
    for (const [agent, at] of this.#movedAt)
      if (now - at > this.#opts.moveCooldownMs) this.#movedAt.delete(agent);
    const previous = view.assignment?.agents ?? {};
    const agents = assign({
      members: Object.keys(members),
      agents: view.agents.map((a) => ({ id: a.id, bytesPerSec: a.bytesPerSec })),
      previous,
      tolerance: this.#opts.tolerance,
      pinned: new Set(this.#movedAt.keys()),
    });
    // Only moves for balance start a cooldown; an agent whose collector died just moves.
    for (const [agent, member] of Object.entries(agents)) {
      const was = previous[agent];
      if (was !== undefined && was !== member && members[was] !== undefined)
        this.#movedAt.set(agent, now);
    }
    const current = view.assignment;
    if (
      current &&
      current.epoch === epoch &&
      sameRecord(current.agents, agents) &&
      sameRecord(current.members, members)
    )
      return;
    const next: Assignment = {
      epoch,
      leader: this.#opts.id,
      updatedAt: new Date().toISOString(),
      agents,
      members,
    };
    const result = await this.writeAssignment(next, current?.version);
    if (result === 'ok')
      this.#log.info(
        { epoch, agents: Object.keys(agents).length, members: Object.keys(members).length },
        'assignment written',
      );
    else if (result === 'conflict') this.#rebalanceAgain = true;
  }

  #fence(reason: string): void {
    this.#fenceReason = reason;
    if (this.#fenced) return;
    this.#fenced = true;
    // Every collector starts fenced until it is registered: that is no news for an operator.
    if (reason === 'not registered yet')
      this.#log.info({ reason }, 'fenced until registered in the cluster');
    else this.#log.warn({ reason }, 'fenced: committing nothing and dropping agents');
    this.#hooks.fence(reason);
  }

  #unfence(): void {
    if (!this.#fenced) return;
    this.#fenced = false;
    this.#hooks.unfence();
  }
}

function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
