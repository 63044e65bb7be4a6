import { existsSync } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Counter } from 'prom-client';
import { RelayError } from '../../../common/errors/relay-error.js';
import { Component } from '../../../common/lifecycle/component.js';
import { sharedCounter } from '../../../common/metrics/shared-metrics.js';
import { envelopeBuilder } from '../envelope.js';
import { expandPath } from '../path-template.js';
import { sinkNotRunning } from '../in-flight.js';
import type { Sink, SinkBatch, SinkContext } from '../sink.js';
import type { FileSinkConfig } from './config.js';

interface Waiter {
  chunks: Buffer[];
  bytes: number;
  lines: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** One open output file per topic, with group commit: batches waiting together share one fsync. */
interface OpenFile {
  key: string;
  path: string;
  handle: FileHandle;
  size: number;
  openedAt: number;
  queue: Waiter[];
  flushing: Promise<void> | undefined;
}

const newline = Buffer.from('\n');

/**
 * Writes lines (raw, or as JSON envelopes) to local files. A batch is acknowledged after its
 * lines are written and fsynced; concurrent batches of different streams are written together
 * and share one fsync.
 */
export class FileSink extends Component implements Sink {
  readonly #config: FileSinkConfig;
  readonly #ctx: SinkContext;
  readonly #files = new Map<string, OpenFile>();
  /**
   * Opens in progress, by topic. Concurrent first writes to one topic wait for the same open:
   * without it each would pick its own `{n}` and open its own file, and the map would keep only
   * the last, leaking the other handle (Node's DEP0137 warning when it is collected).
   */
  readonly #opening = new Map<string, Promise<OpenFile>>();
  readonly #counters = new Map<string, number>();
  readonly #lines: Counter<'sink'>;
  readonly #bytes: Counter<'sink'>;
  readonly #rolls: Counter<'sink'>;

  constructor(config: FileSinkConfig, ctx: SinkContext) {
    super(config.name);
    this.#config = config;
    this.#ctx = ctx;
    const reg = ctx.registry;
    const counter = (name: string, help: string) => sharedCounter(reg, name, help, ['sink']);
    this.#lines = counter('logrelay_file_sink_lines_total', 'Lines committed by file sinks.');
    this.#bytes = counter(
      'logrelay_file_sink_bytes_total',
      'Bytes (with newlines) committed by file sinks.',
    );
    this.#rolls = counter('logrelay_file_sink_rolls_total', 'Files rolled by file sinks.');
  }

  protected async doStart(): Promise<void> {
    await mkdir(this.#config.directory, { recursive: true });
  }

  protected async doStop(): Promise<void> {
    // An open still in progress lands in #files when it settles; wait so it is closed below.
    await Promise.allSettled([...this.#opening.values()]);
    for (const file of [...this.#files.values()]) await this.#close(file);
  }

  async write(batch: SinkBatch): Promise<void> {
    if (!this.running) throw sinkNotRunning('file', this.name, this.state);
    const chunks: Buffer[] = [];
    let bytes = 0;
    if (this.#config.format === 'json') {
      const envelope = envelopeBuilder(batch);
      for (let i = 0; i < batch.lines.length; i++) {
        const json = Buffer.from(
          `${envelope(batch.lines[i] as Buffer, batch.offsets[i] as number)}\n`,
        );
        chunks.push(json);
        bytes += json.length;
      }
    } else {
      for (const line of batch.lines) {
        chunks.push(line, newline);
        bytes += line.length + 1;
      }
    }
    const file = await this.#fileFor(batch.topic);
    await new Promise<void>((resolve, reject) => {
      file.queue.push({ chunks, bytes, lines: batch.lines.length, resolve, reject });
      file.flushing ??= this.#flush(file);
    });
  }

  async #fileFor(topic: string): Promise<OpenFile> {
    const now = Date.now();
    let file = this.#files.get(topic);
    if (
      file &&
      (file.size >= this.#config.maxFileBytes || now - file.openedAt >= this.#config.maxFileAgeMs)
    ) {
      this.#files.delete(topic);
      this.#rolls.inc({ sink: this.name });
      void this.#close(file);
      file = undefined;
    }
    if (file) return file;
    const pending = this.#opening.get(topic);
    if (pending) return pending;
    const opening = this.#open(topic, now).finally(() => this.#opening.delete(topic));
    this.#opening.set(topic, opening);
    return opening;
  }

  async #open(topic: string, now: number): Promise<OpenFile> {
    // Never reopen a file that exists: each file has one writer, and a rolled one stays closed.
    let n = this.#counters.get(topic) ?? 0;
    let path: string;
    for (;;) {
      path = join(
        this.#config.directory,
        expandPath(this.#config.pathTemplate, {
          topic,
          collector: this.#ctx.collectorId,
          n,
          time: new Date(now),
        }),
      );
      if (!existsSync(path)) break;
      n++;
    }
    this.#counters.set(topic, n + 1);
    await mkdir(dirname(path), { recursive: true });
    let handle: FileHandle;
    try {
      handle = await open(path, 'wx');
    } catch (err) {
      throw new RelayError('SINK_IO', `cannot create ${path}`, { retriable: true, cause: err });
    }
    const opened: OpenFile = {
      key: topic,
      path,
      handle,
      size: 0,
      openedAt: now,
      queue: [],
      flushing: undefined,
    };
    this.#files.set(topic, opened);
    return opened;
  }

  async #flush(file: OpenFile): Promise<void> {
    while (file.queue.length > 0) {
      const waiters = file.queue.splice(0);
      const chunks = waiters.flatMap((w) => w.chunks);
      try {
        // writev may write partially; loop until every byte is down.
        let remaining = chunks;
        while (remaining.length > 0) {
          const { bytesWritten } = await file.handle.writev(remaining);
          remaining = advance(remaining, bytesWritten);
        }
        if (this.#config.fsync) await file.handle.sync();
        let bytes = 0;
        let lines = 0;
        for (const w of waiters) {
          bytes += w.bytes;
          lines += w.lines;
        }
        file.size += bytes;
        this.#bytes.inc({ sink: this.name }, bytes);
        this.#lines.inc({ sink: this.name }, lines);
        for (const w of waiters) w.resolve();
      } catch (err) {
        const error = new RelayError('SINK_IO', `writing ${file.path} failed`, {
          retriable: true,
          cause: err,
        });
        for (const w of waiters) w.reject(error);
        // The file's tail is now unknown: stop using it so retries go to a fresh file, and
        // close it once this loop is done so its descriptor is not leaked.
        if (this.#files.get(file.key) === file) {
          this.#files.delete(file.key);
          void this.#close(file);
        }
      }
    }
    file.flushing = undefined;
  }

  async #close(file: OpenFile): Promise<void> {
    if (this.#files.get(file.key) === file) this.#files.delete(file.key);
    while (file.flushing) await file.flushing;
    await file.handle.close().catch(() => undefined);
  }
}

/** Drops `n` written bytes from the front of a chunk list. */
function advance(chunks: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (i < chunks.length && n >= (chunks[i]?.length ?? 0)) {
    n -= chunks[i]?.length ?? 0;
    i++;
  }
  const rest = chunks.slice(i);
  if (n > 0 && rest[0]) rest[0] = rest[0].subarray(n);
  return rest;
}
