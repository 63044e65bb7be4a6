import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, normalize } from 'node:path';
import { Etcd3, type Watcher } from 'etcd3';
import { Component } from '../../common/lifecycle/component.js';
import type { Logger } from '../../common/logging/logger.js';
import type { TailConfig } from '../config.js';
import { globProblem } from '../discovery/glob.js';
import { etcdClientOptions, type EtcdConnection } from '../../common/etcd/index.js';

/** A tail the control plane asked for, after the allowlist. */
export interface RemoteTail {
  name: string;
  config: TailConfig;
  allow: readonly string[];
}

export interface RemoteTailsOptions {
  /** How to reach etcd (`remote.etcd`: endpoints, TLS, auth). */
  etcd: EtcdConnection;
  /** Where the config came from, for errors about the files it names. */
  configSource: string;
  /** The etcd key holding this node's tails (`t_logagent_node.key_path`). */
  key: string;
  /** Absolute folders remote tails may read below; nothing else is ever tailed. */
  allow: readonly string[];
  /** Where the last config seen is kept, so a restart during an etcd outage still works. */
  statePath: string;
  /** Re-read interval, in ms: repairs a watch that went silent after a reconnect. */
  pollMs: number;
}

interface EtcdTail {
  id: unknown;
  log_path: unknown;
  topic: unknown;
  status: unknown;
}

const topicPattern = /^[a-zA-Z0-9._-]{1,249}$/;

/**
 * Why a remote tail is refused, or undefined when it may be read. The check is on the path as
 * written (absolute, no `..`, a glob that compiles, below an allowed root); symlinks that lead
 * outside are refused again when files are opened (by what the descriptor really is).
 */
export function refusal(logPath: string, allow: readonly string[]): string | undefined {
  if (!isAbsolute(logPath)) return 'not an absolute path';
  if (logPath.split('/').includes('..') || normalize(logPath) !== logPath)
    return 'not a normalized path (.. or //)';
  const badGlob = globProblem(logPath);
  if (badGlob !== undefined) return badGlob;
  const inside = allow.some((root) => logPath.startsWith(root.endsWith('/') ? root : `${root}/`));
  return inside
    ? undefined
    : `outside the allowed roots (${allow.join(', ') || 'none configured'})`;
}

/** Parses the etcd value (DESIGN: a JSON array of tails) into running, allowed tails. */
export function parseRemoteTails(
  value: string,
  allow: readonly string[],
): { tails: RemoteTail[]; refused: { id: string; logPath: string; reason: string }[] } {
  const parsed: unknown = JSON.parse(value);
  if (!Array.isArray(parsed)) throw new Error('the value is not a JSON array');
  const tails: RemoteTail[] = [];
  const refused: { id: string; logPath: string; reason: string }[] = [];
  for (const raw of parsed as EtcdTail[]) {
    if (raw === null || typeof raw !== 'object') continue;
    const id = String(raw.id);
    const logPath = typeof raw.log_path === 'string' ? raw.log_path : '';
    const topic = typeof raw.topic === 'string' ? raw.topic : '';
    if (String(raw.status) !== '1') continue;
    const why = !topicPattern.test(topic)
      ? `bad topic ${JSON.stringify(topic)}`
      : refusal(logPath, allow);
    if (why) {
      refused.push({ id, logPath, reason: why });
      continue;
    }
    tails.push({
      name: `remote:${id}`,
      config: {
        paths: [logPath],
        exclude: [],
        topic,
        startAt: 'beginning',
        compressed: 'skip',
        includeLines: [],
        excludeLines: [],
        encoding: 'utf-8',
        format: 'raw',
        // t_logagent_tail has no column for them (DESIGN keeps the table as it is).
        fields: {},
      },
      allow,
    });
  }
  return { tails, refused };
}

/**
 * Follows this node's key in etcd and hands the agent its tails. The watch gives changes within
 * milliseconds; a periodic re-read catches a watch that went silent after a reconnect (etcd3
 * #31, #72). While etcd is unreachable, or if the key disappears, the last config stays in force
 * — and is kept on disk for a restart during an outage.
 */
export class RemoteTails extends Component {
  readonly #opts: RemoteTailsOptions;
  readonly #apply: (tails: RemoteTail[]) => Promise<void>;
  readonly #log: Logger;
  #client: Etcd3 | undefined;
  #watcher: Watcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #last: string | undefined;
  /** Refused tails by id, reported at `<key>.status` so `logrelay admin tail list` shows them. */
  #refused = new Map<string, { logPath: string; reason: string }>();
  #reported: string | undefined;
  #applying: Promise<void> = Promise.resolve();
  #connected = false;

  constructor(
    opts: RemoteTailsOptions,
    apply: (tails: RemoteTail[]) => Promise<void>,
    log: Logger,
  ) {
    super('remote-tails');
    this.#opts = opts;
    this.#apply = apply;
    this.#log = log;
  }

  /** True while the last read of the key (or the watch) reached etcd. */
  get connected(): boolean {
    return this.running && this.#connected;
  }

  protected async doStart(): Promise<void> {
    const saved = await readFile(this.#opts.statePath, 'utf8').catch(() => undefined);
    if (saved !== undefined) await this.#offer(saved, 'saved');
    this.#client = new Etcd3(
      await etcdClientOptions(this.#opts.etcd, 'remote.etcd', this.#opts.configSource),
    );
    await this.#read();
    void this.#watch();
    this.#timer = setInterval(() => void this.#read(), this.#opts.pollMs);
  }

  protected async doStop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#watcher?.cancel().catch(() => undefined);
    this.#watcher = undefined;
    this.#client?.close();
    this.#client = undefined;
    await this.#applying;
  }

  /**
   * A file of a remote tail was refused when opened (a symlink leading outside the allowed
   * roots): reported like a tail refused by its path.
   */
  noteRefused(tailName: string, path: string, reason: string): void {
    const id = tailName.replace(/^remote:/, '');
    if (this.#refused.get(id)?.reason === reason) return;
    this.#refused.set(id, { logPath: path, reason });
    void this.#report();
  }

  /** Writes `{"refused":[{"id","log_path","reason"}]}` at `<key>.status` when it changed. */
  async #report(): Promise<void> {
    const refused = [...this.#refused].map(([id, r]) => ({
      id,
      log_path: r.logPath,
      reason: r.reason,
    }));
    const value = JSON.stringify({ refused });
    if (value === this.#reported || !this.#client) return;
    try {
      await this.#client.put(`${this.#opts.key}.status`).value(value);
      this.#reported = value;
    } catch (err) {
      this.#log.warn(
        { err: (err as Error).message },
        'cannot report refused tails to etcd; will retry',
      );
    }
  }

  async #watch(): Promise<void> {
    try {
      const watcher = await this.#client?.watch().key(this.#opts.key).create();
      if (!watcher) return;
      this.#watcher = watcher;
      watcher.on('put', (kv) => void this.#offer(kv.value.toString(), 'watch'));
      watcher.on('delete', () =>
        this.#log.warn(
          { key: this.#opts.key },
          'tails key deleted in etcd; keeping the last config',
        ),
      );
      // After a reconnect the watch may have missed changes: read the key again.
      watcher.on('connected', () => {
        this.#connected = true;
        void this.#read();
      });
      watcher.on('disconnected', () => (this.#connected = false));
      watcher.on('error', (err) => {
        this.#connected = false;
        this.#log.warn({ err }, 'etcd watch error');
      });
    } catch (err) {
      this.#log.warn({ err, key: this.#opts.key }, 'cannot watch etcd; relying on periodic reads');
    }
  }

  async #read(): Promise<void> {
    try {
      const value = await this.#client?.get(this.#opts.key).string();
      if (this.#client) this.#connected = true;
      if (value === null) {
        if (this.#last !== undefined)
          this.#log.warn(
            { key: this.#opts.key },
            'tails key missing in etcd; keeping the last config',
          );
        return;
      }
      if (value !== undefined) await this.#offer(value, 'read');
      if (this.#reported === undefined) await this.#report();
    } catch (err) {
      this.#connected = false;
      this.#log.warn(
        { err: (err as Error).message, key: this.#opts.key },
        'etcd unreachable; keeping the last config',
      );
    }
  }

  #offer(value: string, source: string): Promise<void> {
    this.#applying = this.#applying.then(async () => {
      if (value === this.#last) return;
      let parsed;
      try {
        parsed = parseRemoteTails(value, this.#opts.allow);
      } catch (err) {
        this.#log.error(
          { err: (err as Error).message, key: this.#opts.key, source },
          'ignoring a tails value that is not valid',
        );
        return;
      }
      for (const r of parsed.refused)
        this.#log.warn({ tail: r.id, path: r.logPath, reason: r.reason }, 'remote tail refused');
      this.#last = value;
      this.#refused = new Map(
        parsed.refused.map((r) => [r.id, { logPath: r.logPath, reason: r.reason }]),
      );
      await this.#apply(parsed.tails);
      await this.#report();
      this.#log.info(
        { source, tails: parsed.tails.length, refused: parsed.refused.length },
        'remote tails applied',
      );
      await mkdir(dirname(this.#opts.statePath), { recursive: true });
      await writeFile(`${this.#opts.statePath}.tmp`, value);
      await rename(`${this.#opts.statePath}.tmp`, this.#opts.statePath);
    });
    return this.#applying;
  }
}
