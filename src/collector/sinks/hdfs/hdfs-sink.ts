import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Counter, Histogram } from 'prom-client';
import { RelayError, isRetriable } from '../../../common/errors/relay-error.js';
import { Component } from '../../../common/lifecycle/component.js';
import { sharedCounter, sharedHistogram } from '../../../common/metrics/shared-metrics.js';
import type { Logger } from '../../../common/logging/logger.js';
import { unseenPart } from '../../dedup/high-water-marks.js';
import { sinkNotRunning } from '../in-flight.js';
import {
  sinkConfigRef,
  type Sink,
  type SinkBatch,
  type SinkContext,
  type SinkWriteResult,
} from '../sink.js';
import type { HdfsSinkConfig } from './config.js';
import {
  HdfsCommitStore,
  type AgentClaim,
  type CommitOutcome,
  type FileRecord,
} from './exactly-once/commit-store.js';
import { recoverDeadWriters, type RecoveryPass } from './exactly-once/recovery.js';
import {
  finalPathOf,
  hdfsFilePaths,
  inProgressPattern,
  matchSegment,
  partitionKey,
  periodEnd,
  type DateParts,
  type HdfsFilePaths,
  type InProgressNaming,
} from './file-layout.js';
import { PartitionRegistrar } from './hive/partition-registrar.js';
import { WebHdfsClient, type WebHdfsApi } from './webhdfs-client.js';

// ---------------------------------------------------------------------------------------------
// Pure decisions, exported for unit tests.

/**
 * What to do after an APPEND (or CREATE) whose outcome is unknown (an error or a timeout after
 * the request may have reached the DataNode), given the file's length before it, the bytes it
 * carried and the length HDFS reports now:
 * - `done`: every byte landed; sending them again would duplicate them.
 * - `retry`: nothing landed; send them again.
 * - `truncate`: part of them landed; cut the file back to `before`, then send them again.
 * - `conflict`: the file is not what this writer made it (longer than possible, or shorter
 *   than what was already acknowledged); it cannot be repaired by this writer.
 */
export type AppendDecision = 'done' | 'retry' | 'truncate' | 'conflict';

export function reconcileAppend(before: number, sent: number, actual: number): AppendDecision {
  if (actual === before + sent) return 'done';
  if (actual === before) return 'retry';
  if (actual > before && actual < before + sent) return 'truncate';
  return 'conflict';
}

// ---------------------------------------------------------------------------------------------

/** Builds the WebHDFS client; replaced by a fake in unit tests. */
export type WebHdfsClientFactory = (config: HdfsSinkConfig) => WebHdfsApi;

export const createWebHdfsClient: WebHdfsClientFactory = (config) =>
  new WebHdfsClient({
    namenodeUrl: config.namenodeUrl,
    user: config.user,
    requestTimeoutMs: config.requestTimeoutMs,
  });

/** What start-up recovery did with the in-progress files a previous run left. */
export interface RecoveryReport {
  /** In-progress paths renamed to their final names. */
  readonly renamed: string[];
  /** In-progress paths left as they are (logged with the reason). */
  readonly failed: string[];
  /** Set when HDFS could not be searched; recovery is tried again later. */
  readonly error?: unknown;
}

interface Waiter {
  readonly data: Buffer;
  readonly lines: number;
  readonly enqueuedAt: number;
  /** Exactly-once: the stream's mark this batch moves, under the claim it was checked with. */
  readonly mark: { claim: AgentClaim; streamKey: string; endOffset: number } | undefined;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** A request whose effect on the file is unknown, and what the file held before it. */
interface Unconfirmed {
  readonly before: number;
  readonly sent: number;
  /** Its writers were told it failed: whatever of it landed has to go. */
  rejected: boolean;
}

type RollReason = 'size' | 'age' | 'partition' | 'stop' | 'abandoned';

/** One output file and its single writer loop. */
interface OpenFile {
  readonly topic: string;
  /** When the file was opened: the date parts of its path. */
  readonly time: Date;
  readonly openedAt: number;
  readonly partition: string;
  /** Chosen by the writer loop before the first CREATE. */
  paths: HdfsFilePaths | undefined;
  /** Exactly-once: the file's entry in the ledger (recorded before the first CREATE). */
  record: FileRecord | undefined;
  /** Its writer's ZooKeeper session is gone: the file is a dead writer's, for recovery. */
  orphaned: boolean;
  /** Handed over to recovery by this writer (HDFS would not let it finish the file). */
  retired: boolean;
  /** The file exists in HDFS (so more data goes with APPEND). */
  created: boolean;
  /** Bytes acknowledged to writers: exactly what the file must hold. */
  length: number;
  /** length + bytes queued for this file (for the size roll). */
  assigned: number;
  queue: Waiter[];
  queuedBytes: number;
  unconfirmed: Unconfirmed | undefined;
  /** Since when HDFS has reported a length below `length` (see #settle). */
  behindSince: number | undefined;
  closing: boolean;
  running: boolean;
  loop: Promise<void>;
  wake: (() => void) | undefined;
}

/** The file is not what its writer made it: continue in a new one. */
class AbandonFile extends RelayError {
  constructor(message: string, cause?: unknown) {
    super('HDFS_CONFLICT', message, { retriable: true, cause });
  }
}

const gzipAsync = promisify(gzip);

/** How long HDFS may report a file shorter than acknowledged before it counts as damaged. */
const BEHIND_GRACE_MS = 120_000;
/** Pause between attempts to add Hive partitions the metastore could not take. */
const HIVE_RETRY_MS = 10_000;
/** Pause between start-up recovery attempts while HDFS cannot be searched. */
const RECOVERY_RETRY_MS = 30_000;

/**
 * Writes lines to HDFS through WebHDFS (DESIGN.md "Records in the sinks").
 *
 * - **One writer per file**: per topic one open file `<path><inProgressSuffix>`, and per file one
 *   loop that sends its requests one after another, so no two requests ever compete for the
 *   file's lease.
 * - **Group commit**: `write` queues a batch's lines on its topic's file; the loop sends
 *   everything queued in one APPEND once the oldest has waited `flushIntervalMs`, or at once
 *   when `maxAppendBytes` are queued. `write` resolves when the APPEND carrying its lines
 *   returned. The first bytes of a file go with its CREATE (overwrite=false).
 * - **No duplicates on retry**: before a request the loop knows the file's length; when the
 *   outcome of a request is unknown it asks HDFS for the length and decides with
 *   `reconcileAppend` (done / retry / truncate back, then retry / give the file up and continue
 *   in a new one). When the attempts are used up, `write` rejects with a retriable error (the
 *   collector answers retry-after) and the file is cut back to what was acknowledged before
 *   anything else is written to it, so the agent's resend is not a duplicate.
 * - **Roll**: by size, by age, when the clock leaves the file's partition (date/hour), on stop.
 *   Rolling renames the file to its final name; a counter `{n}` is chosen so that neither name
 *   exists, so no one's file is ever reopened.
 * - **Recovery**: at start, in the background, in-progress files of this collector id left by a
 *   crashed run are renamed to their final names (those renames that fail, e.g. because HDFS
 *   still recovers the crashed writer's lease, are logged and left for the next start).
 *
 * - **Exactly-once** (`exactlyOnce`, the default): after each APPEND the file's new length and
 *   the marks of the streams it carried are recorded in ZooKeeper in one transaction
 *   (HdfsCommitStore), and only then are the batches acknowledged. A batch below its stream's
 *   mark is skipped. An agent is claimed by the writer it sends to, which fences the previous
 *   holder's later commits; files of a dead writer are cut back to their recorded length and
 *   closed by a live one (recoverDeadWriters). In-progress files carry a hidden name.
 *
 * Without `exactlyOnce`, a crash (or a request still running on a DataNode after it timed out
 * here) can leave an unacknowledged tail in a file, which the agent then sends again: HDFS is
 * then at-least-once across collector crashes, and start-up recovery closes this collector's
 * leftover files as they are.
 */
export class HdfsSink extends Component implements Sink {
  readonly config: Readonly<HdfsSinkConfig>;
  readonly #log: Logger;
  readonly #collectorId: string;
  readonly #createClient: WebHdfsClientFactory;
  #client: WebHdfsApi | undefined;

  /** The file each topic's new lines go to. */
  readonly #files = new Map<string, OpenFile>();
  /** Every file not closed yet: the current ones and those being rolled. */
  readonly #active = new Set<OpenFile>();
  /** Next `{n}` to try per partition. */
  readonly #counters = new Map<string, number>();
  /** In-progress names this run chose, so recovery never renames a live file. */
  readonly #ownPaths = new Set<string>();
  /** Rolled files whose rename failed: in-progress path → final path. */
  readonly #pendingRenames = new Map<string, string>();
  #retryingRenames = false;
  #timer: NodeJS.Timeout | undefined;
  #recovery: Promise<RecoveryReport> | undefined;
  #recoveryNeeded = false;
  #recoveryStartedAt = 0;
  #stopRequested = false;
  /** How a file is named while written (the final name's `.gz` included). */
  readonly #naming: InProgressNaming;
  /** Exactly-once: the ledger in ZooKeeper. */
  readonly #store: HdfsCommitStore | undefined;
  #recoveryTimer: NodeJS.Timeout | undefined;
  #recoveringDead: Promise<RecoveryPass | undefined> | undefined;
  #hiveRetriedAt = 0;
  /** `hive`: partitions added as files close. */
  readonly #hive: PartitionRegistrar | undefined;

  readonly #lines: Counter.Internal;
  readonly #bytes: Counter.Internal;
  readonly #appends: Counter.Internal;
  readonly #rolls: Counter.Internal;
  readonly #errors: Counter<'sink' | 'code'>;
  readonly #appendSeconds: Histogram.Internal<'sink'>;

  constructor(
    config: Readonly<HdfsSinkConfig>,
    ctx: SinkContext,
    createClient: WebHdfsClientFactory = createWebHdfsClient,
  ) {
    super(config.name);
    this.config = config;
    this.#log = ctx.log;
    this.#collectorId = ctx.collectorId;
    this.#createClient = createClient;
    const zookeeper = config.zookeeper ?? ctx.zookeeper;
    const ref = sinkConfigRef(ctx, config.name);
    this.#naming = {
      prefix: config.inProgressPrefix,
      suffix: config.inProgressSuffix,
      extension: config.compression === 'gzip' && !config.pathTemplate.endsWith('.gz') ? '.gz' : '',
    };
    if (config.exactlyOnce) {
      if (!zookeeper)
        throw new RelayError(
          'CONFIG_INVALID',
          `${ref.path}.exactlyOnce: the HDFS sink needs ` +
            'ZooKeeper for its exactly-once marks: set its zookeeper, or the collector’s ' +
            'cluster.zookeeper, or exactlyOnce: false',
        );
      this.#store = new HdfsCommitStore(
        {
          zookeeper,
          keyPath: config.zookeeper ? `${ref.path}.zookeeper` : 'cluster.zookeeper',
          configSource: ref.source,
          sinkName: config.name,
          collectorId: ctx.collectorId,
          maxStreamsPerAgent: config.maxStreamsPerAgent,
        },
        ctx.log,
        (incarnation) => this.#orphanWriter(incarnation),
      );
    }
    this.#hive = config.hive
      ? new PartitionRegistrar({
          sink: config.name,
          settings: config.hive,
          pathTemplate: config.pathTemplate,
          compression: config.compression,
          log: ctx.log,
          counter: sharedCounter(
            ctx.registry,
            'logrelay_hdfs_sink_hive_partitions_total',
            'Hive partition registrations, by result (added, exists, retry, refused).',
            ['sink', 'result'],
          ),
        })
      : undefined;
    const sink = { sink: config.name };
    const reg = ctx.registry;
    this.#lines = sharedCounter(reg, 'logrelay_hdfs_sink_lines_total', 'Lines committed to HDFS.', [
      'sink',
    ]).labels(sink);
    this.#bytes = sharedCounter(
      reg,
      'logrelay_hdfs_sink_bytes_total',
      'Bytes (with newlines) committed to HDFS.',
      ['sink'],
    ).labels(sink);
    this.#appends = sharedCounter(
      reg,
      'logrelay_hdfs_sink_appends_total',
      'Successful data requests to HDFS (CREATE with data, APPEND); each may carry many batches.',
      ['sink'],
    ).labels(sink);
    this.#rolls = sharedCounter(
      reg,
      'logrelay_hdfs_sink_rolls_total',
      'HDFS files closed (renamed from in-progress to final).',
      ['sink'],
    ).labels(sink);
    this.#errors = sharedCounter(
      reg,
      'logrelay_hdfs_sink_errors_total',
      'Failed WebHDFS operations, by RelayError code.',
      ['sink', 'code'],
    );
    this.#appendSeconds = sharedHistogram(
      reg,
      'logrelay_hdfs_sink_append_seconds',
      'Duration of a successful CREATE or APPEND (both WebHDFS steps).',
      ['sink'],
      /* From a quick loopback append (~10 ms) to timeouts (tens of seconds). */
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    ).labels(sink);
  }

  /** The latest start-up recovery (it never rejects). */
  recovered(): Promise<RecoveryReport> {
    return this.#recovery ?? Promise.resolve({ renamed: [], failed: [] });
  }

  protected doStart(): Promise<void> {
    this.#stopRequested = false;
    this.#client = this.#createClient(this.config);
    const tickMs = Math.min(1000, this.config.maxFileAgeMs);
    this.#timer = setInterval(() => this.#tick(), tickMs);
    this.#timer.unref();
    // HDFS or ZooKeeper being down is an outage, not a reason to refuse to start: writes fail
    // retriable meanwhile, and recovery is tried again until it could search once.
    if (this.#store) {
      this.#store.start();
      this.#recoveryTimer = setInterval(
        () => void this.recoverDeadWriters(),
        this.config.recoveryIntervalMs,
      );
      this.#recoveryTimer.unref();
      void this.recoverDeadWriters();
    } else {
      this.#recoveryNeeded = true;
      this.#startRecovery();
    }
    return Promise.resolve();
  }

  /**
   * Exactly-once: one pass over the ledger's dead writers (see recoverDeadWriters); undefined
   * when it could not run (ZooKeeper or HDFS down: it runs again every recoveryIntervalMs).
   */
  recoverDeadWriters(): Promise<RecoveryPass | undefined> {
    if (this.#recoveringDead) return this.#recoveringDead;
    const store = this.#store;
    const client = this.#client;
    if (!store || !client || this.#stopRequested) return Promise.resolve(undefined);
    this.#recoveringDead = (async () => {
      try {
        return await recoverDeadWriters({
          session: await store.session(),
          paths: store.paths,
          client,
          log: this.#log,
          requestTimeoutMs: this.config.requestTimeoutMs,
          stopped: () => this.#stopRequested,
          onClosed: (final) => void this.#hive?.closed(final),
        });
      } catch (err) {
        this.#countError(err);
        this.#log.warn({ err }, 'cannot look for dead HDFS writers’ files; will retry');
        return undefined;
      } finally {
        this.#recoveringDead = undefined;
      }
    })();
    return this.#recoveringDead;
  }

  protected async doStop(): Promise<void> {
    this.#stopRequested = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    // A file given up during the flush opens a successor, hence the loop.
    while (this.#active.size > 0) {
      for (const file of [...this.#active]) this.#roll(file, 'stop');
      await Promise.all([...this.#active].map((file) => file.loop));
    }
    await this.#retryPendingRenames();
    if (this.#recovery) await this.#recovery;
    if (this.#recoveryTimer) clearInterval(this.#recoveryTimer);
    this.#recoveryTimer = undefined;
    await this.#recoveringDead;
    await this.#store?.close();
    await this.#hive?.stop();
    this.#client?.close();
    this.#client = undefined;
    this.#counters.clear();
    this.#ownPaths.clear();
  }

  write(batch: SinkBatch): Promise<void | SinkWriteResult> {
    if (!this.running || !this.#client) {
      this.#errors.inc({ sink: this.name, code: 'SINK_NOT_RUNNING' });
      return Promise.reject(sinkNotRunning('HDFS', this.name, this.state));
    }
    if (batch.lines.length === 0) return Promise.resolve();
    if (this.#store) return this.#writeExactlyOnce(this.#store, batch);
    return this.#queue(batch, undefined);
  }

  /** Claims the batch's agent, skips what its stream's mark says was committed, queues the rest. */
  async #writeExactlyOnce(store: HdfsCommitStore, batch: SinkBatch): Promise<SinkWriteResult> {
    let claim: AgentClaim;
    try {
      claim = await store.claim(batch.agentId);
    } catch (err) {
      this.#countError(err);
      throw RelayError.from(err, 'HDFS_LEDGER_UNAVAILABLE', true);
    }
    const { batch: unseen, duplicates } = unseenPart(batch, claim.marks.get(batch.streamKey));
    if (unseen) {
      await this.#queue(unseen, {
        claim,
        streamKey: batch.streamKey,
        endOffset: batch.endOffset,
      });
    }
    return { skippedLines: duplicates };
  }

  #queue(batch: SinkBatch, mark: Waiter['mark']): Promise<void> {
    let size = 0;
    for (const line of batch.lines) size += line.length + 1;
    // One copy per batch: the received message is released, and a retry resends the same bytes.
    const data = Buffer.allocUnsafe(size);
    let pos = 0;
    for (const line of batch.lines) {
      pos += line.copy(data, pos);
      data[pos++] = 0x0a;
    }
    const now = Date.now();
    const file = this.#fileFor(batch.topic, now);
    return new Promise<void>((resolve, reject) => {
      this.#enqueue(file, {
        data,
        lines: batch.lines.length,
        enqueuedAt: now,
        mark,
        resolve,
        reject,
      });
    });
  }

  #enqueue(file: OpenFile, waiter: Waiter): void {
    file.queue.push(waiter);
    file.queuedBytes += waiter.data.length;
    file.assigned += waiter.data.length;
    if (file.queuedBytes >= this.config.maxAppendBytes) file.wake?.();
    this.#ensureLoop(file);
  }

  #fileFor(topic: string, now: number): OpenFile {
    let file = this.#files.get(topic);
    if (file) {
      const reason = this.#rollReason(file, now);
      if (reason) {
        this.#roll(file, reason);
        file = undefined;
      }
    }
    if (file) return file;
    const time = new Date(now);
    const opened: OpenFile = {
      topic,
      time,
      openedAt: now,
      partition: this.#partition(topic, time),
      paths: undefined,
      record: undefined,
      orphaned: false,
      retired: false,
      created: false,
      length: 0,
      assigned: 0,
      queue: [],
      queuedBytes: 0,
      unconfirmed: undefined,
      behindSince: undefined,
      closing: false,
      running: false,
      loop: Promise.resolve(),
      wake: undefined,
    };
    this.#files.set(topic, opened);
    this.#active.add(opened);
    return opened;
  }

  #partition(topic: string, time: Date): string {
    return partitionKey(this.config.pathTemplate, { topic, collector: this.#collectorId, time });
  }

  #rollReason(file: OpenFile, now: number): RollReason | undefined {
    if (file.assigned >= this.config.maxFileBytes) return 'size';
    if (now - file.openedAt >= this.config.maxFileAgeMs) return 'age';
    if (this.#partition(file.topic, new Date(now)) !== file.partition) return 'partition';
    return undefined;
  }

  /** Sends no more new lines to the file; its loop flushes what it has, then closes it. */
  #roll(file: OpenFile, reason: RollReason): void {
    if (this.#files.get(file.topic) === file) this.#files.delete(file.topic);
    if (file.closing) return;
    file.closing = true;
    if (reason === 'partition') this.#counters.delete(file.partition);
    this.#log.debug({ topic: file.topic, path: file.paths?.inProgress, reason }, 'rolling file');
    file.wake?.();
    this.#ensureLoop(file);
  }

  #ensureLoop(file: OpenFile): void {
    if (!file.running) file.loop = this.#run(file);
  }

  /** The file's single writer. `running` flips synchronously at both ends (see #ensureLoop). */
  async #run(file: OpenFile): Promise<void> {
    file.running = true;
    try {
      while (file.queue.length > 0 && !file.orphaned) {
        await this.#waitToFlush(file);
        await this.#commit(file, this.#take(file));
      }
      if (file.orphaned) {
        if (!file.retired) this.#dropOrphan(file);
      } else if (file.closing) await this.#close(file);
    } catch (err) {
      // #commit and #close handle their errors; this is a bug, and the file must not hang.
      this.#log.error({ err, topic: file.topic }, 'HDFS writer loop failed');
      for (const w of file.queue.splice(0)) w.reject(RelayError.from(err, 'SINK_INTERNAL', true));
      this.#active.delete(file);
    } finally {
      file.running = false;
    }
  }

  /** A file whose writer (ZooKeeper session) is gone: its recovery is a live writer's job. */
  #orphanWriter(incarnation: string): void {
    for (const file of [...this.#active]) {
      if (file.record?.incarnation !== incarnation) continue;
      file.orphaned = true;
      if (this.#files.get(file.topic) === file) this.#files.delete(file.topic);
      file.wake?.();
      this.#ensureLoop(file);
    }
  }

  #dropOrphan(file: OpenFile): void {
    const error = writerLost(this.name, file.paths?.inProgress);
    for (const w of this.#takeQueue(file)) w.reject(error);
    this.#forgetOpen(file);
    this.#log.warn(
      { path: file.paths?.inProgress, committedBytes: file.length },
      'left an HDFS file to recovery: its writer lost its ZooKeeper session',
    );
  }

  async #waitToFlush(file: OpenFile): Promise<void> {
    for (;;) {
      const oldest = file.queue[0];
      if (!oldest || file.closing || file.orphaned) return;
      if (file.queuedBytes >= this.config.maxAppendBytes) return;
      const wait = oldest.enqueuedAt + this.config.flushIntervalMs - Date.now();
      if (wait <= 0) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          file.wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, wait);
        file.wake = done;
      });
    }
  }

  /** The next APPEND's batches: all queued, up to maxAppendBytes (at least one batch). */
  #take(file: OpenFile): Waiter[] {
    let count = 0;
    let bytes = 0;
    for (const w of file.queue) {
      if (count > 0 && bytes + w.data.length > this.config.maxAppendBytes) break;
      count++;
      bytes += w.data.length;
    }
    file.queuedBytes -= bytes;
    return file.queue.splice(0, count);
  }

  async #commit(file: OpenFile, waiters: Waiter[]): Promise<void> {
    let data = waiters.map((w) => w.data);
    let raw = 0;
    let lines = 0;
    for (const w of waiters) {
      raw += w.data.length;
      lines += w.lines;
    }
    let sent = raw;
    try {
      if (this.config.compression === 'gzip') {
        // One gzip member per APPEND: a file is a concatenation of members, which gzip, Hadoop's
        // codecs (hdfs dfs -text, Hive) and zcat read as one stream, and a cut back to a
        // committed length always falls between two members.
        const member = await gzipAsync(Buffer.concat(data), { level: this.config.gzipLevel });
        data = [member];
        sent = member.length;
      }
      await this.#appendReliably(file, data, sent);
      await this.#record(file, sent, waiters);
      file.length += sent;
      // The size roll counts what the file holds: compressed bytes once committed.
      file.assigned += sent - raw;
      this.#lines.inc(lines);
      this.#bytes.inc(raw);
      for (const w of waiters) w.resolve();
    } catch (err) {
      file.assigned -= raw;
      if (this.#store && isStuck(err) && (await this.#retire(file, waiters, err))) return;
      if (err instanceof AbandonFile) {
        this.#abandon(file, waiters, err);
        return;
      }
      if (file.unconfirmed) file.unconfirmed.rejected = true;
      const cause = RelayError.from(err, 'SINK_INTERNAL');
      // Always retriable towards the collector: any bytes can be written to HDFS once it works
      // again (even a permission problem is the operator's to fix), so nothing is rejected.
      const error = new RelayError(
        cause.code,
        `HDFS sink ${this.name}: writing ${file.paths?.inProgress ?? `topic ${file.topic}`} ` +
          `failed: ${cause.message}`,
        { retriable: true, cause, details: { topic: file.topic, path: file.paths?.inProgress } },
      );
      this.#log.warn(
        { err: cause, topic: file.topic, path: file.paths?.inProgress, bytes: sent, lines },
        'HDFS append failed; the batches will be retried by their agents',
      );
      for (const w of waiters) w.reject(error);
    }
  }

  /**
   * Exactly-once: records the landed APPEND in the ledger (the file's new length and its
   * streams' marks) before anyone is told it is committed. Throws when it is not recorded: a
   * refused record leaves the bytes to be cut back before the file's next request.
   */
  async #record(file: OpenFile, sent: number, waiters: readonly Waiter[]): Promise<void> {
    const store = this.#store;
    const record = file.record;
    if (!store || !record) return;
    const updates = waiters.flatMap((w) => (w.mark ? [w.mark] : []));
    const length = file.length + sent;
    let outcome: CommitOutcome = await store.commit(record, length, updates);
    if (outcome === 'unknown')
      outcome = await store.confirm(record, length, () => this.#stopRequested);
    switch (outcome) {
      case 'committed':
        return;
      case 'refused':
        file.unconfirmed = { before: file.length, sent, rejected: true };
        throw new RelayError(
          'HDFS_AGENT_MOVED',
          `HDFS sink ${this.name}: an agent of this append is now written by another ` +
            'collector; the append is cut back and its batches are sent again',
          { retriable: true },
        );
      default:
        file.orphaned = true;
        throw writerLost(this.name, file.paths?.inProgress);
    }
  }

  /** CREATE or APPEND `data` once: attempts, backoff, and reconciliation of unknown outcomes. */
  async #appendReliably(file: OpenFile, data: readonly Buffer[], sent: number): Promise<void> {
    const client = this.#requireClient();
    const before = file.length;
    let last: unknown;
    for (let attempt = 1; attempt <= this.config.maxAttempts; attempt++) {
      if (attempt > 1) await sleep(backoff(attempt - 1));
      try {
        if (!file.paths) await this.#chooseName(file);
        if (this.#store && file.record?.incarnation !== this.#store.incarnation) {
          file.orphaned = true;
          throw writerLost(this.name, file.paths?.inProgress);
        }
        const path = (file.paths as HdfsFilePaths).inProgress;
        if (file.unconfirmed && (await this.#settle(file)) === 'done') {
          this.#appends.inc();
          return;
        }
        file.unconfirmed = { before, sent, rejected: false };
        const endTimer = this.#appendSeconds.startTimer();
        if (file.created) await client.append(path, data);
        else await client.create(path, data);
        endTimer();
        file.created = true;
        file.unconfirmed = undefined;
        this.#appends.inc();
        return;
      } catch (err) {
        last = err;
        this.#countError(err);
        if (err instanceof AbandonFile || file.orphaned) throw err;
        const code = err instanceof RelayError ? err.code : '';
        if (code === 'HDFS_FILE_EXISTS' && !file.created && file.paths) {
          // Someone took the name between our check and the CREATE: nothing of ours is in it.
          this.#log.warn({ path: file.paths.inProgress }, 'file name taken; choosing another');
          file.unconfirmed = undefined;
          this.#ownPaths.delete(file.paths.inProgress);
          if (file.record) await this.#store?.forgetFile(file.record);
          file.paths = undefined;
          file.record = undefined;
          continue;
        }
        // A vanished file is found out (and given up) by the next attempt's status check.
        if (!isRetriable(err) && code !== 'HDFS_NOT_FOUND') break;
      }
    }
    throw last;
  }

  /**
   * Brings the file back to a known length after a request with an unknown outcome. 'done': that
   * very request landed whole (only for the request being retried, never a rejected one).
   */
  async #settle(file: OpenFile): Promise<'done' | 'retry'> {
    const client = this.#requireClient();
    const u = file.unconfirmed as Unconfirmed;
    const path = (file.paths as HdfsFilePaths).inProgress;
    const status = await client.getFileStatus(path);
    if (!status) {
      if (file.created || file.length > 0) throw new AbandonFile(`${path} vanished`);
      file.unconfirmed = undefined;
      return 'retry';
    }
    file.created = true;
    let decision = reconcileAppend(u.before, u.sent, status.length);
    // The writers of a rejected request send its lines again: whatever of it landed must go.
    if (decision === 'done' && u.rejected) decision = 'truncate';
    if (decision === 'conflict' && status.length < u.before) {
      // While a file is still open (a request that timed out here may still run on a
      // DataNode) the NameNode can report a stale length: wait before calling it damage.
      const now = Date.now();
      file.behindSince ??= now;
      if (now - file.behindSince < BEHIND_GRACE_MS) {
        throw new RelayError(
          'HDFS_LENGTH_BEHIND',
          `${path} reports ${status.length} bytes, ${u.before} were acknowledged`,
          { retriable: true },
        );
      }
    }
    file.behindSince = undefined;
    switch (decision) {
      case 'done':
      case 'retry':
        file.unconfirmed = undefined;
        return decision;
      case 'truncate':
        try {
          await client.truncateAndWait(path, u.before, this.config.requestTimeoutMs);
        } catch (err) {
          if (isRetriable(err)) throw err;
          throw new AbandonFile(`cannot truncate ${path} back to ${u.before} bytes`, err);
        }
        this.#log.warn(
          { path, from: status.length, to: u.before },
          'truncated a partly landed append before sending it again',
        );
        file.unconfirmed = undefined;
        return 'retry';
      case 'conflict':
        throw new AbandonFile(
          `${path} has ${status.length} bytes; this writer expected ${u.before} ` +
            `or ${u.before + u.sent}`,
        );
    }
  }

  /**
   * Exactly-once: a file HDFS will not let this writer finish goes to recovery (cut back to its
   * committed length and closed once its lease is free) and its batches, the current request's
   * first, continue at once in a new file of the topic. false when ZooKeeper refused.
   */
  async #retire(file: OpenFile, waiters: Waiter[], err: unknown): Promise<boolean> {
    if (!file.record || !(await this.#store?.retireFile(file.record))) return false;
    this.#log.warn(
      { err, path: file.paths?.inProgress, committedBytes: file.length },
      'HDFS will not let this writer finish the file; handed it to recovery, continuing in a new file',
    );
    const rest = this.#takeQueue(file, waiters);
    file.retired = true;
    this.#forgetOpen(file);
    this.#requeue(file.topic, rest);
    return true;
  }

  /**
   * Gives a damaged file up: it is closed as it is, and its queued batches (the current
   * request's first, order kept) go to a new file of the topic.
   */
  #abandon(file: OpenFile, waiters: Waiter[], err: AbandonFile): void {
    this.#log.error(
      {
        err,
        path: file.paths?.inProgress,
        acknowledgedBytes: file.length,
        unconfirmed: file.unconfirmed,
      },
      'HDFS file is not what this writer wrote; continuing in a new file (bytes past ' +
        'acknowledgedBytes in the old one may repeat lines of the new one)',
    );
    const rest = this.#takeQueue(file, waiters);
    this.#roll(file, 'abandoned');
    this.#requeue(file.topic, rest);
  }

  /** The file's batches, `first` (the current request's) ahead of those still queued. */
  #takeQueue(file: OpenFile, first: readonly Waiter[] = []): Waiter[] {
    const rest = [...first, ...file.queue.splice(0)];
    file.queuedBytes = 0;
    file.unconfirmed = undefined;
    return rest;
  }

  /** Batches of a file given up, in their order, to the topic's current (or a new) file. */
  #requeue(topic: string, waiters: readonly Waiter[]): void {
    if (waiters.length === 0) return;
    const next = this.#fileFor(topic, Date.now());
    for (const w of waiters) this.#enqueue(next, w);
  }

  /** Takes a file out of the sink without closing it (its recovery is the ledger's). */
  #forgetOpen(file: OpenFile): void {
    file.orphaned = true;
    if (this.#files.get(file.topic) === file) this.#files.delete(file.topic);
    this.#active.delete(file);
    if (file.paths) this.#ownPaths.delete(file.paths.inProgress);
  }

  /**
   * Picks `{n}` so that none of the file's names exists. They are looked up in the order a file
   * moves through them (in progress, recovering, final), so a file being recovered meanwhile is
   * seen under one of them. Exactly-once: the file is recorded in the ledger before its CREATE.
   */
  async #chooseName(file: OpenFile): Promise<void> {
    const client = this.#requireClient();
    for (let n = this.#counters.get(file.partition) ?? 0; ; n++) {
      const paths = hdfsFilePaths(this.config.pathTemplate, this.#naming, {
        topic: file.topic,
        collector: this.#collectorId,
        n,
        time: file.time,
      });
      if (this.#ownPaths.has(paths.inProgress)) continue;
      if (await client.getFileStatus(paths.inProgress)) continue;
      if (this.#store && (await client.getFileStatus(paths.recovering))) continue;
      if (await client.getFileStatus(paths.final)) continue;
      this.#counters.set(file.partition, n + 1);
      this.#ownPaths.add(paths.inProgress);
      if (this.#store) {
        try {
          file.record = await this.#store.registerFile(paths);
        } catch (err) {
          this.#ownPaths.delete(paths.inProgress);
          throw err;
        }
      }
      file.paths = paths;
      return;
    }
  }

  /** After the last flush: cut back an unconfirmed tail, then rename (or delete if empty). */
  async #close(file: OpenFile): Promise<void> {
    try {
      const paths = file.paths;
      if (!paths) return;
      if (file.unconfirmed) {
        try {
          await this.#attempts(() => this.#settle(file));
        } catch (err) {
          if (file.record && (await this.#store?.retireFile(file.record))) {
            this.#log.warn(
              { err, path: paths.inProgress, committedBytes: file.length },
              'cannot confirm the end of the file; handed it to recovery',
            );
            return;
          }
          this.#log.error(
            { err, path: paths.inProgress, acknowledgedBytes: file.length },
            'cannot confirm the end of the file; leaving it in progress for the next start',
          );
          return;
        }
      }
      if (!file.created) {
        this.#ownPaths.delete(paths.inProgress);
        if (file.record) await this.#store?.forgetFile(file.record);
        return;
      }
      if (file.length === 0) {
        // Created, but every byte of it was rejected and cut back: no empty files in HDFS.
        await this.#attempts(() => this.#requireClient().delete(paths.inProgress)).catch(
          (err: unknown) => this.#log.warn({ err, path: paths.inProgress }, 'delete failed'),
        );
        this.#ownPaths.delete(paths.inProgress);
        if (file.record) await this.#store?.forgetFile(file.record);
        return;
      }
      if ((await this.#finalize(paths.inProgress, paths.final)) && file.record)
        await this.#store?.forgetFile(file.record);
    } finally {
      this.#active.delete(file);
    }
  }

  /** Renames an in-progress file to its final name; on failure keeps it for a later try. */
  async #finalize(inProgress: string, final: string, attempts?: number): Promise<boolean> {
    const client = this.#requireClient();
    try {
      const renamed = await this.#attempts(async () => {
        if (await client.rename(inProgress, final)) return true;
        // false: the source is gone or the destination exists. After an attempt whose answer
        // was lost, the rename may simply have happened already.
        const [src, dst] = await Promise.all([
          client.getFileStatus(inProgress),
          client.getFileStatus(final),
        ]);
        return !src && dst !== undefined;
      }, attempts);
      if (renamed) {
        void this.#hive?.closed(final);
        this.#rolls.inc();
        this.#ownPaths.delete(inProgress);
        this.#pendingRenames.delete(inProgress);
        this.#log.info({ path: final }, 'closed HDFS file');
        return true;
      }
      this.#pendingRenames.delete(inProgress);
      this.#log.error(
        { path: inProgress, final },
        'cannot rename: the final name exists; leaving the file in progress',
      );
      return false;
    } catch (err) {
      this.#pendingRenames.set(inProgress, final);
      this.#log.warn({ err, path: inProgress }, 'rename to the final name failed; will retry');
      return false;
    }
  }

  async #retryPendingRenames(): Promise<void> {
    if (this.#retryingRenames || !this.#client) return;
    this.#retryingRenames = true;
    try {
      for (const [inProgress, final] of [...this.#pendingRenames]) {
        await this.#finalize(inProgress, final, 1);
      }
    } finally {
      this.#retryingRenames = false;
    }
  }

  #tick(): void {
    const now = Date.now();
    for (const file of [...this.#files.values()]) {
      const reason = this.#rollReason(file, now);
      if (reason) this.#roll(file, reason);
    }
    if (this.#pendingRenames.size > 0) void this.#retryPendingRenames();
    if (this.#hive && now - this.#hiveRetriedAt >= HIVE_RETRY_MS) {
      this.#hiveRetriedAt = now;
      void this.#hive.retry();
    }
    if (this.#recoveryNeeded && now - this.#recoveryStartedAt >= RECOVERY_RETRY_MS) {
      this.#startRecovery();
    }
  }

  #startRecovery(): void {
    const previous = this.#recovery ?? Promise.resolve(undefined);
    this.#recoveryStartedAt = Date.now();
    this.#recoveryNeeded = false;
    this.#recovery = previous.then(() => this.#recover());
  }

  /** Renames this collector's in-progress files that no live writer of this run owns. */
  async #recover(): Promise<RecoveryReport> {
    const renamed: string[] = [];
    const failed: string[] = [];
    const client = this.#client;
    if (!client) return { renamed, failed };
    const { pathTemplate, recoveryLookbackMs } = this.config;
    const pattern = inProgressPattern(pathTemplate, this.#collectorId, this.#naming);
    if (!pattern) {
      this.#log.warn(
        'pathTemplate has no {collector}: in-progress files left by a crash cannot be told ' +
          "from other collectors' and are not recovered",
      );
      return { renamed, failed };
    }
    const oldest = Date.now() - recoveryLookbackMs;
    const candidates: string[] = [];
    const walk = async (dir: string, level: number, dates: DateParts): Promise<void> => {
      const segment = pattern[level];
      if (!segment || this.#stopRequested) return;
      const join = (name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);
      if (segment.literal !== undefined) return walk(join(segment.literal), level + 1, dates);
      const entries = await client.listStatus(dir);
      if (!entries) return;
      const last = level === pattern.length - 1;
      for (const entry of entries) {
        const found = matchSegment(segment, entry.pathSuffix);
        if (!found) continue;
        const known = { ...dates, ...found };
        const end = periodEnd(known);
        if (end !== undefined && end < oldest) continue;
        if (last && entry.type === 'FILE') candidates.push(join(entry.pathSuffix));
        else if (!last && entry.type === 'DIRECTORY')
          await walk(join(entry.pathSuffix), level + 1, known);
      }
    };
    try {
      await walk('/', 0, {});
    } catch (err) {
      this.#recoveryNeeded = true;
      this.#countError(err);
      this.#log.warn({ err }, 'cannot search HDFS for files a previous run left; will retry');
      return { renamed, failed, error: err };
    }
    for (const path of candidates) {
      if (this.#stopRequested) break;
      if (this.#ownPaths.has(path)) continue;
      const final = finalPathOf(path, this.#naming);
      try {
        if (await client.rename(path, final)) {
          renamed.push(path);
          this.#log.info({ path: final }, 'closed an in-progress file a previous run left');
        } else {
          failed.push(path);
          this.#log.warn({ path, final }, 'cannot recover an in-progress file: final name exists');
        }
      } catch (err) {
        failed.push(path);
        this.#countError(err);
        // HDFS keeps a crashed writer's lease until its soft limit (60 s) passes and recovers
        // the last block; until then the file may refuse changes. Nothing is lost by waiting.
        this.#log.warn(
          { err, path },
          'cannot recover an in-progress file a previous run left (its lease may still be ' +
            'held); leaving it for the next start',
        );
      }
    }
    return { renamed, failed };
  }

  async #attempts<T>(fn: () => Promise<T>, attempts = this.config.maxAttempts): Promise<T> {
    let last: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await sleep(backoff(attempt - 1));
      try {
        return await fn();
      } catch (err) {
        last = err;
        this.#countError(err);
        if (!isRetriable(err)) break;
      }
    }
    throw last;
  }

  #countError(err: unknown): void {
    const code = err instanceof RelayError ? err.code : 'INTERNAL';
    this.#errors.inc({ sink: this.name, code });
  }

  #requireClient(): WebHdfsApi {
    if (!this.#client) throw new RelayError('SINK_NOT_RUNNING', `HDFS sink ${this.name} stopped`);
    return this.#client;
  }
}

/** Errors after which the file, not HDFS, is what holds the writer up: retire it. */
function isStuck(err: unknown): boolean {
  if (err instanceof AbandonFile) return true;
  const code = err instanceof RelayError ? err.code : '';
  return code === 'HDFS_LEASE' || code === 'HDFS_LENGTH_BEHIND';
}

/** The batches of a file whose writer lost its ZooKeeper session: sent again, to a new file. */
function writerLost(sink: string, path: string | undefined): RelayError {
  return new RelayError(
    'HDFS_WRITER_LOST',
    `HDFS sink ${sink}: the writer of ${path ?? 'the file'} lost its ZooKeeper session; ` +
      'the file goes to recovery and the batches are sent again',
    { retriable: true },
  );
}

/** 100 ms, doubling, up to 2 s, with jitter so that many files do not retry in step. */
function backoff(retry: number): number {
  const base = Math.min(2000, 100 * 2 ** (retry - 1));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}
