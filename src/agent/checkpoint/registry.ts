import * as fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import { formatKeyPath, validateConfig } from '../../common/config/load-config.js';
import { RelayError } from '../../common/errors/relay-error.js';
import { Component } from '../../common/lifecycle/component.js';
import { childLogger, type Logger } from '../../common/logging/logger.js';
import {
  checkpointConfigSchema,
  type CheckpointConfig,
  type CheckpointConfigInput,
} from './config.js';

/** Stable codes of the errors the registry throws. */
export const checkpointErrorCodes = {
  /** A mutation (or a read before the first load) while the registry is not running. */
  notRunning: 'CHECKPOINT_NOT_RUNNING',
  /** An empty stream key, or an offset that is not a non-negative safe integer. */
  invalidArgument: 'CHECKPOINT_INVALID_ARGUMENT',
  /** The registry directory or a registry file exists but cannot be read (not corruption). */
  unreadable: 'CHECKPOINT_UNREADABLE',
  /** Persisting failed (full disk, I/O error); the state is kept in memory and retried. */
  writeFailed: 'CHECKPOINT_WRITE_FAILED',
} as const;

/** The registry file format version this code reads and writes. */
export const CHECKPOINT_FORMAT_VERSION = 1;

/** What the registry remembers about one stream. */
export interface CheckpointEntry {
  /** The stream key, e.g. `<agentId>:<device>:<inode>:<generation>`. */
  readonly key: string;
  /**
   * Acked offset, in bytes: just past the last line a collector acknowledged as committed, i.e.
   * where reading resumes after a restart. Never an offset that was only read or sent.
   */
  readonly offset: number;
  /** The file's path as last reported (it changes on rename rotation). */
  readonly path: string;
  /**
   * The path the stream is keyed by in records (the first one recorded; it does not change on
   * rename rotation). Entries written before it existed report their `path`.
   */
  readonly keyPath: string;
  /** Device number, as a decimal string (64-bit values kept exact). */
  readonly device: string;
  /** Inode number, as a decimal string (64-bit values kept exact). */
  readonly inode: string;
  /** Fingerprint of the file's first bytes, as computed by the tailer. */
  readonly fingerprint: string;
  /** The tail's topic. */
  readonly topic: string;
  /** Last `set`, `reset` or (coarsely) `touch`, in ms since the epoch (the injected clock). */
  readonly updatedAt: number;
  /** When the file was noticed gone, in ms since the epoch; absent while it exists. */
  readonly removedAt?: number;
  /**
   * Ends, past `offset`, of records sent but not yet acknowledged whose end the file alone does
   * not fix (a multiline event flushed by its timeout, a partial line): after a restart the lines
   * are cut there again, so a collector's mark never falls inside a record. Absent when none.
   */
  readonly cuts?: readonly number[];
}

/** What `set` is told about a stream after a batch was acked. */
export interface CheckpointUpdate {
  /** Acked offset in bytes (end offset of the acked batch); a non-negative safe integer. */
  offset: number;
  /** Current path of the file. */
  path: string;
  /** The path records are keyed by; kept from the first `set` of the stream. Default: `path`. */
  keyPath?: string;
  /** Device number; pass a bigint from `stat(p, { bigint: true })` to keep 64-bit values exact. */
  device: string | number | bigint;
  /** Inode number; pass a bigint from `stat(p, { bigint: true })` to keep 64-bit values exact. */
  inode: string | number | bigint;
  /** Fingerprint of the file's first bytes. */
  fingerprint: string;
  /** The tail's topic. */
  topic: string;
}

/** Which file the state came from at start. */
export type CheckpointLoadSource = 'current' | 'previous' | 'empty';

/** How the last start found the registry on disk. */
export interface CheckpointLoadReport {
  /** `current`: the registry file; `previous`: its last good copy; `empty`: neither was usable. */
  readonly source: CheckpointLoadSource;
  /** True when no registry existed at all (a first start): empty, and not a problem. */
  readonly fresh: boolean;
  /** One line per damaged or missing file, with the reason; empty when all was well. */
  readonly problems: readonly string[];
  /** Number of entries loaded. */
  readonly entries: number;
  /** Temp files of an interrupted write that were found and deleted. */
  readonly cleanedTempFiles: readonly string[];
  /** Where a damaged registry file was moved for inspection, when one was. */
  readonly corruptCopy?: string;
}

/** Counters of the registry's writes, for status output and tests. */
export interface CheckpointStats {
  /** Successful writes since construction. */
  readonly writes: number;
  /** Failed writes since construction. */
  readonly writeFailures: number;
  /** Failed writes since the last successful one. */
  readonly consecutiveWriteFailures: number;
  /** The last error of a failed write, cleared by the next successful write. */
  readonly lastWriteError: RelayError | undefined;
  /** Time of the last successful write, in ms since the epoch (the injected clock). */
  readonly lastWriteAt: number | undefined;
  /** True while some change is not yet on disk. */
  readonly dirty: boolean;
  /** Entries in memory. */
  readonly entries: number;
}

/** The files the registry uses, all in one directory. */
export interface CheckpointFiles {
  /** The registry. */
  readonly current: string;
  /** The previous good registry, kept as a fallback (`<path>.prev`). */
  readonly previous: string;
  /** Where a new registry is written before it is renamed over `current` (`<path>.tmp`). */
  readonly temp: string;
  /** Where `previous` is prepared before it is renamed into place (`<path>.prev.tmp`). */
  readonly previousTemp: string;
  /** Where a damaged registry file is moved at start (`<path>.corrupt`, the last one only). */
  readonly corrupt: string;
}

/** The file system calls the registry makes; replaceable for fault injection in tests. */
export interface CheckpointFs {
  readFile(path: string): Promise<Buffer>;
  open(path: string, flags: string): Promise<FileHandle>;
  rename(oldPath: string, newPath: string): Promise<void>;
  link(existingPath: string, newPath: string): Promise<void>;
  copyFile(src: string, dest: string): Promise<void>;
  rm(path: string, options?: { force?: boolean }): Promise<void>;
  mkdir(path: string, options: { recursive: true }): Promise<string | undefined>;
}

/** Everything a registry is built with besides its config. */
export interface CheckpointRegistryOptions {
  /** Parent logger; the registry logs as `<ns>.checkpoint`. Default: a silent logger. */
  logger?: Logger;
  /** Registers `logrelay_checkpoint_*` metrics here when given. Default: no metrics. */
  metrics?: Registry;
  /** Wall clock in ms since the epoch, used for `updatedAt` and cleanup ages. Default: Date.now. */
  now?: () => number;
  /** Replaces some file system calls (tests: fault injection). Default: node:fs/promises. */
  fs?: Partial<CheckpointFs>;
}

const defaultFs: CheckpointFs = {
  readFile: (path) => fsp.readFile(path),
  open: (path, flags) => fsp.open(path, flags),
  rename: fsp.rename,
  link: fsp.link,
  copyFile: (src, dest) => fsp.copyFile(src, dest),
  rm: fsp.rm,
  mkdir: fsp.mkdir,
};

/** The stored form of an entry: exactly what is written to the file, in this key order. */
interface StoredEntry {
  offset: number;
  path: string;
  keyPath?: string;
  device: string;
  inode: string;
  fingerprint: string;
  topic: string;
  updatedAt: number;
  removedAt?: number;
  cuts?: number[];
}

const storedEntrySchema = z.object({
  offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  path: z.string(),
  keyPath: z.string().optional(),
  device: z.string(),
  inode: z.string(),
  fingerprint: z.string(),
  topic: z.string(),
  updatedAt: z.number(),
  removedAt: z.number().optional(),
  cuts: z.array(z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)).optional(),
});

const documentSchema = z.object({
  version: z.literal(CHECKPOINT_FORMAT_VERSION),
  writtenAt: z.number(),
  entries: z.record(z.string().min(1), storedEntrySchema),
});

type ReadResult =
  | { kind: 'ok'; entries: Map<string, StoredEntry> }
  | { kind: 'missing' }
  | { kind: 'bad'; reason: string };

// Hard links are cheaper than copies and never leave a half-copied `.prev`, but some file
// systems (SMB, some FUSE) do not have them.
const LINK_UNSUPPORTED = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK', 'EXDEV']);
const MAX_REASON_LENGTH = 200;
const MAX_RETRY_DELAY_MS = 30_000;
const FAILURE_LOG_EVERY_MS = 60_000;

/**
 * The agent's checkpoint registry: per stream, the offset up to which a collector acknowledged
 * every line as committed, plus what identifies and describes the stream.
 *
 * - Only acked offsets come in (`set`), and they only move forward; `reset` is the one way back
 *   (after a truncation).
 * - Changes are coalesced: a write happens at most once per `flushIntervalMs`, and on `flush()`
 *   and `stop()`. Writes never overlap.
 * - Each write goes to `<path>.tmp`, is fsynced, the current file becomes `<path>.prev`, the temp
 *   file is renamed over `<path>` and the directory is fsynced: a crash leaves either the old or
 *   the new registry, and the one before it.
 * - At start a missing, empty, garbage or unknown-version registry is reported in `loadReport`
 *   (and logged) and the previous copy is used; if both are unusable the registry starts empty.
 *   A registry that exists but cannot be read (permissions, I/O) fails the start instead: starting
 *   empty would resend every file.
 */
export class CheckpointRegistry extends Component {
  /** The files this registry uses. */
  readonly files: CheckpointFiles;
  readonly #config: Readonly<CheckpointConfig>;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #fs: CheckpointFs;
  readonly #entries = new Map<string, StoredEntry>();
  readonly #metrics: { writes: Counter; writeFailures: Counter; loadProblems: Counter } | undefined;

  #loaded = false;
  #accepting = false;
  #loadReport: CheckpointLoadReport | undefined;
  /** Start time (injected clock); downtime before it does not count as inactivity. */
  #loadedAt = 0;
  /** Whether `<path>` holds a registry we know is good, and so may become `<path>.prev`. */
  #currentGood = false;

  // Dirty tracking by generation: a write persists the generation it snapshotted, so changes made
  // while it was in flight stay dirty.
  #generation = 0;
  #persistedGeneration = 0;
  #writing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastWriteStartMono = Number.NEGATIVE_INFINITY;
  #lastFailureLogMono = Number.NEGATIVE_INFINITY;

  #writes = 0;
  #writeFailures = 0;
  #consecutiveFailures = 0;
  #lastWriteError: RelayError | undefined;
  #lastWriteAt: number | undefined;

  constructor(config: CheckpointConfigInput, options: CheckpointRegistryOptions = {}) {
    super('checkpoint-registry');
    this.#config = validateConfig(checkpointConfigSchema, config, 'checkpoint');
    const path = this.#config.path;
    this.files = Object.freeze({
      current: path,
      previous: `${path}.prev`,
      temp: `${path}.tmp`,
      previousTemp: `${path}.prev.tmp`,
      corrupt: `${path}.corrupt`,
    });
    this.#log = childLogger(options.logger ?? pino({ enabled: false }), 'checkpoint', { path });
    this.#now = options.now ?? Date.now;
    this.#fs = { ...defaultFs, ...options.fs };
    if (options.metrics) {
      const registers = [options.metrics];
      const entries = this.#entries;
      new Gauge({
        name: 'logrelay_checkpoint_entries',
        help: 'Streams in the checkpoint registry.',
        registers,
        collect() {
          this.set(entries.size);
        },
      });
      this.#metrics = {
        writes: new Counter({
          name: 'logrelay_checkpoint_writes_total',
          help: 'Successful writes of the checkpoint registry.',
          registers,
        }),
        writeFailures: new Counter({
          name: 'logrelay_checkpoint_write_failures_total',
          help: 'Failed writes of the checkpoint registry (state kept in memory and retried).',
          registers,
        }),
        loadProblems: new Counter({
          name: 'logrelay_checkpoint_load_problems_total',
          help: 'Missing or damaged registry files found at start (see the warning log).',
          registers,
        }),
      };
    }
  }

  /** How the last start found the registry; undefined before the first start. */
  get loadReport(): CheckpointLoadReport | undefined {
    return this.#loadReport;
  }

  get stats(): CheckpointStats {
    return {
      writes: this.#writes,
      writeFailures: this.#writeFailures,
      consecutiveWriteFailures: this.#consecutiveFailures,
      lastWriteError: this.#lastWriteError,
      lastWriteAt: this.#lastWriteAt,
      dirty: this.#dirty,
      entries: this.#entries.size,
    };
  }

  /** Number of streams known. */
  get size(): number {
    this.#assertLoaded();
    return this.#entries.size;
  }

  /** The entry of a stream, or undefined. Readable after stop, not before the first start. */
  get(key: string): CheckpointEntry | undefined {
    this.#assertLoaded();
    const entry = this.#entries.get(key);
    return entry === undefined ? undefined : toEntry(key, entry);
  }

  has(key: string): boolean {
    this.#assertLoaded();
    return this.#entries.has(key);
  }

  /** A snapshot of every entry. */
  entries(): CheckpointEntry[] {
    this.#assertLoaded();
    return [...this.#entries].map(([key, entry]) => toEntry(key, entry));
  }

  /**
   * Records that a collector acknowledged the stream up to `update.offset`, creating the entry if
   * needed. The path, identity and topic are always updated; the offset only moves forward: an
   * offset behind the stored one (a late or repeated ack) is ignored and `false` is returned.
   * Does not clear a removal mark: acks keep arriving while a deleted file is being finished.
   */
  set(key: string, update: CheckpointUpdate): boolean {
    this.#assertRunning('set');
    checkKey(key);
    checkOffset(update.offset);
    const previous = this.#entries.get(key);
    const accepted = previous === undefined || update.offset >= previous.offset;
    if (!accepted) {
      this.#log.debug(
        { key, stored: previous.offset, offered: update.offset },
        'ignored an acked offset behind the stored one',
      );
    }
    const entry: StoredEntry = {
      offset: accepted ? update.offset : previous.offset,
      path: update.path,
      keyPath: previous?.keyPath ?? update.keyPath ?? update.path,
      device: String(update.device),
      inode: String(update.inode),
      fingerprint: update.fingerprint,
      topic: update.topic,
      updatedAt: this.#now(),
    };
    if (previous?.removedAt !== undefined) entry.removedAt = previous.removedAt;
    const cuts = previous?.cuts?.filter((c) => c > entry.offset);
    if (cuts !== undefined && cuts.length > 0) entry.cuts = cuts;
    this.#entries.set(key, entry);
    this.#changed();
    return accepted;
  }

  /**
   * Records where sent, unacknowledged records of the stream ended although the file did not
   * end them (see {@link CheckpointEntry.cuts}); cuts at or before the acked offset are dropped.
   * Returns false for an unknown key. Call `flush` before sending the record to make it durable.
   */
  setCuts(key: string, cuts: readonly number[]): boolean {
    this.#assertRunning('setCuts');
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    for (const c of cuts) checkOffset(c);
    const kept = cuts.filter((c) => c > entry.offset);
    if (kept.length === 0 && entry.cuts === undefined) return true;
    if (kept.length === 0) delete entry.cuts;
    else entry.cuts = [...kept];
    this.#changed();
    return true;
  }

  /**
   * Moves a stream's offset to `offset`, also backwards: the file was truncated (copytruncate)
   * and reading restarts there. The caller must discard acks still in flight for the old content,
   * or a late one would move the offset forward again. Returns false for an unknown key.
   */
  reset(key: string, offset: number, reason = 'reset'): boolean {
    this.#assertRunning('reset');
    checkOffset(offset);
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    this.#log.info({ key, from: entry.offset, to: offset, reason }, 'checkpoint offset reset');
    entry.offset = offset;
    // Cuts belong to the content read before; reading restarts in other content.
    delete entry.cuts;
    entry.updatedAt = this.#now();
    this.#changed();
    return true;
  }

  /**
   * Tells the registry that discovery still sees the stream's file, optionally at a new path or
   * with a new topic: clears a removal mark and keeps the entry from being cleaned as inactive.
   * To keep a scan over thousands of idle files from rewriting the registry each time,
   * `updatedAt` only moves when it is older than 1% of `cleanInactiveAfterMs`. Returns false for
   * an unknown key.
   */
  touch(key: string, changes: { path?: string; topic?: string } = {}): boolean {
    this.#assertRunning('touch');
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    let changed = false;
    if (changes.path !== undefined && changes.path !== entry.path) {
      entry.path = changes.path;
      changed = true;
    }
    if (changes.topic !== undefined && changes.topic !== entry.topic) {
      entry.topic = changes.topic;
      changed = true;
    }
    if (entry.removedAt !== undefined) {
      delete entry.removedAt;
      changed = true;
    }
    const now = this.#now();
    const inactive = this.#config.cleanInactiveAfterMs;
    if (changed || (inactive > 0 && now - entry.updatedAt >= inactive / 100)) {
      entry.updatedAt = now;
      changed = true;
    }
    if (changed) this.#changed();
    return true;
  }

  /**
   * Marks the stream's file as gone (deleted, or rotated out of every glob). The entry is dropped
   * `cleanRemovedAfterMs` later unless `touch` clears the mark. Returns false for an unknown key.
   */
  markRemoved(key: string): boolean {
    this.#assertRunning('markRemoved');
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    if (entry.removedAt === undefined) {
      entry.removedAt = this.#now();
      this.#changed();
    }
    return true;
  }

  /** Forgets a stream now (e.g. its tail was removed from the config). */
  delete(key: string): boolean {
    this.#assertRunning('delete');
    const existed = this.#entries.delete(key);
    if (existed) this.#changed();
    return existed;
  }

  /**
   * Writes the registry now if anything changed (after any write in progress, never beside it),
   * dropping expired entries first. Resolves when the state as of this call is on disk; rejects
   * with a retriable `CHECKPOINT_WRITE_FAILED` if the write fails. A no-op before the first start.
   */
  async flush(): Promise<void> {
    if (!this.#loaded) return;
    // A write in progress may have snapshotted the state before this call's changes.
    while (this.#writing) await this.#writing;
    // From here to #startWrite nothing awaits, so no other write can slip in between.
    this.#sweep();
    if (!this.#dirty) return;
    return this.#startWrite();
  }

  protected async doStart(): Promise<void> {
    this.#loaded = false;
    this.#entries.clear();
    this.#generation = 0;
    this.#persistedGeneration = 0;
    const { current, previous } = this.files;
    const dir = dirname(current);
    try {
      await this.#fs.mkdir(dir, { recursive: true });
    } catch (err) {
      throw new RelayError(
        checkpointErrorCodes.unreadable,
        `cannot create checkpoint directory ${dir}: ${messageOf(err)}`,
        { cause: err, details: { path: current } },
      );
    }
    const cleanedTempFiles = await this.#removeTempFiles();

    const problems: string[] = [];
    let source: CheckpointLoadSource;
    let fresh = false;
    let corruptCopy: string | undefined;
    const fromCurrent = await this.#read(current);
    let loaded: Map<string, StoredEntry> | undefined;
    if (fromCurrent.kind === 'ok') {
      source = 'current';
      loaded = fromCurrent.entries;
    } else {
      if (fromCurrent.kind === 'bad') problems.push(`${current}: ${fromCurrent.reason}`);
      const fromPrevious = await this.#read(previous);
      if (fromPrevious.kind === 'ok') {
        source = 'previous';
        loaded = fromPrevious.entries;
        if (fromCurrent.kind === 'missing') {
          problems.push(`${current}: missing, but a previous copy exists`);
        }
      } else {
        source = 'empty';
        if (fromPrevious.kind === 'bad') problems.push(`${previous}: ${fromPrevious.reason}`);
        fresh = fromCurrent.kind === 'missing' && fromPrevious.kind === 'missing';
      }
      if (fromCurrent.kind === 'bad') corruptCopy = await this.#setAside(current);
    }

    for (const [key, entry] of loaded ?? []) this.#entries.set(key, entry);
    this.#currentGood = source === 'current';
    this.#loadedAt = this.#now();
    this.#loadReport = Object.freeze({
      source,
      fresh,
      problems: Object.freeze(problems),
      entries: this.#entries.size,
      cleanedTempFiles: Object.freeze(cleanedTempFiles),
      ...(corruptCopy === undefined ? {} : { corruptCopy }),
    });
    this.#metrics?.loadProblems.inc(problems.length);
    this.#logLoad(this.#loadReport);

    // Restoring from the previous copy: rewrite the registry soon, so the damaged file is not
    // what the next start finds.
    if (source === 'previous') this.#generation++;
    this.#loaded = true;
    this.#accepting = true;
    this.#schedule();
  }

  protected async doStop(): Promise<void> {
    this.#accepting = false;
    this.#clearTimer();
    if (!this.#loaded) return;
    await this.flush();
  }

  get #dirty(): boolean {
    return this.#generation !== this.#persistedGeneration;
  }

  #assertLoaded(): void {
    if (!this.#loaded) {
      throw new RelayError(
        checkpointErrorCodes.notRunning,
        'checkpoint registry not loaded yet: call start() first',
      );
    }
  }

  #assertRunning(op: string): void {
    if (!this.#accepting) {
      throw new RelayError(
        checkpointErrorCodes.notRunning,
        `checkpoint registry: ${op}() while not running (state: ${this.state})`,
      );
    }
  }

  #changed(): void {
    this.#generation++;
    this.#schedule();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Arms the coalescing timer: the next write starts `flushIntervalMs` after the last one. */
  #schedule(): void {
    if (!this.#accepting || this.#timer !== undefined || this.#writing || !this.#dirty) return;
    let interval = this.#config.flushIntervalMs;
    if (this.#consecutiveFailures > 0) {
      // A full disk must not turn into a busy loop of failing writes.
      const backoff = 500 * 2 ** Math.min(this.#consecutiveFailures - 1, 16);
      interval = Math.max(interval, Math.min(backoff, MAX_RETRY_DELAY_MS));
    }
    const wait = Math.max(0, this.#lastWriteStartMono + interval - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // A write in progress re-arms the timer when it ends.
      if (this.#writing) return;
      // A failed timed write is logged and counted by #write and retried by the next timer.
      this.flush().catch(() => undefined);
    }, wait);
    // Pending coalesced changes must not keep the process alive; stop() flushes them.
    this.#timer.unref();
  }

  #startWrite(): Promise<void> {
    this.#clearTimer();
    const run = this.#write();
    const settled: Promise<void> = run.then(
      () => this.#afterWrite(settled),
      () => this.#afterWrite(settled),
    );
    this.#writing = settled;
    return run;
  }

  #afterWrite(settled: Promise<void>): void {
    if (this.#writing === settled) this.#writing = undefined;
    this.#schedule();
  }

  async #write(): Promise<void> {
    this.#lastWriteStartMono = performance.now();
    const generation = this.#generation;
    const writtenAt = this.#now();
    // Serialised before the first await, so changes made during the write wait for the next one.
    const text = `${JSON.stringify({
      version: CHECKPOINT_FORMAT_VERSION,
      writtenAt,
      entries: Object.fromEntries(this.#entries),
    })}\n`;
    const { current, previous, temp, previousTemp } = this.files;
    let step = 'write temp file';
    try {
      await this.#writeDurably(temp, text);
      if (this.#currentGood) {
        step = 'keep previous copy';
        await this.#fs.rm(previousTemp, { force: true });
        await this.#linkOrCopy(current, previousTemp);
        await this.#fs.rename(previousTemp, previous);
      }
      step = 'rename temp file';
      await this.#fs.rename(temp, current);
      this.#currentGood = true;
      step = 'fsync directory';
      await this.#fsyncPath(dirname(current));
    } catch (err) {
      await this.#fs.rm(temp, { force: true }).catch(() => undefined);
      throw this.#writeFailed(step, err);
    }
    this.#persistedGeneration = generation;
    this.#writes++;
    this.#metrics?.writes.inc();
    this.#lastWriteAt = writtenAt;
    if (this.#consecutiveFailures > 0) {
      this.#log.info(
        { failures: this.#consecutiveFailures },
        'checkpoint registry written again after failures',
      );
    }
    this.#consecutiveFailures = 0;
    this.#lastWriteError = undefined;
  }

  #writeFailed(step: string, err: unknown): RelayError {
    const error = new RelayError(
      checkpointErrorCodes.writeFailed,
      `cannot write checkpoint registry ${this.files.current} (${step}): ${messageOf(err)}`,
      { retriable: true, cause: err, details: { path: this.files.current, step } },
    );
    this.#writeFailures++;
    this.#consecutiveFailures++;
    this.#lastWriteError = error;
    this.#metrics?.writeFailures.inc();
    const mono = performance.now();
    if (
      this.#consecutiveFailures === 1 ||
      mono - this.#lastFailureLogMono >= FAILURE_LOG_EVERY_MS
    ) {
      this.#lastFailureLogMono = mono;
      this.#log.error(
        { err: error, failures: this.#consecutiveFailures },
        'checkpoint registry write failed; acked offsets kept in memory, retrying',
      );
    }
    return error;
  }

  async #writeDurably(file: string, text: string): Promise<void> {
    const handle = await this.#fs.open(file, 'w');
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async #linkOrCopy(from: string, to: string): Promise<void> {
    try {
      await this.#fs.link(from, to);
    } catch (err) {
      if (!LINK_UNSUPPORTED.has(codeOf(err) ?? '')) throw err;
      await this.#fs.copyFile(from, to);
      await this.#fsyncPath(to);
    }
  }

  async #fsyncPath(path: string): Promise<void> {
    const handle = await this.#fs.open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** Drops entries whose file is gone, or that were idle, for longer than configured. */
  #sweep(): void {
    const now = this.#now();
    const { cleanRemovedAfterMs, cleanInactiveAfterMs } = this.#config;
    let removed = 0;
    let inactive = 0;
    for (const [key, entry] of this.#entries) {
      if (entry.removedAt !== undefined && now - entry.removedAt >= cleanRemovedAfterMs) {
        this.#entries.delete(key);
        removed++;
        this.#log.debug({ key, path: entry.path }, 'dropped checkpoint of a removed file');
      } else if (
        cleanInactiveAfterMs > 0 &&
        // Time the agent was down does not count: an agent stopped for a week must not come back
        // and re-read every file from its start.
        now - Math.max(entry.updatedAt, this.#loadedAt) >= cleanInactiveAfterMs
      ) {
        this.#entries.delete(key);
        inactive++;
        this.#log.debug({ key, path: entry.path }, 'dropped checkpoint of an inactive file');
      }
    }
    if (removed + inactive > 0) {
      this.#generation++;
      this.#log.info({ removed, inactive }, 'cleaned checkpoint entries');
    }
  }

  async #removeTempFiles(): Promise<string[]> {
    const cleaned: string[] = [];
    for (const file of [this.files.temp, this.files.previousTemp]) {
      try {
        await this.#fs.rm(file);
        cleaned.push(file);
      } catch (err) {
        if (codeOf(err) === 'ENOENT') continue;
        throw new RelayError(
          checkpointErrorCodes.unreadable,
          `cannot remove leftover checkpoint temp file ${file}: ${messageOf(err)}`,
          { cause: err, details: { path: this.files.current } },
        );
      }
    }
    return cleaned;
  }

  async #read(file: string): Promise<ReadResult> {
    let bytes: Buffer;
    try {
      bytes = await this.#fs.readFile(file);
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return { kind: 'missing' };
      throw new RelayError(
        checkpointErrorCodes.unreadable,
        `cannot read checkpoint registry ${file}: ${messageOf(err)}`,
        { cause: err, details: { path: file } },
      );
    }
    return parseRegistry(bytes);
  }

  /** Moves a damaged registry aside for inspection; failing to is not worth failing the start. */
  async #setAside(file: string): Promise<string | undefined> {
    try {
      await this.#fs.rename(file, this.files.corrupt);
      return this.files.corrupt;
    } catch (err) {
      this.#log.warn({ err, file }, 'could not move the damaged checkpoint registry aside');
      return undefined;
    }
  }

  #logLoad(report: CheckpointLoadReport): void {
    if (report.cleanedTempFiles.length > 0) {
      this.#log.info(
        { files: report.cleanedTempFiles },
        'removed temp files of an interrupted checkpoint write',
      );
    }
    if (report.problems.length === 0) {
      if (report.fresh) this.#log.info('no checkpoint registry yet: fresh start');
      else this.#log.info({ entries: report.entries }, 'checkpoint registry loaded');
      return;
    }
    const fields = {
      problems: report.problems,
      source: report.source,
      entries: report.entries,
      corruptCopy: report.corruptCopy,
    };
    if (report.source === 'previous') {
      this.#log.warn(
        fields,
        'checkpoint registry damaged or missing: resuming from its previous copy',
      );
    } else {
      this.#log.warn(
        fields,
        'checkpoint registry and its previous copy unusable: starting empty, files are read from their configured start position',
      );
    }
  }
}

function parseRegistry(bytes: Buffer): ReadResult {
  const bad = (reason: string): ReadResult => ({
    kind: 'bad',
    reason: reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH)}…` : reason,
  });
  if (bytes.length === 0) return bad('empty file (0 bytes)');
  const text = bytes.toString('utf8');
  if (text.trim() === '') return bad(`empty file (${bytes.length} bytes of whitespace)`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return bad(`not valid JSON (${bytes.length} bytes): ${messageOf(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return bad(
      `wrong shape: not a JSON object but ${Array.isArray(value) ? 'an array' : typeof value}`,
    );
  }
  const version: unknown = (value as Record<string, unknown>)['version'];
  if (version === undefined) return bad('wrong shape: no "version" field');
  if (version !== CHECKPOINT_FORMAT_VERSION) {
    return bad(
      `unknown version ${JSON.stringify(version)} (this agent reads version ${CHECKPOINT_FORMAT_VERSION})`,
    );
  }
  const parsed = documentSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? formatKeyPath(issue.path) || '(root)' : '(root)';
    return bad(`wrong shape: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  const entries = new Map<string, StoredEntry>();
  for (const [key, e] of Object.entries(parsed.data.entries)) {
    const entry: StoredEntry = {
      offset: e.offset,
      path: e.path,
      device: e.device,
      inode: e.inode,
      fingerprint: e.fingerprint,
      topic: e.topic,
      updatedAt: e.updatedAt,
    };
    if (e.keyPath !== undefined) entry.keyPath = e.keyPath;
    if (e.removedAt !== undefined) entry.removedAt = e.removedAt;
    const cuts = e.cuts?.filter((c) => c > e.offset).sort((a, b) => a - b);
    if (cuts !== undefined && cuts.length > 0) entry.cuts = cuts;
    entries.set(key, entry);
  }
  return { kind: 'ok', entries };
}

function toEntry(key: string, entry: StoredEntry): CheckpointEntry {
  return Object.freeze({ key, ...entry, keyPath: entry.keyPath ?? entry.path });
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key === '') {
    throw new RelayError(
      checkpointErrorCodes.invalidArgument,
      'stream key must be a non-empty string',
    );
  }
}

function checkOffset(offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RelayError(
      checkpointErrorCodes.invalidArgument,
      `offset must be a non-negative safe integer, got ${String(offset)}`,
    );
  }
}

function codeOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    return err.code;
  }
  return undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
