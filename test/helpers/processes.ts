import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { sleep } from './wait-for.js';

/** The repository root (where `bin/logrelay.js` and `scripts/` are). */
export const repoRoot = new URL('../../', import.meta.url).pathname;

const bin = join(repoRoot, 'bin', 'logrelay.js');

export type Role = 'agent' | 'collector';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One JSON log line of a logrelay process (pino). */
export type LogEntry = Record<string, unknown>;

/**
 * A `logrelay agent|collector -c <yaml>` child process. Its stdout and stderr (the JSON logs) go
 * to `logFile`, which is opened for appending so that several generations of a restarted process
 * can share one file; `waitForLog` only looks at lines of this process (by pid).
 */
export class LogrelayProcess {
  readonly role: Role;
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logFile: string;
  readonly configFile: string;
  readonly startedAt = Date.now();
  readonly exited: Promise<ExitInfo>;
  #exit: ExitInfo | undefined;

  constructor(role: Role, name: string, child: ChildProcess, logFile: string, configFile: string) {
    if (child.pid === undefined) throw new Error(`${role} ${name} did not start`);
    this.role = role;
    this.name = name;
    this.child = child;
    this.pid = child.pid;
    this.logFile = logFile;
    this.configFile = configFile;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
  }

  /** True until the process has exited. */
  get alive(): boolean {
    return this.#exit === undefined;
  }

  get exitInfo(): ExitInfo | undefined {
    return this.#exit;
  }

  /** Sends `signal` (by this process's pid only) and waits until the process has exited. */
  async kill(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<ExitInfo> {
    if (!this.alive) return this.#exit as ExitInfo;
    this.child.kill(signal);
    const timer = sleep(timeoutMs).then(() => undefined);
    const result = await Promise.race([this.exited, timer]);
    if (result) return result;
    if (signal !== 'SIGKILL') return this.kill('SIGKILL', timeoutMs);
    throw new Error(`${this.role} ${this.name} (pid ${this.pid}) did not exit after SIGKILL`);
  }

  /** This process's log lines so far (lines that are not JSON are skipped). */
  async logEntries(): Promise<LogEntry[]> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '');
    const out: LogEntry[] = [];
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as LogEntry;
        if (entry['pid'] === this.pid) out.push(entry);
      } catch {
        // a line being written right now
      }
    }
    return out;
  }

  /** Waits for a log line of this process that matches; fails early if the process exits. */
  async waitForLog(
    match: (entry: LogEntry) => boolean,
    { timeoutMs = 20_000, what = 'log line' } = {},
  ): Promise<LogEntry> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (await this.logEntries()).find(match);
      if (found) return found;
      if (!this.alive) {
        throw new Error(
          `${this.role} ${this.name} (pid ${this.pid}) exited (${JSON.stringify(this.#exit)}) ` +
            `before logging ${what}; see ${this.logFile}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what} of ${this.role} ${this.name}`);
      }
      await sleep(50);
    }
  }

  /** The URL of the ops endpoint (/metrics, /healthz), from the process's log. */
  async opsUrl(timeoutMs = 20_000): Promise<string> {
    const entry = await this.waitForLog((e) => e['msg'] === 'ops endpoint listening', {
      timeoutMs,
      what: 'ops endpoint',
    });
    return String(entry['url']);
  }

  /** Resident set size now, in bytes (from /proc), or undefined once the process is gone. */
  async rssBytes(): Promise<number | undefined> {
    const status = await readFile(`/proc/${this.pid}/status`, 'utf8').catch(() => undefined);
    const kb = status?.match(/^VmRSS:\s+(\d+)\s+kB/m)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  }
}

/** Every process started by `spawnLogrelay` and not yet reaped, for `killAll`. */
const started = new Set<LogrelayProcess>();

/**
 * Starts `node bin/logrelay.js <role> -c <dir>/<name>.yaml` with `config` written as YAML.
 * Needs a built dist/ (`npx tsc -p tsconfig.build.json`).
 */
export async function spawnLogrelay(
  role: Role,
  name: string,
  config: Record<string, unknown>,
  { dir, env = {} }: { dir: string; env?: Record<string, string> },
): Promise<LogrelayProcess> {
  if (!existsSync(join(repoRoot, 'dist', 'cli.js'))) {
    throw new Error('dist/cli.js is missing: build first (npx tsc -p tsconfig.build.json)');
  }
  const configFile = join(dir, `${name}.yaml`);
  await writeFile(configFile, stringify(config));
  const logFile = join(dir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(process.execPath, [bin, role, '-c', configFile], {
      cwd: dir,
      env: { ...process.env, ...env },
      stdio: ['ignore', fd, fd],
    });
    const proc = new LogrelayProcess(role, name, child, logFile, configFile);
    started.add(proc);
    void proc.exited.then(() => started.delete(proc));
    return proc;
  } finally {
    closeSync(fd);
  }
}

/** SIGKILLs every child started here that is still running (for afterAll). */
export async function killAll(): Promise<void> {
  await Promise.all([...started].map((p) => p.kill('SIGKILL').catch(() => undefined)));
}

/** The text of a process's Prometheus endpoint. */
export async function scrape(opsUrl: string): Promise<string> {
  const res = await fetch(`${opsUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET ${opsUrl}/metrics: ${res.status}`);
  return res.text();
}

/**
 * The sum of the samples of metric `name` (exactly that name, so `_total` must be given) in
 * Prometheus text, restricted to the samples whose labels include every pair of `labels`.
 */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/);
    if (!m || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      have.set(pair[1] as string, pair[2] as string);
    }
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[3]);
  }
  return sum;
}

/** A uniformly random integer in [min, max]. */
export function randomBetween(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

/**
 * Warnings and errors in a log file (every process that wrote to it), counted by
 * `<level>: <msg>`, for a test's report.
 */
export async function logProblems(logFile: string): Promise<Record<string, number>> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) {
      if (line.trim())
        out[`stderr: ${line.slice(0, 80)}`] = (out[`stderr: ${line.slice(0, 80)}`] ?? 0) + 1;
      continue;
    }
    try {
      const entry = JSON.parse(line) as LogEntry;
      const level = String(entry['level']);
      if (level !== 'warn' && level !== 'error' && level !== 'fatal') continue;
      const key = `${level}: ${String(entry['msg'])}`;
      out[key] = (out[key] ?? 0) + 1;
    } catch {
      // a torn last line of a killed process
    }
  }
  return out;
}
