import { readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { RelayError } from '../common/errors/relay-error.js';
import { OpsServer } from '../common/http/ops-server.js';
import { Component } from '../common/lifecycle/component.js';
import { childLogger, type Logger } from '../common/logging/logger.js';
import { createMetricsRegistry } from '../common/metrics/registry.js';
import type { Batch, BatchFields } from '../common/wire/index.js';
import { version } from '../version.js';
import { CheckpointRegistry, type CheckpointEntry } from './checkpoint/registry.js';
import { birthtimeOf, firstGeneration } from './checkpoint/first-generation.js';
import { tailConfigSchema, type AgentConfig, type TailConfig } from './config.js';
import { SyslogInput, syslogMetrics } from './syslog/syslog-input.js';
import type { SyslogInputConfig } from './syslog/config.js';
import { wideByteOrder } from './records/decoder.js';
import { recordStageFor, type RecordStage } from './records/record-stage.js';
import { batchFields } from './records/fields.js';
import { kubernetesFieldsFor } from './records/kubernetes-path.js';
import { expandGlob, globToRegExp } from './discovery/glob.js';
import { isRotationOf, liveNameOf } from './discovery/rotated-name.js';
import {
  decodeIdentity,
  encodeIdentity,
  Harvester,
  type HarvesterOptions,
  type SentBatch,
} from './harvest/harvester.js';
import { RemoteTails } from './control/remote-tails.js';
import { descriptorVictims, waitingOrder, type OpenFileState } from './harvest/turns.js';
import { ClusterCollectors } from './discovery/cluster-collectors.js';
import { ScanNotices } from './discovery/scan-notices.js';
import { openFilesLimit } from '../collector/server/open-files-limit.js';
import { Shipper } from './ship/shipper.js';
import { isInsideRoots, OUTSIDE_ROOTS_REASON, resolvedRoots } from './tail/confine.js';
import { FileTailer, type FileTailerOptions } from './tail/file-reader.js';
import { compressionOf, type CompressionFormat } from './tail/compression.js';
import {
  canMatchCopies,
  findCopy,
  firstBytes,
  startsWith,
  type FoundCopy,
} from './tail/copy-finder.js';
import { hashPrefix, identityOf, type FileIdentity, type InodeRef } from './tail/fingerprint.js';
import { TailErrorCode } from './tail/line-splitter.js';
import { decideResume, type ResumeDecision } from './tail/rotation.js';

/** What an agent is built with besides its configuration. */
export interface AgentOptions {
  /**
   * Wall clock in ms since the epoch for checkpoint ages (`cleanInactiveAfterMs`,
   * `cleanRemovedAfterMs`). Default: Date.now. Tests pass a fake clock.
   */
  now?: () => number;
}

interface Tracked {
  harvester: Harvester;
  sent: SentBatch;
}

/**
 * The agent: finds files by glob, reads each through a Harvester, ships batches through one
 * Shipper, and checkpoints a stream's offset only when its batches were committed.
 */
export class Agent extends Component {
  readonly config: AgentConfig;
  readonly registry: Registry;
  readonly checkpoints: CheckpointRegistry;
  readonly shipper: Shipper;
  readonly ops: OpsServer;
  /** Collector discovery through ZooKeeper, when `cluster` is configured. */
  readonly discovery: ClusterCollectors | undefined;
  /** Tails from etcd, when `remote` is configured. */
  readonly remote: RemoteTails | undefined;
  /** The `syslog[]` inputs: each spools what it receives to a file tailed by `syslog:<name>`. */
  readonly syslog: readonly SyslogInput[];
  readonly #log: Logger;
  #committedBytes = 0;
  /** Open files by `<device>:<inode>`. */
  readonly #harvesters = new Map<string, Harvester>();
  readonly #batches = new WeakMap<Batch, Tracked>();
  /** Local tails (`local:<i>`) and tails from the control plane (`remote:<id>`). */
  #tails: TailEntry[];
  /** Called for every batch committed end to end (demo and tests measure latency with it). */
  onCommitted: ((batch: Batch) => void) | undefined;
  #firstScan = true;
  #scanTimer: NodeJS.Timeout | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #pumping = false;
  #pumpAgain = false;
  #scanning: Promise<void> | undefined;
  #cursor = 0;
  /** Compressed files skipped (`<device>:<inode>` → format): logged once, not opened again. */
  readonly #compressed = new Map<string, CompressionFormat>();
  /** Copies (copytruncate) whose content was read in full under the original's name. */
  readonly #readCopies = new Set<string>();
  /**
   * Files at a rotated name too short to be told from a new file by their first bytes, not
   * opened yet (`<device>:<inode>` → size when last seen): see #mayBeUnfilledCopy.
   */
  readonly #unfilled = new Map<string, number>();
  #scansStarted = 0;
  #scansCompleted = 0;
  readonly #m;
  /** files.maxOpenFiles, lowered below the process's open-files limit when it is not. */
  readonly #maxOpen: number;
  readonly #fdLimit: number | undefined;
  /** Files found and not opened for want of a descriptor, by id: opened in turn. */
  readonly #deferred = new Map<string, FoundFile & { since: number }>();
  /** Every path the last scan matched (see #open's `names`). */
  #lastNames: ReadonlySet<string> = new Set();
  /** Held while descriptors are given out (scan's opens, #schedule): one at a time. */
  #fdBusy = false;
  #scheduledAt = 0;
  #peakOpen = 0;
  /** Registry lookups taken once for a burst of openings (a scan's, #schedule's). */
  #burst: OpenLookups | undefined;
  /** Problems met on every scan, logged once per subject and state. */
  readonly #notices: ScanNotices;

  /**
   * @param configSource where `config` came from (its file), named in errors about the files
   *   it points to (TLS certificates, the token file)
   */
  constructor(
    config: AgentConfig,
    log: Logger,
    registry?: Registry,
    configSource = 'the agent configuration',
    options: AgentOptions = {},
  ) {
    super(`agent:${config.id}`);
    this.config = config;
    this.#log = childLogger(log, 'agent', { agent: config.id });
    this.registry = registry ?? createMetricsRegistry({ agent: config.id });
    this.#tails = [
      ...config.tails.map((t, i) => tailEntry(`local:${i}`, t, config.lines)),
      ...config.syslog.map((s) => tailEntry(`syslog:${s.name}`, spoolTail(s), config.lines)),
    ];
    const syslogM = config.syslog.length > 0 ? syslogMetrics(this.registry) : undefined;
    this.syslog = config.syslog.map(
      (s) =>
        new SyslogInput(s, this.#log, syslogM as ReturnType<typeof syslogMetrics>, (file) =>
          this.#shippedToEnd(file.device, file.inode, file.size),
        ),
    );
    const reg = [this.registry];
    this.#m = {
      linesRead: new Counter({
        name: 'logrelay_agent_lines_read_total',
        help: 'Lines read from files (re-reads included).',
        registers: reg,
      }),
      bytesRead: new Counter({
        name: 'logrelay_agent_bytes_read_total',
        help: 'Line bytes read from files (re-reads included).',
        registers: reg,
      }),
      linesShipped: new Counter({
        name: 'logrelay_agent_lines_shipped_total',
        help: 'Lines sent to collectors (resends included).',
        registers: reg,
      }),
      bytesShipped: new Counter({
        name: 'logrelay_agent_bytes_shipped_total',
        help: 'Line bytes sent to collectors (resends included).',
        registers: reg,
      }),
      linesAcked: new Counter({
        name: 'logrelay_agent_lines_acked_total',
        help: 'Lines committed by collectors.',
        registers: reg,
      }),
      bytesAcked: new Counter({
        name: 'logrelay_agent_bytes_acked_total',
        help: 'Line bytes committed by collectors.',
        registers: reg,
      }),
      linesRejected: new Counter({
        name: 'logrelay_agent_lines_rejected_total',
        help: 'Lines in batches collectors rejected for good.',
        registers: reg,
      }),
      retries: new Counter({
        name: 'logrelay_agent_retries_total',
        help: 'Batches to send again (retry-after, disconnects).',
        labelNames: ['reason'],
        registers: reg,
      }),
      truncations: new Counter({
        name: 'logrelay_agent_truncations_total',
        help: 'Files seen truncated in place (copytruncate).',
        registers: reg,
      }),
      lostBytes: new Counter({
        name: 'logrelay_agent_truncation_lost_bytes_total',
        help: 'Bytes lost to truncation races before they could be read.',
        registers: reg,
      }),
      longLines: new Counter({
        name: 'logrelay_agent_long_lines_total',
        help: 'Lines longer than lines.maxBytes, by what was done (truncated, skipped).',
        labelNames: ['action'],
        registers: reg,
      }),
      discardedBytes: new Counter({
        name: 'logrelay_agent_long_line_discarded_bytes_total',
        help: 'Bytes dropped from lines longer than lines.maxBytes.',
        registers: reg,
      }),
      linesFiltered: new Counter({
        name: 'logrelay_agent_lines_filtered_total',
        help: 'Lines dropped by a tail’s includeLines/excludeLines (their bytes acknowledged all the same), by tail (resends included).',
        labelNames: ['tail'],
        registers: reg,
      }),
      multilineCut: new Counter({
        name: 'logrelay_agent_multiline_cut_total',
        help: 'Multiline events cut at multiline.maxLines/maxBytes (the rest sent as the next event), by tail.',
        labelNames: ['tail'],
        registers: reg,
      }),
      decodeErrors: new Counter({
        name: 'logrelay_agent_decode_errors_total',
        help: 'Invalid byte sequences in a tail’s encoding, replaced by U+FFFD, by tail.',
        labelNames: ['tail'],
        registers: reg,
      }),
      formatMalformed: new Counter({
        name: 'logrelay_agent_format_malformed_total',
        help: 'Lines not in a tail’s format (cri, docker-json), shipped as they are, by tail (resends included).',
        labelNames: ['tail'],
        registers: reg,
      }),
      partialUnfinished: new Counter({
        name: 'logrelay_agent_partial_lines_unfinished_total',
        help: 'Container lines (cri P/F parts, docker-json chunks) shipped before their last part: longer than lines.maxBytes, interrupted by the other stream, or flushed at the end of the file; their rest is the next record. By tail.',
        labelNames: ['tail'],
        registers: reg,
      }),
      compressedSkipped: new Counter({
        name: 'logrelay_agent_compressed_files_skipped_total',
        help: 'Files skipped because they start with a compression magic number (tails[].compressed: skip), by format.',
        labelNames: ['format'],
        registers: reg,
      }),
      closedFiles: new Counter({
        name: 'logrelay_agent_files_closed_total',
        help:
          'Descriptors closed while the file is kept (reopened when it changes), by reason: ' +
          'inactive (files.closeInactiveMs), turn (given to a file waiting, files.maxOpenFiles).',
        labelNames: ['reason'],
        registers: reg,
      }),
      reopenedFiles: new Counter({
        name: 'logrelay_agent_files_reopened_total',
        help: 'Closed files opened again (identity checked) because they changed or had data left.',
        registers: reg,
      }),
      scanProblems: new Counter({
        name: 'logrelay_agent_scan_problems_total',
        help:
          'Problems met by scans, every occurrence (the log has one line per subject and state): ' +
          'unreadable files and folders, files refused, tails whose scan failed.',
        labelNames: ['kind'],
        registers: reg,
      }),
    };
    this.#notices = new ScanNotices(this.#m.scanProblems);
    const files = () => this.files;
    new Gauge({
      name: 'logrelay_agent_open_files',
      help: 'Files held open (descriptors for reading), at most files.maxOpenFiles.',
      registers: reg,
      collect() {
        this.set(files().open);
      },
    });
    new Gauge({
      name: 'logrelay_agent_files',
      help: 'Files known to the agent, open or closed (idle, or waiting for a descriptor).',
      registers: reg,
      collect() {
        this.set(files().tracked);
      },
    });
    new Gauge({
      name: 'logrelay_agent_files_waiting',
      help: 'Files with data (or not opened yet) waiting for a descriptor (files.maxOpenFiles).',
      registers: reg,
      collect() {
        this.set(files().waiting);
      },
    });
    const limit = openFilesLimit();
    this.#fdLimit = limit;
    this.#maxOpen =
      limit === undefined
        ? config.files.maxOpenFiles
        : Math.max(1, Math.min(config.files.maxOpenFiles, limit - FD_RESERVE));
    const lagSeconds = (h: Harvester, now: number) => this.#lagSeconds(h, now);
    /** Sets one series per open file (after a reset: a closed file's series must go). */
    const perStream = (
      gauge: Gauge<'path' | 'topic'>,
      value: (h: Harvester, now: number) => number,
    ) => {
      gauge.reset();
      const now = Date.now();
      for (const h of this.#harvesters.values())
        gauge.set({ path: h.path, topic: h.opts.topic }, value(h, now));
    };
    new Gauge({
      name: 'logrelay_agent_stream_lag_bytes',
      help: 'Bytes in a file not yet acknowledged end to end (file size minus acked offset), by file.',
      labelNames: ['path', 'topic'],
      registers: reg,
      collect() {
        perStream(this, (h) => Math.max(0, h.knownSize - h.acked));
      },
    });
    new Gauge({
      name: 'logrelay_agent_stream_lag_seconds',
      help: 'Age of the oldest byte of a file not yet acknowledged end to end (0 when caught up), by file.',
      labelNames: ['path', 'topic'],
      registers: reg,
      collect() {
        perStream(this, lagSeconds);
      },
    });
    this.checkpoints = new CheckpointRegistry(config.checkpoint, {
      logger: childLogger(this.#log, 'checkpoint'),
      metrics: this.registry,
      ...(options.now ? { now: options.now } : {}),
    });
    this.shipper = new Shipper(
      {
        agentId: config.id,
        host: config.host,
        version,
        collectors: config.collectors,
        window: config.ship.window,
        retryInitialMs: config.ship.retryInitialMs,
        retryMaxMs: config.ship.retryMaxMs,
        maxMessageBytes: config.ship.maxMessageBytes,
        compression: config.ship.compression,
        keepaliveMs: config.ship.keepaliveMs,
        ackTimeoutMs: config.ship.ackTimeoutMs,
        tls: config.ship.tls,
        token: config.ship.token,
        configSource,
      },
      {
        committed: (batch) => this.#settled(batch, 'committed'),
        rejected: (batch, code, reason) => {
          if (this.#stale(batch)) return;
          if ((code === 'BATCH_TOO_LARGE' || code === 'TOO_MANY_LINES') && this.#shrink(batch)) {
            this.#log.warn(
              { code, reason, path: batch.stream?.path },
              'collector limits are lower than ours: sending smaller batches',
            );
            return;
          }
          this.#log.error(
            { code, reason, path: batch.stream?.path, start: batch.startOffset },
            'batch rejected by collector; its lines are skipped',
          );
          this.#settled(batch, 'rejected');
        },
        retry: (batch, delayMs, reason) => this.#retry(batch, delayMs, reason),
        ready: () => this.#pump(),
      },
      childLogger(this.#log, 'shipper'),
      {
        batches: new Counter({
          name: 'logrelay_agent_batches_total',
          help: 'Batches answered, by result.',
          labelNames: ['result'],
          registers: reg,
        }),
        roundTrip: new Histogram({
          name: 'logrelay_agent_batch_round_trip_seconds',
          help: 'Time from sending a batch to its answer.',
          buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers: reg,
        }),
        connects: new Counter({
          name: 'logrelay_agent_connects_total',
          help: 'Connection attempts to collectors, by result.',
          labelNames: ['collector', 'result'],
          registers: reg,
        }),
      },
    );
    const remote = config.remote;
    this.remote = remote
      ? new RemoteTails(
          {
            etcd: remote.etcd,
            configSource,
            key: remote.etcd.key,
            allow: remote.allow,
            statePath: remote.statePath,
            pollMs: remote.pollMs,
          },
          (tails) => this.setRemoteTails(tails),
          childLogger(this.#log, 'remote'),
        )
      : undefined;
    const cluster = config.cluster;
    this.discovery = cluster
      ? new ClusterCollectors(
          {
            agentId: config.id,
            host: config.host,
            zookeeper: cluster.zookeeper,
            reportIntervalMs: cluster.reportIntervalMs,
            configSource,
          },
          {
            committedBytes: () => this.#committedBytes,
            collector: () => (this.shipper.connected ? this.shipper.collector : ''),
            streams: () => this.streams,
            // The static list, if any, stays as the last resort.
            setCollectors: (addresses) =>
              this.shipper.setCollectors([
                ...addresses,
                ...config.collectors.filter((c) => !addresses.includes(c)),
              ]),
          },
          childLogger(this.#log, 'discovery'),
        )
      : undefined;
    const remoteTails = this.remote;
    const discovery = this.discovery;
    if (remoteTails) {
      new Gauge({
        name: 'logrelay_agent_etcd_connected',
        help: '1 while the last etcd read or watch of remote.etcd.key succeeded.',
        registers: reg,
        collect() {
          this.set(remoteTails.connected ? 1 : 0);
        },
      });
    }
    if (discovery) {
      new Gauge({
        name: 'logrelay_agent_zookeeper_connected',
        help: '1 while the agent holds a ZooKeeper session for collector discovery.',
        registers: reg,
        collect() {
          this.set(discovery.connected ? 1 : 0);
        },
      });
    }
    this.ops = new OpsServer(config.http, this.registry, childLogger(this.#log, 'ops'));
    this.ops.addReadinessCheck('collector', () =>
      this.shipper.connected ? true : `not connected (next: ${this.shipper.collector})`,
    );
  }

  /** Streams being read: for status and tests. */
  get streams(): {
    path: string;
    key: string;
    acked: number;
    inFlight: number;
    size: number;
    /** Age of the oldest unacknowledged byte, in seconds (0 when caught up). */
    lagSeconds: number;
  }[] {
    const now = Date.now();
    return [...this.#harvesters.values()].map((h) => ({
      path: h.path,
      key: h.key,
      acked: h.acked,
      inFlight: h.inFlight.length,
      size: h.knownSize,
      lagSeconds: this.#lagSeconds(h, now),
    }));
  }

  /**
   * Descriptors: files held open now, the most held at once since start, files known (open or
   * closed), and files waiting for a descriptor (closed with data left or seen changed, or found
   * and not opened yet).
   */
  get files(): { open: number; peakOpen: number; tracked: number; waiting: number; max: number } {
    let open = 0;
    let waiting = this.#deferred.size;
    for (const h of this.#harvesters.values()) {
      if (!h.parked) open++;
      else if (h.waitingSince !== undefined) waiting++;
    }
    this.#peakOpen = Math.max(this.#peakOpen, open);
    return {
      open,
      peakOpen: this.#peakOpen,
      tracked: this.#harvesters.size,
      waiting,
      max: this.#maxOpen,
    };
  }

  #openCount(): number {
    let open = 0;
    for (const h of this.#harvesters.values()) if (!h.parked) open++;
    this.#peakOpen = Math.max(this.#peakOpen, open);
    return open;
  }

  #lagSeconds(h: Harvester, now: number): number {
    h.lag.observe(h.knownSize, now);
    return Math.round(h.lag.secondsBehind(h.acked, now) * 1000) / 1000;
  }

  /** Line bytes committed by collectors since start (the weight the cluster balances on). */
  get committedBytes(): number {
    return this.#committedBytes;
  }

  protected async doStart(): Promise<void> {
    await this.checkpoints.start();
    const report = this.checkpoints.loadReport;
    if (report && report.problems.length > 0) {
      this.#log.warn(
        { source: report.source, problems: report.problems },
        'checkpoint registry was damaged; using the last good state',
      );
    }
    if (this.#fdLimit !== undefined && this.config.files.maxOpenFiles > this.#maxOpen) {
      this.#log.warn(
        {
          maxOpenFiles: this.config.files.maxOpenFiles,
          openFilesLimit: this.#fdLimit,
          using: this.#maxOpen,
        },
        `files.maxOpenFiles is not below the process's open-files limit (RLIMIT_NOFILE) minus ${FD_RESERVE} for sockets and the registry: using the lower bound; raise the limit (ulimit -n, LimitNOFILE=) or lower files.maxOpenFiles`,
      );
    }
    // Before the first scan: the spool files exist, and their tails find them at once.
    for (const input of this.syslog) await input.start();
    this.#firstScan = true;
    await this.#scan();
    await this.remote?.start();
    await this.shipper.start();
    await this.discovery?.start();
    await this.ops.start();
    this.#scanTimer = setInterval(() => void this.#scan(), this.config.scanIntervalMs);
    this.#pollTimer = setInterval(() => this.#pump(), this.config.pollIntervalMs);
    this.#log.info(
      { files: this.#harvesters.size, collectors: this.config.collectors },
      'agent started',
    );
  }

  protected async doStop(): Promise<void> {
    // Take no more messages, and put those taken on disk: they are shipped after a restart.
    for (const input of this.syslog) await input.stop();
    clearInterval(this.#scanTimer);
    clearInterval(this.#pollTimer);
    await this.remote?.stop();
    await this.discovery?.stop();
    await this.#scanning;
    await this.shipper.stop();
    while (this.#pumping) await new Promise((r) => setTimeout(r, 5));
    for (const h of this.#harvesters.values()) {
      h.closed = true;
      await h.tailer.close();
    }
    this.#harvesters.clear();
    await this.checkpoints.stop();
    await this.ops.stop();
    this.#log.info('agent stopped');
  }

  #scan(): Promise<void> {
    this.#scanning ??= this.#scanOnce()
      .catch((err: unknown) => this.#log.error({ err }, 'scan failed'))
      .finally(() => {
        this.#scanning = undefined;
      });
    return this.#scanning;
  }

  async #scanOnce(): Promise<void> {
    this.#scansStarted++;
    const seen = new Set<string>();
    // A tail whose scan failed keeps its open files: not seeing them is no sign they are gone.
    const failed = new Set<string>();
    /** New files, opened oldest first once all are known: see #waitsForPredecessor. */
    const found: FoundFile[] = [];
    const names = new Set<string>();
    for (const tail of this.#tails) {
      try {
        await this.#scanTail(tail, seen, found, names);
        if (this.#notices.clear('tail', tail.name))
          this.#log.info({ tail: tail.name }, 'tail scan works again');
      } catch (err) {
        // One bad tail must not stop the others: the scan goes on with the next one.
        failed.add(tail.name);
        this.#tailProblem(tail, err);
      }
    }
    this.#notices.endScan();
    found.sort((a, b) => a.bornMs - b.bornMs);
    this.#lastNames = names;
    // Files found before and still waiting keep their place in the queue; gone ones drop out.
    const deferred = new Map<string, FoundFile & { since: number }>();
    const now = Date.now();
    while (this.#fdBusy) await new Promise((r) => setTimeout(r, 5));
    this.#fdBusy = true;
    try {
      if (found.length > 0) this.#burst = this.#buildLookups();
      let open = this.#openCount();
      for (const f of found) {
        // Opened by #schedule since the scan found it.
        if (failed.has(f.tail.name) || this.#harvesters.has(f.id)) continue;
        const before = this.#deferred.get(f.id);
        // Within files.maxOpenFiles (one descriptor kept for opening); the rest wait their turn.
        if (before || open >= this.#maxOpen || this.#deferred.size > 0) {
          deferred.set(f.id, {
            ...f,
            initial: before?.initial ?? f.initial,
            since: before?.since ?? now,
          });
          continue;
        }
        try {
          await this.#open(f.path, f.tail, f.id, f.bornMs, names);
          if (this.#harvesters.has(f.id)) open++;
        } catch (err) {
          failed.add(f.tail.name);
          this.#tailProblem(f.tail, err);
        }
      }
      this.#deferred.clear();
      for (const [id, f] of deferred) this.#deferred.set(id, f);
    } finally {
      this.#burst = undefined;
      this.#fdBusy = false;
    }
    for (const id of this.#compressed.keys()) if (!seen.has(id)) this.#compressed.delete(id);
    for (const id of this.#readCopies) if (!seen.has(id)) this.#readCopies.delete(id);
    for (const id of this.#unfilled.keys()) if (!seen.has(id)) this.#unfilled.delete(id);
    for (const [id, h] of this.#harvesters) {
      if (!seen.has(id)) {
        h.atLiveName = false;
        if (!failed.has(h.opts.tailName)) {
          h.orphaned = true;
          if (h.parked && !h.closed) await this.#findParked(id, h);
        }
      }
      // A quiet file that still exists must keep its entry: dropped as inactive, it would be
      // read again from its start at the next start.
      if (seen.has(id) && this.checkpoints.running && this.checkpoints.has(h.key))
        this.checkpoints.touch(h.key);
      if (!h.busy) await h.tailer.observeSize();
      // The identity grows while a new generation waits for its predecessor: recorded at once,
      // a restart can tell its content from a later one (the entry was taken of a file just
      // truncated, often empty).
      const entry = this.checkpoints.running ? this.checkpoints.get(h.key) : undefined;
      if (entry && !h.closed && entry.fingerprint !== encodeIdentity(h.identity)) this.#record(h);
      h.lag.observe(h.knownSize, Date.now());
    }
    this.#firstScan = false;
    this.#scansCompleted++;
    this.#pump();
  }

  /**
   * Finds the files of one tail: `seen` collects their ids, `names` every path matched, and
   * `found` the files not open yet (opened by the caller, oldest first across all tails).
   */
  async #scanTail(
    tail: TailEntry,
    seen: Set<string>,
    found: FoundFile[],
    names: Set<string>,
  ): Promise<void> {
    for (const glob of tail.config.paths) {
      const paths = await expandGlob(glob, {
        onUnreadable: (dir, err) =>
          this.#notices.problem('directory', dir, err.code ?? 'unknown', () =>
            this.#log.warn(
              { dir, tail: tail.name, err: err.message },
              'cannot read folder: its files are skipped until it can be read',
            ),
          ),
      });
      for (const path of paths) {
        if (tail.exclude.some((re) => re.test(path))) continue;
        this.#notices.seen('file', path);
        // stat follows symlinks: a retargeted link shows up as another file. Missing is normal
        // (a broken symlink, a file not written yet); anything else is a problem to report.
        const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT' && err.code !== 'ENOTDIR')
            this.#fileProblem(path, err.code ?? 'unknown', err);
          return undefined;
        });
        if (!st?.isFile()) continue;
        names.add(path);
        const id = `${st.dev}:${st.ino}`;
        if (seen.has(id)) continue;
        seen.add(id);
        if (this.#compressed.has(id) || this.#readCopies.has(id)) continue;
        const existing = this.#harvesters.get(id);
        if (existing) {
          // The stream keeps the name it was found under (the live name, before rotation):
          // it is the Kafka key, so every generation of a rotated file stays in one partition.
          existing.orphaned = false;
          existing.atLiveName = path === existing.keyPath;
          existing.seenPath = path;
          if (existing.parked) this.#sawParked(existing, st.size, st.mtimeMs);
          continue;
        }
        // A cheap first filter only: the guarantee is the check of the opened descriptor.
        if (tail.allow && !(await insideRoots(path, tail.allow))) {
          this.#refuse(tail, path);
          continue;
        }
        found.push({
          path,
          tail,
          id,
          bornMs: st.birthtimeMs || st.mtimeMs,
          initial: this.#firstScan,
        });
      }
    }
  }

  /**
   * A scan saw a closed (parked) file: it waits for a descriptor when its size or mtime changed
   * since it was closed (it grew, or was truncated: the reopened tailer tells which), or when it
   * was rotated away with a partial last line held (to be sent once idle).
   */
  #sawParked(h: Harvester, size: number, mtimeMs: number): void {
    h.parkedMtimeMs ??= mtimeMs;
    h.seenSize = size;
    if (h.waitingSince !== undefined) return;
    if (
      h.parkedBacklog ||
      size !== h.parkedSize ||
      mtimeMs !== h.parkedMtimeMs ||
      (h.orphaned && h.resumeAt < size)
    )
      h.waitingSince = Date.now();
  }

  /**
   * A closed file no glob matches any more (rotated away, or deleted while closed): looked for
   * at the rotated names of its key path and of its last path (`app.log.1`), by device and inode,
   * so what it got before the rotation is still read. Not found: it is gone, and forgotten like
   * a finished file (what was written to it after it was closed and not read is lost, as it
   * would be for any reader that was not holding it open).
   */
  async #findParked(id: string, h: Harvester): Promise<void> {
    const candidates = [
      ...(await rotatedFiles(h.keyPath)),
      ...(h.seenPath !== h.keyPath ? await rotatedFiles(h.seenPath) : []),
      // A link's target renamed aside (the kubelet's rotation of 0.log behind its link).
      ...(h.realPath !== h.keyPath && h.realPath !== h.seenPath
        ? await rotatedFiles(h.realPath)
        : []),
    ];
    const at = candidates.find((c) => `${c.dev}:${c.ino}` === id);
    if (at) {
      h.seenPath = at.path;
      const st = await stat(at.path).catch(() => undefined);
      if (st && `${st.dev}:${st.ino}` === id) {
        this.#sawParked(h, st.size, st.mtimeMs);
        // Unchanged and idle: finished, as an open file read to its end would be.
        if (
          h.waitingSince !== undefined ||
          Date.now() - h.lastDataAt < this.config.lines.partialFlushMs
        )
          return;
      }
    }
    if (h.waitingSince !== undefined && h.resumeAt < h.parkedSize) {
      this.#log.warn(
        { path: h.path, unread: h.parkedSize - h.resumeAt },
        'file removed while closed and waiting for a descriptor: its unread bytes are lost',
      );
      this.#m.lostBytes.inc(h.parkedSize - h.resumeAt);
    }
    h.closed = true;
    this.#harvesters.delete(id);
    if (this.checkpoints.running && this.checkpoints.has(h.key))
      this.checkpoints.markRemoved(h.key);
    this.#log.info(
      { path: h.path, offset: h.acked },
      'finished closed file (rotated away or deleted)',
    );
  }

  /**
   * What a harvester of a tail is made with: the agent's batching, the tail's topic, and the
   * fields its batches carry — the tail's static ones, and those its file's path gives
   * (Kubernetes log paths: pod, namespace, container), made once per file.
   */
  #harvesterOptions(tailEntry: TailEntry, keyPath: string): HarvesterOptions {
    return {
      agentId: this.config.id,
      host: this.config.host,
      topic: tailEntry.config.topic,
      tailName: tailEntry.name,
      maxBatchBytes: this.config.batch.maxBytes,
      maxBatchLines: this.config.batch.maxLines,
      partialFlushMs: this.config.lines.partialFlushMs,
      maxWaitMs: this.config.batch.maxWaitMs,
      records: tailEntry.records,
      fields: batchFields(
        tailEntry.config.fields,
        kubernetesFieldsFor(tailEntry.config, keyPath) as BatchFields | undefined,
      ),
    };
  }

  /** A tail whose scan (or the opening of one of its files) failed: logged once per state. */
  #tailProblem(tail: TailEntry, err: unknown): void {
    const error = RelayError.from(err);
    this.#notices.problem('tail', tail.name, `${error.code}:${error.message}`, () =>
      this.#log.error(
        { tail: tail.name, paths: tail.config.paths, err: error },
        'scan of a tail failed; the other tails go on',
      ),
    );
  }

  /**
   * Replaces the tails that came from the control plane. Files of tails that were removed or
   * stopped are closed at once (their acked offsets stay in the registry, so a tail started
   * again resumes where it stopped); new tails are picked up by an immediate scan.
   */
  async setRemoteTails(
    remote: readonly { name: string; config: TailConfig; allow: readonly string[] }[],
  ): Promise<void> {
    const local = this.#tails.filter((t) => !t.name.startsWith('remote:'));
    this.#tails = [
      ...local,
      ...remote.map((r) => tailEntry(r.name, r.config, this.config.lines, r.allow)),
    ];
    const keep = new Map(this.#tails.map((t) => [t.name, t]));
    for (const [id, h] of this.#harvesters) {
      const tail = keep.get(h.opts.tailName);
      if (tail && tail.config.topic === h.opts.topic) continue;
      h.closed = true;
      this.#harvesters.delete(id);
      while (h.busy) await new Promise((r) => setTimeout(r, 5));
      await h.tailer.close();
      this.#log.info(
        { path: h.path, tail: h.opts.tailName, offset: h.acked },
        'tail stopped: file closed',
      );
    }
    if (this.running) await this.#scan();
  }

  /**
   * @param bornMs the file's birth time (its mtime where none is kept), ms
   * @param names every path the scan found: a generation the registry does not know is keyed
   *   by the live name among them it was rotated from (`app.log.2` → `app.log`)
   */
  async #open(
    path: string,
    tailEntry: TailEntry,
    id: string,
    bornMs: number,
    names: ReadonlySet<string>,
    initial = this.#firstScan,
  ): Promise<void> {
    // Opened meanwhile as the copy of a truncated file (see #continueFromCopy).
    if (this.#harvesters.has(id)) return;
    const tail = tailEntry.config;
    const [device = '', inode = ''] = id.split(':');
    // Opened by path, checked against the file the scan stat-ed: if the path was rotated in
    // between, the new file must not inherit the old one's offset (nor be read twice).
    const expect = { dev: Number(device), ino: Number(inode) };
    // The newest registry entry for this device + inode says where to resume and which generation.
    const entries = this.#lookups().byInode.get(id) ?? [];
    const generations = entries.map((e) => ({
      entry: e,
      generation: Number(e.key.split(':').pop()),
    }));
    const latest = generations.sort(
      (a, b) => b.entry.updatedAt - a.entry.updatedAt || b.generation - a.generation,
    )[0];
    const maxGeneration = Math.max(-1, ...generations.map((g) => g.generation));
    const lineOpts = {
      fingerprintBytes: this.config.fingerprintBytes,
      maxLineBytes: this.config.lines.maxBytes,
      onLongLine: this.config.lines.onTooLong,
      chunkBytes: 256 * 1024,
      // A remote tail's file is verified on its descriptor, after open and before any read.
      ...(tailEntry.allow ? { confine: tailEntry.allow } : {}),
    } as const;
    let start: number | 'end' = initial && tail.startAt === 'end' ? 'end' : 0;
    // The key path carries over to the same file (resumed, or truncated in place), never to
    // another file that reuses a removed one's inode.
    let keyPath = path;
    let tailer = await this.#openTailer(path, { ...lineOpts, start: 0, expect }, tailEntry);
    if (!tailer) return;
    if (tail.compressed === 'skip') {
      const format = compressionOf((await tailer.probe()).prefix);
      if (format) {
        await tailer.close();
        this.#skipCompressed(id, path, format);
        return;
      }
    }
    // Set when the registry knows the file's line; otherwise a first generation, below.
    let generation: number | undefined;
    // Set when this file is a copytruncate copy read as the rest of another file's stream.
    let continues: InodeRef | undefined;
    if (latest) {
      const identity = decodeIdentity(
        latest.entry.device,
        latest.entry.inode,
        latest.entry.fingerprint,
      );
      // An identity too short to recognise its content (taken when the file was empty or nearly,
      // just after a truncation) matches whatever the file holds now: copytruncate copies born
      // since tell whether that content was copied away while the agent was down.
      const since =
        identity !== undefined && !canMatchCopies(identity)
          ? await this.#copiesSince(tailEntry, latest.entry, identity, id)
          : [];
      const decision: ResumeDecision | undefined =
        since.length > 0
          ? { action: 'restart', reason: 'truncated' }
          : identity
            ? decideResume({ identity, offset: latest.entry.offset }, await tailer.probe(identity))
            : undefined;
      if (decision?.action === 'resume') {
        start = decision.offset;
        generation = latest.generation;
        keyPath = latest.entry.keyPath;
        continues = continuedStream(latest.entry.key, id);
      } else {
        // Truncated (or truncated and written past the old length) while the agent was down: the
        // rest of the old content is read from the rotated copy, if there is one.
        const copied =
          identity !== undefined &&
          (await this.#continueFromCopy(
            path,
            tailEntry,
            { key: latest.entry.key, identity, generation: latest.generation },
            latest.entry.offset,
            latest.entry.keyPath,
            id,
            since[0],
          ));
        // Generations copied and truncated after that one, while the agent was down, are the
        // copies born since (at rotated names of the same file): read them too, in turn.
        if (typeof copied === 'object')
          await this.#openLaterCopies(tailEntry, latest.entry.keyPath, copied.bornMs, names);
        const truncated =
          copied || (decision?.action === 'restart' && decision.reason === 'truncated');
        start = 0;
        // The same file truncated in place: the next generation of its line, under its key
        // path. Another file on the inode: a first generation, never used before.
        if (truncated) {
          keyPath = latest.entry.keyPath;
          generation = maxGeneration + 1;
        }
        const reason = decision?.action === 'restart' ? decision.reason : 'unknown identity';
        if (truncated && !copied) {
          // Lines written after the checkpoint and before the truncation were never seen: they
          // cannot be counted, only reported.
          this.#log.warn(
            { path, reason, acked: latest.entry.offset },
            'file truncated while the agent was down and no copy of its old content found: lines after the acknowledged offset are lost',
          );
        } else {
          this.#log.info(
            { path, reason, fromCopy: copied !== false },
            'file content restarted: reading from 0 as a new generation',
          );
        }
      }
    }
    if (generation === undefined && !latest) {
      if (this.#mayBeUnfilledCopy(path, id, tailer.size, tail.topic, names)) {
        await tailer.close();
        return;
      }
      const copy = await this.#asCopy(tailer, id);
      if (copy === 'wait' || copy === 'read') {
        await tailer.close();
        if (copy === 'read') this.#readCopies.add(id);
        return;
      }
      if (copy) {
        start = Math.min(copy.offset, tailer.size);
        generation = copy.generation;
        keyPath = copy.keyPath;
        continues = copy.continues;
        this.#log.info(
          { path, of: copy.keyPath, offset: start },
          'copy of a truncated file (copytruncate): reading the rest of its old content',
        );
      }
    }
    if (generation === undefined) keyPath = this.#liveName(path, tail.topic, names);
    // Only a file without a known line pays for the birth-time stat.
    generation ??= firstGeneration(
      tailer.identity.fingerprint,
      await birthtimeOf(path, tailer.identity),
    );
    if (start !== 0 || generation !== 0) {
      await tailer.close();
      tailer = await this.#openTailer(path, { ...lineOpts, start, generation, expect }, tailEntry);
      if (!tailer) return;
    }
    const harvester = new Harvester(
      this.#harvesterOptions(tailEntry, keyPath ?? path),
      tailer,
      path,
      tailer.position,
      // Every generation of the file keeps the name it was first recorded under.
      keyPath,
      continues,
    );
    harvester.realPath = await realpath(path).catch(() => path);
    this.#restoreCuts(harvester);
    // The tail may have been stopped while the file was being opened (a scan that began before
    // the control plane's change): opening it now would read a file nobody asked for any more.
    const current = this.#tails.find((t) => t.name === tailEntry.name);
    if (!current || current.config.topic !== tail.topic || this.#harvesters.has(id)) {
      await tailer.close();
      return;
    }
    harvester.bornMs = bornMs;
    harvester.atLiveName = path === keyPath;
    // A later scan may find a generation of this file that this one missed (renamed between the
    // directory listing and the stat): wait for one more scan before reading after a rotation.
    const lookups = this.#lookups();
    const hasGeneration = lookups.live.has(lineOf(harvester));
    if (!initial && hasGeneration) harvester.holdUntilScan = this.#scansStarted + 1;
    this.#harvesters.set(id, harvester);
    this.#track(harvester);
    // Recorded at once, not at the first ack: a new file after a rotation is not read until its
    // predecessor is finished, and if it is renamed away before a restart, its entry is the only
    // place its first name (its key path) survives.
    if (this.checkpoints.running && !this.checkpoints.get(harvester.key)) this.#record(harvester);
    this.#log.info({ path, offset: harvester.acked, generation }, 'tailing file');
  }

  /**
   * Whether a file a scan found at a rotated name (`app.log.1`), unknown to the registry, may be
   * a copytruncate copy that is still being filled: the copier creates it empty and then writes
   * the content, and until it holds a fingerprint's worth of bytes #asCopy cannot match it with
   * the content it copies. Read as a new file, it would send that content again. Such a file is
   * left to the next scan while it is empty or its size changed since the last one; a file that
   * stays that short is a small file of its own, read from the scan after.
   */
  #mayBeUnfilledCopy(
    path: string,
    id: string,
    size: number,
    topic: string,
    names: ReadonlySet<string>,
  ): boolean {
    // Only a file the scans match comes back to a later one.
    if (size >= this.config.fingerprintBytes || !names.has(path)) return false;
    if (this.#liveName(path, topic, names) === path) return false;
    const before = this.#unfilled.get(id);
    if (size > 0 && before === size) {
      this.#unfilled.delete(id);
      return false;
    }
    this.#unfilled.set(id, size);
    return true;
  }

  /**
   * A file the registry does not know, looked at as a possible copytruncate copy: its first
   * bytes are those of content already read. `wait` while that content is still being read from
   * the original (the truncation will find the copy); `read` when everything the copy holds was
   * acknowledged; otherwise where to continue that content's stream, or undefined (a new file).
   */
  async #asCopy(
    tailer: FileTailer,
    id: string,
  ): Promise<
    | 'wait'
    | 'read'
    | { offset: number; generation: number; keyPath: string; continues: InodeRef }
    | undefined
  > {
    const size = tailer.size;
    const prefix = (await tailer.probe()).prefix;
    // One hash per prefix length, whatever the number of files compared with.
    const hashes = new Map<number, string>();
    const hashOf = (length: number) => {
      let hash = hashes.get(length);
      if (hash === undefined) {
        hash = hashPrefix(prefix.subarray(0, length));
        hashes.set(length, hash);
      }
      return hash;
    };
    const same = (known: Readonly<FileIdentity>) =>
      canMatchCopies(known) &&
      known.prefixLength <= prefix.length &&
      hashOf(known.prefixLength) === known.prefixHash;
    for (const h of this.#harvesters.values()) {
      if (
        (!h.continues && same(h.tailer.identityView)) ||
        (h.previous && same(h.previous.identity))
      )
        return 'wait';
    }
    let best:
      { offset: number; generation: number; keyPath: string; continues: InodeRef } | undefined;
    const lookups = this.#lookups();
    const candidates = [...lookups.prefixLengths]
      .filter((length) => length <= prefix.length)
      .flatMap((length) => lookups.byPrefix.get(`${length}/${hashOf(length)}`) ?? []);
    for (const e of candidates) {
      if (`${e.device}:${e.inode}` === id) continue;
      const [device, inode, generation] = e.key.split(':').slice(-3).map(Number);
      if (device === undefined || inode === undefined || generation === undefined) continue;
      if ([...this.#harvesters.values()].some((h) => h.key === e.key)) return 'wait';
      if (!best || e.offset > best.offset)
        best = { offset: e.offset, generation, keyPath: e.keyPath, continues: { device, inode } };
    }
    if (best && best.offset >= size) {
      this.#log.debug({ path: tailer.path, of: best.keyPath }, 'copy already read: skipped');
      return 'read';
    }
    return best;
  }

  /**
   * Reads the rest of a truncated file's old content (acknowledged up to `acked`) from its
   * rotated copy in the same folder, under the old content's stream key, so nothing written
   * before the truncation is lost and nothing delivered is sent twice. False when no copy
   * holds it (or one is already being read).
   */
  async #continueFromCopy(
    path: string,
    tailEntry: TailEntry,
    old: { key: string; identity: FileIdentity; generation: number },
    acked: number,
    keyPath: string,
    liveId: string,
    known?: FoundCopy,
  ): Promise<FoundCopy | boolean> {
    for (const h of this.#harvesters.values()) if (h.key === old.key && h.continues) return true;
    // A rotation may rename the copy between the search and the open (`app.log.1` →
    // `app.log.2`): the open is refused (another file has the name) and the copy is looked for
    // again, under its new name.
    for (let attempt = 1; ; attempt++) {
      const copy =
        known ??
        (await findCopy(
          dirname(path),
          old.identity,
          (id) => id === liveId || this.#harvesters.has(id) || this.#compressed.has(id),
        ));
      if (!copy || copy.size < acked) return false;
      if (tailEntry.allow && !(await insideRoots(copy.path, tailEntry.allow))) return false;
      const tailer = await this.#openTailer(
        copy.path,
        {
          fingerprintBytes: this.config.fingerprintBytes,
          maxLineBytes: this.config.lines.maxBytes,
          onLongLine: this.config.lines.onTooLong,
          chunkBytes: 256 * 1024,
          start: acked,
          generation: old.generation,
          expect: { dev: copy.dev, ino: copy.ino },
          ...(tailEntry.allow ? { confine: tailEntry.allow } : {}),
        },
        tailEntry,
      );
      if (tailer) return await this.#readCopy(tailer, tailEntry, copy, old, acked, keyPath, path);
      if (known || attempt >= COPY_OPEN_ATTEMPTS) return false;
    }
  }

  /** The copy opened by #continueFromCopy, read as the rest of the old content's stream. */
  async #readCopy(
    tailer: FileTailer,
    tailEntry: TailEntry,
    copy: FoundCopy,
    old: { identity: FileIdentity },
    acked: number,
    keyPath: string,
    path: string,
  ): Promise<FoundCopy> {
    // Opened meanwhile by a scan (a glob that matches the copies): read once, by that harvester.
    if (this.#harvesters.has(`${copy.dev}:${copy.ino}`)) {
      await tailer.close();
      return copy;
    }
    const harvester = new Harvester(
      this.#harvesterOptions(tailEntry, keyPath),
      tailer,
      copy.path,
      acked,
      keyPath,
      { device: old.identity.device, inode: old.identity.inode },
    );
    this.#restoreCuts(harvester);
    harvester.bornMs = copy.bornMs;
    harvester.atLiveName = false;
    this.#harvesters.set(`${copy.dev}:${copy.ino}`, harvester);
    this.#track(harvester);
    if (this.checkpoints.running) this.#record(harvester);
    this.#log.info(
      { path: copy.path, of: path, offset: acked, size: copy.size },
      'file truncated in place (copytruncate): reading the rest of its old content from its copy',
    );
    return copy;
  }

  /**
   * The copytruncate copies of the content a registry entry names, when its identity is too short
   * to find them by their first bytes: the files at rotated names of its key path that the
   * registry does not know, born after the newest one it knows (the previous content's copy; the
   * entry's last update when it knows none), oldest first. The first is that content's copy, the
   * others those of the contents after it, all copied while the agent was down. Empty when there
   * are none, or when the first does not start with the entry's bytes or is shorter than what was
   * acknowledged (then it cannot be that content's copy).
   */
  async #copiesSince(
    tailEntry: TailEntry,
    entry: CheckpointEntry,
    identity: FileIdentity,
    liveId: string,
  ): Promise<FoundCopy[]> {
    const registered = this.checkpoints.running ? this.checkpoints.entries() : [];
    const knownIds = new Set(registered.map((e) => `${e.device}:${e.inode}`));
    const sameLine = new Set(
      registered
        .filter((e) => e.keyPath === entry.keyPath && e.topic === entry.topic)
        .map((e) => `${e.device}:${e.inode}`),
    );
    let afterMs: number | undefined;
    const unknown: FoundCopy[] = [];
    for (const file of await rotatedFiles(entry.keyPath)) {
      const id = `${file.dev}:${file.ino}`;
      if (sameLine.has(id)) afterMs = Math.max(afterMs ?? 0, file.bornMs);
      if (id === liveId || knownIds.has(id) || this.#harvesters.has(id) || this.#compressed.has(id))
        continue;
      if (tailEntry.allow && !(await insideRoots(file.path, tailEntry.allow))) continue;
      unknown.push(file);
    }
    const since = afterMs ?? entry.updatedAt;
    const copies = unknown.filter((c) => c.bornMs > since).sort((a, b) => a.bornMs - b.bornMs);
    const first = copies[0];
    if (!first || first.size < entry.offset) return [];
    return (await startsWith(first.path, identity)) ? copies : [];
  }

  /**
   * Files at rotated names of `keyPath` in its folder, born after `afterMs` (the copy of the
   * last content the agent knew), opened oldest first: the generations copied and truncated
   * while the agent was down, which a glob of the live name alone does not match.
   */
  async #openLaterCopies(
    tailEntry: TailEntry,
    keyPath: string,
    afterMs: number,
    names: ReadonlySet<string>,
  ): Promise<void> {
    const later: { path: string; id: string; bornMs: number }[] = [];
    for (const { path, dev, ino, bornMs } of await rotatedFiles(keyPath)) {
      const id = `${dev}:${ino}`;
      if (bornMs <= afterMs || this.#harvesters.has(id) || this.#compressed.has(id)) continue;
      if (tailEntry.allow && !(await insideRoots(path, tailEntry.allow))) continue;
      later.push({ path, id, bornMs });
    }
    if (later.length === 0) return;
    this.#log.info(
      { path: keyPath, copies: later.map((l) => l.path) },
      'copies made while the agent was down (copytruncate): reading them in turn',
    );
    later.sort((a, b) => a.bornMs - b.bornMs);
    for (const l of later) await this.#open(l.path, tailEntry, l.id, l.bornMs, names);
  }

  /**
   * Once every batch of a truncated file's old content was answered: the rest of that content
   * is read from the copy, or, with no copy, counted as lost.
   */
  async #settlePrevious(h: Harvester): Promise<void> {
    const prev = h.previous;
    if (!prev || prev.inFlight.length > 0) return;
    const tail = this.#tails.find((t) => t.name === h.opts.tailName);
    const id = `${h.identity.device}:${h.identity.inode}`;
    const copy = tail
      ? await this.#continueFromCopy(
          h.path,
          tail,
          { key: prev.key, identity: prev.identity, generation: prev.generation },
          prev.acked,
          h.keyPath,
          id,
        )
      : false;
    h.previous = undefined;
    // With the copy, only what was seen in the file beyond the copy's end is gone (written
    // between the copy and the truncation); without it, everything not acknowledged.
    const lost =
      copy === false
        ? Math.max(prev.seenSize, prev.readEnd) - prev.acked
        : copy === true
          ? 0
          : Math.max(0, prev.seenSize - copy.size);
    if (lost > 0) {
      this.#m.lostBytes.inc(lost);
      this.#log.warn(
        {
          path: h.path,
          lostBytes: lost,
          from: prev.acked,
          prefixBytes: prev.identity.prefixLength,
          copy: copy === false ? undefined : true,
        },
        copy === false
          ? 'file truncated in place and no copy of its old content found: unread bytes lost'
          : 'file truncated in place: bytes written after its copy was made are lost',
      );
    }
  }

  /**
   * A generation that began with a truncation at run time is read from its first byte, and its
   * identity is taken then, or later while it waits for its predecessor: if the file was empty
   * (or nearly) then, that content can be copied away and truncated, and the next one written,
   * before the harvester gets to look: it would take the next content for its own, and the one
   * in between, in a copy that no first bytes known lead to, would never be read. So until the
   * generation's first byte is read, and whenever the file changed since the last look: a file
   * at a rotated name of its key path, unknown, born since the content before was last seen,
   * and not a copy of what the file holds now (the current content, copied and not truncated
   * yet) is that content. The same holds when the file was copied and truncated twice between
   * two reads, whatever its identity: the content in between is only in its copy. It is read from its start as this generation, and the file from 0 as the next one.
   */
  async #missedContents(h: Harvester): Promise<void> {
    const since = h.generationStartedAt;
    if (since === undefined) return;
    if (h.tailer.position > 0 || h.inFlight.length > 0 || h.continues || h.previous) {
      if (h.tailer.position > 0 || h.continues) h.generationStartedAt = undefined;
      return;
    }
    const live = await h.tailer.probe();
    const mark = `${live.size}/${hashPrefix(live.prefix)}`;
    if (mark === h.missedCheckedAt) return;
    h.missedCheckedAt = mark;
    const liveId = `${live.device}:${live.inode}`;
    const known = new Set(
      (this.checkpoints.running ? this.checkpoints.entries() : []).map(
        (e) => `${e.device}:${e.inode}`,
      ),
    );
    const copies = (await rotatedFiles(h.keyPath))
      .filter((f) => {
        const id = `${f.dev}:${f.ino}`;
        return (
          f.bornMs > since &&
          f.size > 0 &&
          id !== liveId &&
          !known.has(id) &&
          !this.#harvesters.has(id) &&
          !this.#compressed.has(id)
        );
      })
      .sort((a, b) => a.bornMs - b.bornMs);
    for (const copy of copies) {
      const prefix = await firstBytes(copy.path, this.config.fingerprintBytes);
      if (!prefix || prefix.length === 0) continue;
      const n = Math.min(prefix.length, live.prefix.length);
      if (n > 0 && prefix.subarray(0, n).equals(live.prefix.subarray(0, n))) continue;
      const tail = this.#tails.find((t) => t.name === h.opts.tailName);
      if (!tail) return;
      const identity = identityOf(
        { device: h.identity.device, inode: h.identity.inode, size: copy.size, prefix },
        this.config.fingerprintBytes,
      );
      const read = await this.#continueFromCopy(
        h.path,
        tail,
        { key: h.key, identity, generation: h.generation },
        0,
        h.keyPath,
        liveId,
        copy,
      );
      if (read === false) return;
      this.#log.info(
        { path: h.path, copy: copy.path, generation: h.generation },
        'content copied and truncated before it was read (copytruncate): reading it from its copy',
      );
      // What the file holds now is the next content: a new generation, read after the copy.
      h.tailer.endContent();
      return;
    }
  }

  /** The live name a file unknown to the registry was rotated from, or its own path. */
  #liveName(path: string, topic: string, names: ReadonlySet<string>): string {
    // A live name is `path` cut before a rotation suffix's separator (`.`, `-`, `_`): only
    // those prefixes are looked up, among the paths found and the key paths known.
    const keyPaths = this.#lookups().keyPaths.get(topic);
    const candidates: string[] = [];
    const base = dirname(path).length + 1;
    for (let i = base + 1; i < path.length; i++) {
      const c = path.charCodeAt(i);
      if (c !== 0x2e && c !== 0x2d && c !== 0x5f) continue;
      const name = path.slice(0, i);
      if (names.has(name) || keyPaths?.has(name)) candidates.push(name);
    }
    return liveNameOf(path, candidates);
  }

  /** The burst's lookups, or fresh ones (opening one file outside a burst). */
  #lookups(): OpenLookups {
    return this.#burst ?? this.#buildLookups();
  }

  /**
   * Registry entries by file and by first bytes, key paths by topic (recorded and being read),
   * and the lines being read: what #open, #asCopy and #liveName look up for every file opened.
   * Taken once for a burst of openings, where a registry of thousands of entries would else be
   * read through for each file. Within a burst the registry changes only by the files opened
   * (their entries are of files already read: #track adds them to what is looked up).
   */
  #buildLookups(): OpenLookups {
    const lookups: OpenLookups = {
      byInode: new Map(),
      byPrefix: new Map(),
      prefixLengths: new Set(),
      keyPaths: new Map(),
      live: new Set(),
    };
    for (const e of this.checkpoints.running ? this.checkpoints.entries() : []) {
      const id = `${e.device}:${e.inode}`;
      const same = lookups.byInode.get(id);
      if (same) same.push(e);
      else lookups.byInode.set(id, [e]);
      const known = decodeIdentity(e.device, e.inode, e.fingerprint);
      if (known && canMatchCopies(known)) {
        const key = `${known.prefixLength}/${known.prefixHash}`;
        const list = lookups.byPrefix.get(key);
        if (list) list.push(e);
        else lookups.byPrefix.set(key, [e]);
        lookups.prefixLengths.add(known.prefixLength);
      }
      addKeyPath(lookups, e.topic, e.keyPath);
    }
    for (const h of this.#harvesters.values()) {
      addKeyPath(lookups, h.opts.topic, h.keyPath);
      lookups.live.add(lineOf(h));
    }
    return lookups;
  }

  /** A file now read, added to the burst's lookups. */
  #track(h: Harvester): void {
    if (!this.#burst) return;
    addKeyPath(this.#burst, h.opts.topic, h.keyPath);
    this.#burst.live.add(lineOf(h));
  }

  /**
   * The tailer, or undefined (logged) when the file cannot be opened, was rotated meanwhile, or
   * turned out to lie outside the tail's allowed roots.
   */
  async #openTailer(
    path: string,
    options: FileTailerOptions,
    tail: TailEntry,
  ): Promise<FileTailer | undefined> {
    try {
      const wide = wideByteOrder(tail.config.encoding);
      const tailer = await FileTailer.open(path, wide ? { ...options, wide } : options);
      // A refusal stays while the path exists: a symlink flipped in and out of the roots is
      // logged once, not at every flip.
      if (this.#notices.state('file', path) !== REFUSED_STATE && this.#notices.clear('file', path))
        this.#log.info({ path }, 'file opened after earlier problems');
      return tailer;
    } catch (err) {
      const error = RelayError.from(err);
      if (error.code === TailErrorCode.Replaced) {
        this.#log.debug({ path }, 'file rotated while being opened; the next scan finds both');
      } else if (error.code === TailErrorCode.OutsideRoots) {
        this.#refuse(tail, path);
      } else {
        const errno = error.details?.['errno'];
        this.#fileProblem(path, typeof errno === 'string' ? errno : error.code, error);
      }
      return undefined;
    }
  }

  /**
   * A file that cannot be opened (or stat-ed) is tried again at every scan: warned about once
   * per file and state (EACCES, then EIO, ...), every occurrence counted.
   */
  #fileProblem(path: string, state: string, err: unknown): void {
    this.#notices.problem('file', path, state, () =>
      this.#log.warn(
        { path, err },
        'cannot open file: retried at every scan, logged again only when this changes',
      ),
    );
  }

  /**
   * A file of a remote tail leads outside `remote.allow`: nothing of it is read. Logged once per
   * file (every refusal is counted), and reported at the tail's status key every time, so the
   * status says refused for as long as the file is.
   */
  #refuse(tail: TailEntry, path: string): void {
    this.#notices.problem('file', path, REFUSED_STATE, () =>
      this.#log.warn(
        { path, tail: tail.name },
        'refused: the file is outside the allowed roots (symlink?)',
      ),
    );
    this.remote?.noteRefused(tail.name, path, OUTSIDE_ROOTS_REASON);
  }

  /** Sends batches while the window has room, round-robin over files with data. */
  #pump(): void {
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    if (!this.running && this.state !== 'starting') return;
    this.#pumping = true;
    void this.#pumpLoop().finally(() => {
      this.#pumping = false;
      if (this.#pumpAgain) {
        this.#pumpAgain = false;
        this.#pump();
      }
    });
  }

  async #pumpLoop(): Promise<void> {
    await this.#schedule(Date.now());
    let idleRounds = 0;
    while (this.shipper.canSend && idleRounds < 1) {
      // Closed files are not read; generations of one key path are looked up together.
      const harvesters = [...this.#harvesters.values()].filter((h) => !h.parked);
      if (harvesters.length === 0) return;
      const lines = this.#byKeyPath();
      let sentAny = false;
      let i = 0;
      for (; i < harvesters.length && this.shipper.canSend; i++) {
        const h = harvesters[(this.#cursor + i) % harvesters.length] as Harvester;
        const now = Date.now();
        if (
          !h.ready(now) ||
          h.holdUntilScan > this.#scansCompleted ||
          this.#waitsForPredecessor(h, lines)
        )
          continue;
        h.busy = true;
        try {
          if (h.previous?.inFlight.length === 0) {
            await this.#settlePrevious(h);
            // The copy, if found, is read first.
            if (this.#waitsForPredecessor(h, this.#byKeyPath())) continue;
          }
          if (h.generationStartedAt !== undefined) await this.#missedContents(h);
          const generation = h.generation;
          // A read looks at the file (nothing is read while an old generation is settled).
          const looks = h.previous === undefined;
          const next = await h.nextBatch(now);
          if (h.generation !== generation) {
            // Contents copied and truncated since the old one was last seen are looked for (see
            // #missedContents); kept when no byte of the generation that ended was read.
            h.generationStartedAt ??= h.contentSeenAt ?? now;
            h.missedCheckedAt = undefined;
            h.lag.reset();
            // Recorded at once: the old content's entry may soon name its copy instead (see
            // #continueFromCopy), and a restart must still find this file's line.
            if (this.checkpoints.running && !this.checkpoints.get(h.key)) this.#record(h);
            this.#m.truncations.inc();
            this.#log.info(
              {
                path: h.path,
                generation: h.generation,
                cause: h.previous?.cause,
                readTo: h.previous?.readEnd,
                seenSize: h.previous?.seenSize,
              },
              'file truncated in place: reading from 0',
            );
          }
          if (looks) h.contentSeenAt = now;
          const longLines = h.takeLongLineCounts();
          if (longLines.truncated > 0)
            this.#m.longLines.inc({ action: 'truncated' }, longLines.truncated);
          if (longLines.skipped > 0)
            this.#m.longLines.inc({ action: 'skipped' }, longLines.skipped);
          if (longLines.discardedBytes > 0) this.#m.discardedBytes.inc(longLines.discardedBytes);
          if (h.opts.records !== undefined) this.#countRecords(h);
          if (h.lostBytes > 0) {
            this.#m.lostBytes.inc(h.lostBytes);
            h.lostBytes = 0;
          }
          h.lag.observe(h.tailer.size, now);
          if (next && this.#isCompressed(h, next.batch)) {
            await this.#dropCompressed(h, next.batch);
            continue;
          }
          if (next?.sent.forced === true) await this.#persistCuts(h);
          if (next) {
            const lines = next.batch.lineLengths.length;
            this.#m.linesRead.inc(lines);
            this.#m.bytesRead.inc(next.batch.lines.length);
            this.#batches.set(next.batch, { harvester: h, sent: next.sent });
            this.#m.linesShipped.inc(lines);
            this.#m.bytesShipped.inc(next.batch.lines.length);
            this.shipper.send(next.batch);
            sentAny = true;
          } else {
            await this.#maybeFinish(h);
          }
        } catch (err) {
          this.#log.error({ path: h.path, err }, 'reading failed; will retry');
          h.pausedUntil = Date.now() + 1000;
        } finally {
          h.busy = false;
        }
      }
      // The next round starts after the last file visited (round-robin): with thousands of files,
      // starting one further each time would visit the same quiet files after every full window.
      this.#cursor += i < harvesters.length ? i : 1;
      if (!sentAny) idleRounds++;
    }
  }

  /**
   * After a rename rotation the new file has the same key path as the old one (and so the same
   * Kafka key): it is read only once the old file has been read to its end and acknowledged, so
   * the lines of one name reach their partition in the order they were written.
   *
   * The older of two files with one key path: the rest of a truncated content read from its
   * copy; then one at a rotated name (or none) rather than one at the live name, whether the
   * rotation renamed or copied it; then the one born first, as a rotation tool creates each
   * generation after the one before, whatever names they have by now (`app.log.3` older than
   * `app.log.2`); where the file system keeps no birth time, the one renamed away from the key
   * path while the other still has that name; otherwise, the one opened first.
   */
  #waitsForPredecessor(
    h: Harvester,
    lines: ReadonlyMap<string, readonly Harvester[]> = this.#byKeyPath(),
  ): boolean {
    let openedBefore = true;
    for (const other of lines.get(lineOf(h)) ?? []) {
      if (other === h) {
        openedBefore = false;
        continue;
      }
      if (other.keyPath !== h.keyPath || other.opts.topic !== h.opts.topic || other.drained)
        continue;
      // The rest of a truncated content, read from its copy, comes before whatever followed it.
      if (other.continues && !h.continues) return true;
      if (h.continues && !other.continues) continue;
      if (other.atLiveName !== h.atLiveName) {
        if (h.atLiveName) return true;
        continue;
      }
      if (other.bornMs !== h.bornMs && other.bornMs > 0 && h.bornMs > 0) {
        if (other.bornMs < h.bornMs) return true;
        continue;
      }
      const otherRenamed = other.path !== other.keyPath;
      const hRenamed = h.path !== h.keyPath;
      if (otherRenamed !== hRenamed ? otherRenamed : openedBefore) return true;
    }
    return false;
  }

  /**
   * The harvesters by key path and topic (the generations of one file), in opening order: with
   * thousands of files, #waitsForPredecessor looks at a file's own generations only.
   */
  #byKeyPath(): Map<string, Harvester[]> {
    const lines = new Map<string, Harvester[]>();
    for (const h of this.#harvesters.values()) {
      const line = lineOf(h);
      const list = lines.get(line);
      if (list) list.push(h);
      else lines.set(line, [h]);
    }
    return lines;
  }

  /**
   * Keeps the descriptors within files.maxOpenFiles. Closes files idle for files.closeInactiveMs
   * (everything acknowledged); then gives descriptors to the files waiting for one, longest
   * waiting first (closed files seen changed or with data left, files found and not opened yet),
   * taking them, when none is free, from open files with nothing to read (least recently active
   * first), else from files that had theirs for a turn (FILE_TURN_MS; those with batches in flight
   * stop sending and give theirs once answered). A file whose turn ended waits again at the end
   * of the queue: round-robin, no file starves.
   */
  async #schedule(now: number): Promise<void> {
    // Once per poll interval at most: the pump runs at every answer, and with thousands of
    // files a look at all of them each time would cost more than the reading.
    if (this.#fdBusy || now - this.#scheduledAt < this.config.pollIntervalMs) return;
    this.#scheduledAt = now;
    this.#fdBusy = true;
    try {
      await this.#closeInactive(now);
      const waiting: { since: number; parked?: Harvester; found?: FoundFile }[] = [];
      let lines: Map<string, Harvester[]> | undefined;
      for (const h of this.#harvesters.values()) {
        if (!h.parked || h.closed || h.waitingSince === undefined) continue;
        lines ??= this.#byKeyPath();
        // A later generation waiting for its predecessor would hold a descriptor for nothing.
        if (this.#waitsForPredecessor(h, lines)) continue;
        waiting.push({ since: h.waitingSince, parked: h });
      }
      for (const f of this.#deferred.values()) waiting.push({ since: f.since, found: f });
      if (waiting.length === 0) {
        for (const h of this.#harvesters.values()) h.yielding = false;
        return;
      }
      waitingOrder(waiting);
      let open = this.#openCount();
      let victims: Harvester[] | undefined;
      for (const w of waiting) {
        if (open >= this.#maxOpen) {
          victims ??= this.#victims(now);
          const victim = victims.shift();
          if (!victim) break;
          await this.#park(victim, now, 'turn');
          open--;
        }
        if (w.parked) {
          if (await this.#reopen(w.parked, now)) open++;
        } else if (w.found) {
          const f = w.found;
          this.#burst ??= this.#buildLookups();
          this.#deferred.delete(f.id);
          try {
            await this.#open(f.path, f.tail, f.id, f.bornMs, this.#lastNames, f.initial);
          } catch (err) {
            this.#tailProblem(f.tail, err);
          }
          if (this.#harvesters.get(f.id)?.parked === false) open++;
        }
      }
    } finally {
      this.#burst = undefined;
      this.#fdBusy = false;
    }
  }

  /** The open files that may give their descriptor now, best first (see descriptorVictims). */
  #victims(now: number): Harvester[] {
    const states = new Map<OpenFileState, Harvester>();
    for (const h of this.#harvesters.values()) {
      if (h.parked || h.closed || h.orphaned) continue;
      states.set(
        {
          parked: h.parked,
          closed: h.closed,
          orphaned: h.orphaned,
          parkable: h.parkable,
          drained: h.drained,
          inFlight: h.inFlight.length,
          unread: h.tailer.size - h.tailer.position,
          openedAt: h.openedAt,
          lastDataAt: h.lastDataAt,
          yielding: h.yielding,
        },
        h,
      );
    }
    const victims = descriptorVictims(states.keys(), now);
    for (const [state, h] of states) h.yielding = state.yielding;
    return victims.map((state) => states.get(state) as Harvester);
  }

  /** Closes files with nothing new for files.closeInactiveMs and everything acknowledged. */
  async #closeInactive(now: number): Promise<void> {
    const after = this.config.files.closeInactiveMs;
    if (after <= 0) return;
    for (const h of this.#harvesters.values()) {
      if (
        h.parkable &&
        !h.orphaned &&
        h.drained &&
        now - h.lastDataAt >= after &&
        now - h.openedAt >= after
      )
        await this.#park(h, now, 'inactive');
    }
  }

  async #park(h: Harvester, now: number, reason: 'inactive' | 'turn'): Promise<void> {
    await h.park(now);
    this.#m.closedFiles.inc({ reason });
    this.#log.debug(
      { path: h.path, resumeAt: h.resumeAt, waiting: h.waitingSince !== undefined, reason },
      'file closed (kept; opened again when it changes)',
    );
  }

  /**
   * Opens a parked file again where the last scan saw it, as the same file: same device and
   * inode (else it is not there any more: the next scan looks for it), then the first read checks
   * its first bytes and size as for a file kept open (a truncation is handled as usual).
   */
  async #reopen(h: Harvester, now: number): Promise<boolean> {
    const tail = this.#tails.find((t) => t.name === h.opts.tailName);
    try {
      const tailer = await h.tailer.reopen(h.seenPath, h.resumeAt);
      if (tail?.allow && !(await insideRoots(h.seenPath, tail.allow))) {
        await tailer.close();
        this.#refuse(tail, h.seenPath);
        h.waitingSince = undefined;
        return false;
      }
      if (h.closed || !this.#harvesters.has(`${h.identity.device}:${h.identity.inode}`)) {
        await tailer.close();
        return false;
      }
      h.unpark(tailer, now);
      this.#m.reopenedFiles.inc();
      this.#log.debug({ path: h.seenPath, offset: h.resumeAt }, 'file opened again');
      return true;
    } catch (err) {
      // Renamed or removed since the scan: the next scan finds it (or finds it gone).
      h.waitingSince = undefined;
      h.parkedMtimeMs = undefined;
      this.#log.debug({ path: h.seenPath, err }, 'closed file not opened again');
      return false;
    }
  }

  /** Remembers a compressed file so later scans pass it by; logs and counts it once. */
  #skipCompressed(id: string, path: string, format: CompressionFormat): void {
    if (this.#compressed.has(id)) return;
    this.#compressed.set(id, format);
    this.#m.compressedSkipped.inc({ format });
    this.#log.info(
      { path, format },
      'skipped: the file is compressed (tails[].compressed: skip); its bytes are not lines',
    );
  }

  /**
   * A file opened while it was still empty (a compressor had just created it) is checked again
   * by its first batch: the first line of a compressed file starts with the magic number.
   */
  /** The record stage's counts of a harvester's last batches, into the metrics. */
  #countRecords(h: Harvester): void {
    const counts = h.takeRecordCounts();
    const tail = { tail: h.opts.tailName };
    if (counts.filteredLines > 0) this.#m.linesFiltered.inc(tail, counts.filteredLines);
    if (counts.cutEvents > 0) this.#m.multilineCut.inc(tail, counts.cutEvents);
    if (counts.invalidSequences > 0) this.#m.decodeErrors.inc(tail, counts.invalidSequences);
    if (counts.malformedLines > 0) this.#m.formatMalformed.inc(tail, counts.malformedLines);
    if (counts.unfinishedLines > 0) this.#m.partialUnfinished.inc(tail, counts.unfinishedLines);
  }

  #isCompressed(h: Harvester, batch: Batch): boolean {
    if (batch.startOffset !== 0) return false;
    const tail = this.#tails.find((t) => t.name === h.opts.tailName);
    if (tail?.config.compressed !== 'skip') return false;
    return compressionOf(batch.lines.subarray(0, batch.lineLengths[0] ?? 0)) !== undefined;
  }

  async #dropCompressed(h: Harvester, batch: Batch): Promise<void> {
    const id = `${h.identity.device}:${h.identity.inode}`;
    h.closed = true;
    this.#harvesters.delete(id);
    await h.tailer.close();
    if (this.checkpoints.has(h.key)) this.checkpoints.delete(h.key);
    const format = compressionOf(batch.lines.subarray(0, batch.lineLengths[0] ?? 0));
    if (format) this.#skipCompressed(id, h.path, format);
  }

  /** A file renamed away or deleted, read to its end and fully acked, is closed. */
  async #maybeFinish(h: Harvester): Promise<void> {
    if (!h.orphaned || !h.drained || Date.now() - h.lastDataAt < this.config.lines.partialFlushMs)
      return;
    h.closed = true;
    const id = `${h.identity.device}:${h.identity.inode}`;
    this.#harvesters.delete(id);
    await h.tailer.close();
    if (this.checkpoints.has(h.key)) this.checkpoints.markRemoved(h.key);
    this.#log.info({ path: h.path, offset: h.acked }, 'finished file (rotated away or deleted)');
  }

  /**
   * True (and forgotten) for the answer to a batch sent before its stream was rewound: its lines
   * are sent again, so it neither counts as acked or rejected nor moves the checkpoint.
   */
  #stale(batch: Batch): boolean {
    const tracked = this.#batches.get(batch);
    if (
      !tracked ||
      tracked.harvester.isCurrent(tracked.sent) ||
      tracked.harvester.isPrevious(tracked.sent)
    )
      return false;
    this.#batches.delete(batch);
    return true;
  }

  #settled(batch: Batch, result: 'committed' | 'rejected'): void {
    if (this.#stale(batch)) return;
    const tracked = this.#batches.get(batch);
    if (!tracked) return;
    this.#batches.delete(batch);
    const { harvester: h, sent } = tracked;
    const lines = batch.lineLengths.length;
    if (result === 'committed') {
      this.onCommitted?.(batch);
      this.#m.linesAcked.inc(lines);
      this.#m.bytesAcked.inc(batch.lines.length);
      this.#committedBytes += batch.lines.length;
    } else this.#m.linesRejected.inc(lines);
    const prev = h.previous;
    if (prev && h.isPrevious(sent)) {
      const moved = h.settlePrevious(sent, true);
      if (moved !== undefined && this.checkpoints.running) {
        this.checkpoints.set(prev.key, {
          offset: moved,
          path: h.path,
          keyPath: h.keyPath,
          device: prev.identity.device,
          inode: prev.identity.inode,
          fingerprint: encodeIdentity(prev.identity),
          topic: h.opts.topic,
        });
      }
      this.#pump();
      return;
    }
    const acked = h.settle(sent);
    if (acked !== undefined && this.checkpoints.running) this.#record(h);
  }

  /** Whether the file (device, inode) was acknowledged up to `size` bytes (a spool file's end). */
  #shippedToEnd(device: string, inode: string, size: number): boolean {
    if (!this.checkpoints.running) return false;
    return this.checkpoints
      .entries()
      .some((e) => e.device === device && e.inode === inode && e.offset >= size);
  }

  /** Cuts persisted before a restart for the stream the harvester resumes (see CutPoints). */
  #restoreCuts(h: Harvester): void {
    const entry = this.checkpoints.running ? this.checkpoints.get(h.key) : undefined;
    if (entry?.cuts !== undefined && entry.offset === h.acked) h.restoreCuts(entry.cuts);
  }

  /**
   * A record whose end the file does not fix is about to be sent: its end goes to disk first, so
   * that after a crash the lines are cut there again (at most one registry write per flushed
   * event, which waits for its flush timeout). A registry that cannot be written is already
   * reported by its own metrics; the batch is sent anyway rather than held.
   */
  async #persistCuts(h: Harvester): Promise<void> {
    // A stream without an entry yet (its first batch) resumes from 0 or its copy's entry.
    if (!this.checkpoints.running || !this.checkpoints.setCuts(h.key, h.forcedCuts)) return;
    try {
      await this.checkpoints.flush();
    } catch (err) {
      this.#log.warn({ path: h.path, err }, 'could not persist where a flushed record ends');
    }
  }

  /** Writes the harvester's acked offset and identity to the checkpoint registry. */
  #record(h: Harvester): void {
    const identity = h.identity;
    this.checkpoints.set(h.key, {
      offset: h.acked,
      path: h.path,
      keyPath: h.keyPath,
      device: identity.device,
      inode: identity.inode,
      fingerprint: encodeIdentity(identity),
      topic: h.opts.topic,
    });
  }

  #shrink(batch: Batch): boolean {
    const tracked = this.#batches.get(batch);
    if (!tracked || !tracked.harvester.shrink(tracked.sent, Date.now())) return false;
    this.#batches.delete(batch);
    return true;
  }

  #retry(batch: Batch, delayMs: number, reason: string): void {
    const tracked = this.#batches.get(batch);
    if (!tracked) return;
    this.#batches.delete(batch);
    const { harvester: h, sent } = tracked;
    // The collector refused the message as too large for its limits: smaller batches.
    if (reason.startsWith('RESOURCE_EXHAUSTED') && h.shrink(sent, Date.now())) {
      this.#log.warn(
        { path: h.path, reason },
        'collector message limit is lower than our batches: sending smaller batches',
      );
      return;
    }
    if (h.isPrevious(sent)) {
      // The file was truncated since: these bytes are gone from it; its copy may have them
      // (#settlePrevious), else they are counted as lost there.
      h.settlePrevious(sent, false);
      this.#pump();
      return;
    }
    if (h.rewind(sent, delayMs, Date.now())) {
      this.#m.retries.inc({ reason: reason.split(':')[0]?.slice(0, 40) ?? 'unknown' });
      this.#log.debug(
        { path: h.path, from: h.acked, delayMs, reason },
        'resending from the acked offset',
      );
    }
  }
}

/** The scan-notice state of a file refused for leading outside `remote.allow`. */
const REFUSED_STATE = 'outside-roots';

/** Descriptors left to the rest of the process (sockets, registry, logs) under RLIMIT_NOFILE. */
const FD_RESERVE = 64;

/**
 * Times a truncated content's copy is looked for and opened when a rotation renames it in
 * between (the search then finds it under its new name): a few, as rotations are far apart.
 */
const COPY_OPEN_ATTEMPTS = 3;

/** A file a scan found and has not opened yet. */
interface FoundFile {
  path: string;
  tail: TailEntry;
  id: string;
  /** Birth time (mtime where the file system has none), ms: files are opened oldest first. */
  bornMs: number;
  /** Found by the first scan (startAt: end applies). */
  initial: boolean;
}

interface TailEntry {
  name: string;
  config: TailConfig;
  exclude: RegExp[];
  /** Multiline, filters, encoding; undefined when the tail sets none (lines go as they are). */
  records: RecordStage | undefined;
  /** Roots a remote tail's files must resolve inside (undefined for local tails: trusted). */
  allow: readonly string[] | undefined;
}

/** What opening a file looks up, taken once for a burst of openings (see #buildLookups). */
interface OpenLookups {
  /** Registry entries by `<device>:<inode>`. */
  byInode: Map<string, CheckpointEntry[]>;
  /** Registry entries long enough to match copies, by `<prefixLength>/<prefixHash>`. */
  byPrefix: Map<string, CheckpointEntry[]>;
  prefixLengths: Set<number>;
  /** Key paths by topic: recorded in the registry and of the files being read. */
  keyPaths: Map<string, Set<string>>;
  /** The lines (lineOf) of the files being read. */
  live: Set<string>;
}

function addKeyPath(lookups: OpenLookups, topic: string, keyPath: string): void {
  const set = lookups.keyPaths.get(topic);
  if (set) set.add(keyPath);
  else lookups.keyPaths.set(topic, new Set([keyPath]));
}

/** The line (key path and topic) a file's generations share. */
function lineOf(h: Harvester): string {
  return `${h.opts.topic}\u0000${h.keyPath}`;
}

/** The tail that ships a syslog input's spool: its live file and the ones rotated aside. */
function spoolTail(input: SyslogInputConfig): TailConfig {
  return tailConfigSchema.parse({
    paths: [join(input.spool.directory, `${input.name}.log*`)],
    topic: input.topic,
  });
}

function tailEntry(
  name: string,
  config: TailConfig,
  lines: AgentConfig['lines'],
  allow?: readonly string[],
): TailEntry {
  return {
    name,
    config,
    exclude: config.exclude.map(globToRegExp),
    // A reassembled container line is a line: lines.maxBytes bounds it, and lines.partialFlushMs
    // is how long its unwritten end is waited for.
    records: recordStageFor({
      ...config,
      maxLineBytes: lines.maxBytes,
      partialFlushMs: lines.partialFlushMs,
    }),
    allow,
  };
}

/**
 * The regular files in `keyPath`'s folder at a rotated name of it (`app.log.1`,
 * `app.log-20240101`, …), with their identity, size and birth time (mtime where the file system
 * has none).
 */
async function rotatedFiles(keyPath: string): Promise<FoundCopy[]> {
  const dir = dirname(keyPath);
  const files: FoundCopy[] = [];
  for (const name of await readdir(dir).catch(() => [])) {
    const path = join(dir, name);
    if (!isRotationOf(path, keyPath)) continue;
    const st = await stat(path).catch(() => undefined);
    if (!st?.isFile()) continue;
    files.push({
      path,
      dev: st.dev,
      ino: st.ino,
      size: st.size,
      bornMs: st.birthtimeMs || st.mtimeMs,
    });
  }
  return files;
}

/** True when the file, symlinks resolved now, lies inside one of the roots. */
async function insideRoots(path: string, roots: readonly string[]): Promise<boolean> {
  const real = await realpath(path).catch(() => undefined);
  return real !== undefined && isInsideRoots(real, await resolvedRoots(roots));
}

/**
 * The file (device and inode) whose stream a registry entry continues, when the entry's key
 * names another file than the one read (`id`): a copytruncate copy read under the original's key.
 */
function continuedStream(key: string, id: string): InodeRef | undefined {
  const [device, inode] = key.split(':').slice(-3);
  if (`${device}:${inode}` === id) return undefined;
  return { device: Number(device), inode: Number(inode) };
}
