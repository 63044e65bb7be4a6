// Role: spool — the append-only file a syslog input writes what it receives to, fsynced in
// groups and rotated by rename; the agent then tails it like any other file.

import * as fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export interface SpoolOptions {
  directory: string;
  /** The live file is `<name>.log`; rotated ones `<name>.log.<ms since epoch>`. */
  name: string;
  maxFileBytes: number;
  fsyncIntervalMs: number;
  /** Told of each group written and fsynced, with its bytes (for metrics). */
  onSync?: ((bytes: number) => void) | undefined;
}

/** What a rotated spool file is, for the caller's "was all of it acknowledged?" question. */
export interface SpoolFile {
  path: string;
  device: string;
  inode: string;
  size: number;
}

const NEWLINE = Buffer.from('\n');

/**
 * Appends lines to `<name>.log` in groups: lines wait at most `fsyncIntervalMs`, then one write
 * and one fdatasync take all of them (group commit: one disk flush per group, not per message).
 * Past `maxFileBytes` the file is renamed aside and a new one begun — the rename rotation the
 * agent's tailer follows. Nothing here decides when a line is shipped: that is the tail's job.
 */
export class Spool {
  readonly opts: SpoolOptions;
  #fh: FileHandle | undefined;
  #size = 0;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;

  constructor(opts: SpoolOptions) {
    this.opts = opts;
  }

  get livePath(): string {
    return join(this.opts.directory, `${this.opts.name}.log`);
  }

  /** Bytes received and not yet on disk. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  async open(): Promise<void> {
    await fsp.mkdir(this.opts.directory, { recursive: true });
    this.#fh = await fsp.open(this.livePath, 'a');
    this.#size = (await this.#fh.stat()).size;
  }

  /** Queues one line (without its newline); it is on disk after the next group. */
  append(line: Buffer): void {
    this.#pending.push(line, NEWLINE);
    this.#pendingBytes += line.length + 1;
    this.#timer ??= setTimeout(
      () => void this.flush().catch(() => undefined),
      this.opts.fsyncIntervalMs,
    );
  }

  /** Resolves once the lines queued so far are on disk (and the file rotated if it is full). */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const run = async (): Promise<void> => {
      while (this.#pending.length > 0) {
        const group = this.#pending;
        const bytes = this.#pendingBytes;
        this.#pending = [];
        this.#pendingBytes = 0;
        const fh = this.#fh;
        if (fh === undefined) throw new Error(`spool ${this.livePath} is closed`);
        try {
          await fh.writev(group);
          await fh.datasync();
        } catch (err) {
          // Kept for the next attempt: a full disk must not lose what was received.
          this.#pending = [...group, ...this.#pending];
          this.#pendingBytes += bytes;
          throw err;
        }
        this.#size += bytes;
        this.opts.onSync?.(bytes);
        if (this.#size >= this.opts.maxFileBytes) await this.#rotate();
      }
    };
    // One group at a time, in order: a flush asked for during a write runs after it.
    const next = (this.#flushing ?? Promise.resolve()).catch(() => undefined).then(run);
    this.#flushing = next;
    void next
      .catch(() => undefined)
      .then(() => {
        if (this.#flushing === next) this.#flushing = undefined;
      });
    return next;
  }

  async #rotate(): Promise<void> {
    const fh = this.#fh as FileHandle;
    let target = `${this.livePath}.${Date.now()}`;
    for (let n = 1; await exists(target); n++) target = `${this.livePath}.${Date.now()}-${n}`;
    await fsp.rename(this.livePath, target);
    await fh.close();
    this.#fh = await fsp.open(this.livePath, 'a');
    this.#size = 0;
  }

  /** The rotated files (`<name>.log.<ms>`), oldest first. */
  async rotated(): Promise<SpoolFile[]> {
    const prefix = `${this.opts.name}.log.`;
    const names = (await fsp.readdir(this.opts.directory)).filter(
      (n) => n.startsWith(prefix) && /^\d+(-\d+)?$/.test(n.slice(prefix.length)),
    );
    const files: SpoolFile[] = [];
    for (const n of names.sort()) {
      const path = join(this.opts.directory, n);
      try {
        const st = await fsp.stat(path, { bigint: true });
        files.push({
          path,
          device: st.dev.toString(),
          inode: st.ino.toString(),
          size: Number(st.size),
        });
      } catch {
        // Deleted in between.
      }
    }
    return files;
  }

  /** Writes what is queued and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.#fh === undefined) return;
    try {
      await this.flush();
    } finally {
      await this.#fh?.close();
      this.#fh = undefined;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await fsp.stat(path);
    return true;
  } catch {
    return false;
  }
}
