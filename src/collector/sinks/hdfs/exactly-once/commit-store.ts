import { setTimeout as sleep } from 'node:timers/promises';
import { RelayError } from '../../../../common/errors/relay-error.js';
import type { Logger } from '../../../../common/logging/logger.js';
import {
  CreateMode,
  ZkError,
  openZkSession,
  type ZkOp,
  type ZkSession,
  type ZookeeperConfig,
} from '../../../../common/zk/index.js';
import type { HdfsFilePaths } from '../file-layout.js';
import {
  advanceMarks,
  decodeAgentNode,
  decodeFileNode,
  encodeAgentNode,
  encodeFileNode,
} from './stream-marks.js';

// The exactly-once ledger of an HDFS sink in ZooKeeper: which agent each writer holds, the
// streams' marks, and the committed length of every file being written. One multi per APPEND
// records a file's new length together with the marks of the streams whose lines it carried.

/**
 * Where an HDFS sink keeps its ledger, under the ZooKeeper root:
 *
 *   <root>/sinks/hdfs/<sink>/agents/<agentId>       persistent: AgentNode (owner + marks); its
 *                                                   version fences a writer that lost the agent
 *   <root>/sinks/hdfs/<sink>/writers/<incarnation>  ephemeral: a live writer (one ZK session)
 *   <root>/sinks/hdfs/<sink>/files/<incarnation>/f-<seq>   persistent: FileNode per open file
 *   <root>/sinks/hdfs/<sink>/recovering/<incarnation>     ephemeral: who recovers a dead writer
 */
export function ledgerPaths(root: string, sinkName: string) {
  const trimmed = root.replace(/\/+$/, '');
  const base = `${trimmed}/sinks/hdfs/${encodeURIComponent(sinkName)}`;
  return {
    base,
    agents: `${base}/agents`,
    writers: `${base}/writers`,
    files: `${base}/files`,
    recovering: `${base}/recovering`,
  };
}

export type LedgerPaths = ReturnType<typeof ledgerPaths>;

/** An agent this writer holds: the version of its node that the next commit must find. */
export interface AgentClaim {
  readonly agentId: string;
  readonly incarnation: string;
  version: number;
  marks: Map<string, number>;
  /** Another writer claimed the agent (or the version is unknown): commits with it fail. */
  lost: boolean;
}

/** A file this writer writes, with the znode that holds its committed length. */
export interface FileRecord {
  readonly incarnation: string;
  readonly node: string;
  readonly paths: HdfsFilePaths;
  version: number;
  length: number;
}

/** One stream's advance carried by a commit. */
export interface MarkUpdate {
  readonly claim: AgentClaim;
  readonly streamKey: string;
  readonly endOffset: number;
}

/**
 * - `committed`: the new length and marks are recorded.
 * - `refused`: ZooKeeper answered no (an agent was claimed by another writer): nothing recorded.
 * - `unknown`: no answer; `confirm` tells what happened.
 * - `orphaned`: the file belongs to a writer (session) that is gone; its recovery is another's.
 */
export type CommitOutcome = 'committed' | 'refused' | 'unknown' | 'orphaned';

export interface CommitStoreOptions {
  readonly zookeeper: ZookeeperConfig;
  /** Key path of the zookeeper section, for errors about its password file. */
  readonly keyPath: string;
  readonly configSource: string;
  readonly sinkName: string;
  readonly collectorId: string;
  readonly maxStreamsPerAgent: number;
}

/** ZooKeeper answers that leave the outcome of a request unknown. */
const UNKNOWN_OUTCOME = new Set([
  'ZK_CONNECTION_LOSS',
  'ZK_OPERATION_TIMEOUT',
  'ZK_SESSION_EXPIRED',
]);

function isDefinitive(err: unknown): boolean {
  return err instanceof ZkError && err.zkCode !== undefined && !UNKNOWN_OUTCOME.has(err.code);
}

function zkCode(err: unknown): string | undefined {
  return err instanceof RelayError ? err.code : undefined;
}

/**
 * The ledger, for one HDFS sink of one collector. A *writer* is one ZooKeeper session of it
 * (an incarnation): when the session is lost, so are its files and claims, and a new writer
 * starts with a new session; the old one's files are recovered like a dead collector's.
 *
 * Every operation that reads or writes claims and lengths runs one at a time (`#serial`), so
 * this writer's own commits never race each other for a node's version.
 */
export class HdfsCommitStore {
  readonly paths: LedgerPaths;
  readonly #opts: CommitStoreOptions;
  readonly #log: Logger;
  readonly #onLost: (incarnation: string) => void;
  #session: ZkSession | undefined;
  #incarnation: string | undefined;
  #opening: Promise<void> | undefined;
  readonly #claims = new Map<string, Promise<AgentClaim>>();
  #chain: Promise<unknown> = Promise.resolve();
  #failingSince: number | undefined;
  #closed = false;

  constructor(opts: CommitStoreOptions, log: Logger, onLost: (incarnation: string) => void) {
    this.#opts = opts;
    this.#log = log;
    this.#onLost = onLost;
    this.paths = ledgerPaths(opts.zookeeper.root, opts.sinkName);
  }

  /** Allows sessions again after `close` (a sink started anew). */
  start(): void {
    this.#closed = false;
  }

  /** The current writer's id, undefined while there is no session. */
  get incarnation(): string | undefined {
    return this.#incarnation;
  }

  /** The session of the current writer, opened (and registered) if there is none. */
  async session(): Promise<ZkSession> {
    if (this.#closed) throw new RelayError('SINK_NOT_RUNNING', 'the HDFS ledger is closed');
    const failing = this.#failingSince;
    if (
      this.#session &&
      failing !== undefined &&
      Date.now() - failing > 2 * this.#opts.zookeeper.sessionTimeoutMs
    ) {
      // The client library may never say that the session expired while it was cut off.
      this.#lose(this.#session, 'ZooKeeper unanswered for twice the session timeout');
    }
    if (this.#session) return this.#session;
    this.#opening ??= this.#open().finally(() => (this.#opening = undefined));
    await this.#opening;
    if (!this.#session) throw unavailable('no ZooKeeper session');
    return this.#session;
  }

  async #open(): Promise<void> {
    const session = await openZkSession(
      this.#opts.zookeeper,
      this.#opts.keyPath,
      this.#opts.configSource,
    );
    try {
      for (const p of [this.paths.agents, this.paths.writers, this.paths.files])
        await session.mkdirp(p);
      await session.mkdirp(this.paths.recovering);
      const incarnation = `${encodeURIComponent(this.#opts.collectorId)}~${session.sessionId}`;
      // The writer node first: a dead writer is one with files and no writer node.
      await session.create(
        `${this.paths.writers}/${incarnation}`,
        Buffer.from(JSON.stringify({ collector: this.#opts.collectorId, at: Date.now() })),
        CreateMode.EPHEMERAL,
      );
      await session.create(`${this.paths.files}/${incarnation}`);
      if (this.#closed) {
        session.close();
        return;
      }
      session.client.on('expired', () => this.#lose(session, 'ZooKeeper session expired'));
      this.#session = session;
      this.#incarnation = incarnation;
      this.#failingSince = undefined;
      this.#log.info({ incarnation }, 'HDFS exactly-once writer registered in ZooKeeper');
    } catch (err) {
      session.close();
      throw err;
    }
  }

  #lose(session: ZkSession, reason: string): void {
    if (this.#session !== session) return;
    const incarnation = this.#incarnation ?? '';
    this.#session = undefined;
    this.#incarnation = undefined;
    this.#failingSince = undefined;
    this.#claims.clear();
    session.close();
    this.#log.warn(
      { incarnation, reason },
      'HDFS writer lost its ZooKeeper session: its open files go to recovery, a new writer starts',
    );
    this.#onLost(incarnation);
  }

  #noteResult(session: ZkSession, err?: unknown): void {
    if (err === undefined) {
      this.#failingSince = undefined;
      return;
    }
    if (zkCode(err) === 'ZK_SESSION_EXPIRED') this.#lose(session, 'ZooKeeper session expired');
    else if (!isDefinitive(err)) this.#failingSince ??= Date.now();
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn, fn);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Claims the agent for this writer (once per writer): its node's version is bumped, which
   * makes every later commit of a previous holder fail, and its marks are read after that, so
   * they hold everything any previous holder will ever have committed.
   */
  claim(agentId: string): Promise<AgentClaim> {
    let pending = this.#claims.get(agentId);
    if (pending) return pending;
    pending = this.#serial(() => this.#claim(agentId));
    this.#claims.set(agentId, pending);
    pending.then(
      (claim) => {
        if (claim.lost) this.#forget(claim);
      },
      () => {
        if (this.#claims.get(agentId) === pending) this.#claims.delete(agentId);
      },
    );
    return pending;
  }

  /** Drops a claim that can no longer commit, so the agent's next batch claims it anew. */
  #forget(claim: AgentClaim): void {
    claim.lost = true;
    const current = this.#claims.get(claim.agentId);
    if (current) {
      void current.then(
        (c) => {
          if (c === claim && this.#claims.get(claim.agentId) === current)
            this.#claims.delete(claim.agentId);
        },
        () => undefined,
      );
    }
  }

  async #claim(agentId: string): Promise<AgentClaim> {
    const session = await this.session();
    const incarnation = this.#incarnation as string;
    const path = this.#agentPath(agentId);
    try {
      for (;;) {
        let node;
        let version: number;
        try {
          const { data, stat } = await session.getData(path);
          node = decodeAgentNode(data);
          version = stat.version;
        } catch (err) {
          if (zkCode(err) !== 'ZK_NO_NODE') throw err;
          try {
            await session.create(path, encodeAgentNode({ owner: incarnation, marks: new Map() }));
            this.#noteResult(session);
            return { agentId, incarnation, version: 0, marks: new Map(), lost: false };
          } catch (createErr) {
            if (zkCode(createErr) === 'ZK_NODE_EXISTS') continue;
            throw createErr;
          }
        }
        if (!node) {
          // Never guess marks: an unreadable node would turn every resend into a duplicate.
          throw new RelayError(
            'HDFS_LEDGER_CORRUPT',
            `HDFS ledger node ${path} cannot be read; refusing to write agent ${agentId}`,
            { retriable: true },
          );
        }
        try {
          const stat = await session.setData(
            path,
            encodeAgentNode({ owner: incarnation, marks: node.marks }),
            version,
          );
          this.#noteResult(session);
          if (node.owner !== '' && node.owner !== incarnation)
            this.#log.info(
              { agent: agentId, from: node.owner, streams: node.marks.size },
              'took the agent over in the HDFS ledger',
            );
          return {
            agentId,
            incarnation,
            version: stat.version,
            marks: new Map(node.marks),
            lost: false,
          };
        } catch (err) {
          if (zkCode(err) !== 'ZK_BAD_VERSION') throw err;
        }
      }
    } catch (err) {
      this.#noteResult(session, err);
      throw asRetriable(err, `claiming agent ${agentId} in the HDFS ledger`);
    }
  }

  /** Records a new file before its first byte is written (its committed length is 0). */
  registerFile(paths: HdfsFilePaths): Promise<FileRecord> {
    return this.#serial(async () => {
      const session = await this.session();
      const incarnation = this.#incarnation as string;
      try {
        const node = await session.create(
          `${this.paths.files}/${incarnation}/f-`,
          encodeFileNode({ ...paths, length: 0 }),
          CreateMode.PERSISTENT_SEQUENTIAL,
        );
        this.#noteResult(session);
        return { incarnation, node, paths, version: 0, length: 0 };
      } catch (err) {
        this.#noteResult(session, err);
        throw asRetriable(err, `recording ${paths.inProgress} in the HDFS ledger`);
      }
    });
  }

  /** Records the file's new length and the streams' marks in one transaction. */
  commit(file: FileRecord, length: number, updates: readonly MarkUpdate[]): Promise<CommitOutcome> {
    return this.#serial(async () => {
      const session = this.#session;
      if (!session || file.incarnation !== this.#incarnation) return 'orphaned';
      const byClaim = new Map<AgentClaim, Map<string, number>>();
      for (const u of updates) {
        if (u.claim.lost || u.claim.incarnation !== file.incarnation) return 'refused';
        let streams = byClaim.get(u.claim);
        if (!streams) byClaim.set(u.claim, (streams = new Map()));
        streams.set(u.streamKey, Math.max(u.endOffset, streams.get(u.streamKey) ?? 0));
      }
      const ops: ZkOp[] = [
        {
          op: 'set',
          path: file.node,
          data: encodeFileNode({ ...file.paths, length }),
          version: file.version,
        },
      ];
      const next = new Map<AgentClaim, Map<string, number>>();
      for (const [claim, streams] of byClaim) {
        const marks = advanceMarks(claim.marks, streams, this.#opts.maxStreamsPerAgent);
        next.set(claim, marks);
        ops.push({
          op: 'set',
          path: this.#agentPath(claim.agentId),
          data: encodeAgentNode({ owner: file.incarnation, marks }),
          version: claim.version,
        });
      }
      try {
        await session.multi(ops);
      } catch (err) {
        this.#noteResult(session, err);
        if (isDefinitive(err)) {
          // Who lost what: the claims whose node moved on are gone (another writer holds the
          // agent now); a file node that moved on means this writer is being recovered.
          for (const claim of byClaim.keys()) {
            const stat = await session.exists(this.#agentPath(claim.agentId)).catch(() => null);
            if (stat === null || stat?.version !== claim.version) this.#forget(claim);
          }
          const fileStat = await session.exists(file.node).catch(() => null);
          if (fileStat !== null && fileStat?.version !== file.version) return 'orphaned';
          return 'refused';
        }
        // The versions are unknown now: these claims cannot commit again.
        for (const claim of byClaim.keys()) this.#forget(claim);
        this.#log.warn({ err, file: file.paths.inProgress }, 'HDFS ledger commit unanswered');
        return 'unknown';
      }
      this.#noteResult(session);
      file.version++;
      file.length = length;
      for (const [claim, marks] of next) {
        claim.version++;
        claim.marks = marks;
      }
      return 'committed';
    });
  }

  /**
   * After an `unknown` commit: whether the file's node holds `length` (committed) or not
   * (refused), asked until ZooKeeper answers, from a new session if need be. `orphaned` when
   * the node is gone (a successor recovered the file) or the writer was replaced meanwhile.
   */
  async confirm(file: FileRecord, length: number, stopped: () => boolean): Promise<CommitOutcome> {
    for (let attempt = 0; !stopped() && !this.#closed; attempt++) {
      if (attempt > 0) await sleep(Math.min(2000, 100 * 2 ** attempt));
      let session: ZkSession;
      try {
        session = await this.session();
      } catch {
        continue;
      }
      try {
        const { data, stat } = await session.getData(file.node);
        this.#noteResult(session);
        const node = decodeFileNode(data);
        const outcome = node?.length === length ? 'committed' : 'refused';
        if (file.incarnation !== this.#incarnation) return 'orphaned';
        file.version = stat.version;
        if (outcome === 'committed') file.length = length;
        return outcome;
      } catch (err) {
        this.#noteResult(session, err);
        if (zkCode(err) === 'ZK_NO_NODE') return 'orphaned';
      }
    }
    return 'orphaned';
  }

  /**
   * Hands a file this writer cannot finish (its lease held by a dead DataNode client, its
   * length not settling) over to recovery: its entry moves, with its committed length, to a
   * writer folder of its own that has no writer node, so a recovery pass (this sink's or
   * another's) cuts it back and closes it once HDFS lets it. false when ZooKeeper refused.
   */
  retireFile(file: FileRecord): Promise<boolean> {
    return this.#serial(async () => {
      const session = this.#session;
      if (!session || file.incarnation !== this.#incarnation) return false;
      const folder = `${this.paths.files}/${file.incarnation}.retired-${file.node.split('/').pop() ?? ''}`;
      try {
        await session.multi([
          { op: 'create', path: folder, data: Buffer.alloc(0) },
          {
            op: 'create',
            path: `${folder}/f-0000000000`,
            data: encodeFileNode({ ...file.paths, length: file.length }),
          },
          { op: 'remove', path: file.node, version: file.version },
        ]);
        this.#noteResult(session);
        return true;
      } catch (err) {
        this.#noteResult(session, err);
        this.#log.warn({ err, file: file.paths.inProgress }, 'cannot hand a file to recovery');
        return false;
      }
    });
  }

  /** Forgets a file once it is closed under its final name (or deleted). */
  forgetFile(file: FileRecord): Promise<void> {
    return this.#serial(async () => {
      const session = this.#session;
      if (!session || file.incarnation !== this.#incarnation) return;
      await session.remove(file.node).catch((err: unknown) => {
        this.#noteResult(session, err);
        this.#log.warn({ err, node: file.node }, 'cannot remove a closed file from the ledger');
      });
    });
  }

  /** Ends the writer: its folder is removed when empty, then the session is closed. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#opening?.catch(() => undefined);
    await this.#chain;
    const session = this.#session;
    const incarnation = this.#incarnation;
    this.#session = undefined;
    this.#incarnation = undefined;
    this.#claims.clear();
    if (!session) return;
    if (incarnation) {
      // Files left open (HDFS down at stop) stay in the ledger: a live writer recovers them.
      await session.remove(`${this.paths.files}/${incarnation}`).catch(() => undefined);
    }
    session.close();
  }

  #agentPath(agentId: string): string {
    return `${this.paths.agents}/${encodeURIComponent(agentId)}`;
  }
}

function unavailable(message: string, cause?: unknown): RelayError {
  return new RelayError('HDFS_LEDGER_UNAVAILABLE', `HDFS ledger: ${message}`, {
    retriable: true,
    cause,
  });
}

/** Every ledger failure is retriable towards the agents: their batches can be written later. */
function asRetriable(err: unknown, what: string): RelayError {
  if (err instanceof RelayError && err.retriable) return err;
  return unavailable(`${what} failed: ${(err as Error).message ?? String(err)}`, err);
}
