/**
 * The reference every figure is printed beside: `cat FILE > /dev/null`, timed in the same run
 * on the same (page-cached) file. Also a diagnostic: plain positional reads from Node, without
 * line splitting, to tell the cost of the runtime's I/O from the cost of our code.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';

export interface Timing {
  /** Median of the timed runs, in seconds. */
  seconds: number;
  /** Every timed run, in seconds. */
  runs: number[];
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function catOnce(path: string, devNull: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('cat', [path], { stdio: ['ignore', devNull, 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code === 0) resolve(seconds);
      else reject(new Error(`cat ${path} failed: ${signal ?? `exit ${code}`}`));
    });
  });
}

/**
 * Wall time of `cat FILE > /dev/null` (spawn to exit): one untimed run to warm the page
 * cache, then `runs` timed runs.
 */
export async function timeCat(path: string, runs: number): Promise<Timing> {
  const devNull = openSync('/dev/null', 'w');
  try {
    await catOnce(path, devNull);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await catOnce(path, devNull));
    return { seconds: median(times), runs: times };
  } finally {
    closeSync(devNull);
  }
}

/** Wall time of reading the whole file with FileHandle.read into one reused buffer. */
export async function timeNodeRead(path: string, chunkBytes: number): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(chunkBytes);
    const started = process.hrtime.bigint();
    let position = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, chunkBytes, position);
      if (bytesRead === 0) break;
      position += bytesRead;
    }
    return Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    await handle.close();
  }
}

/**
 * Runs a reference tool to its end with stdout discarded; resolves to the tail of its stderr,
 * rejects (naming the tool) when it exits non-zero.
 */
export function runTool(name: string, command: string, args: readonly string[]): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => (err = (err + s).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(err) : reject(new Error(`${name} failed (${code}): ${err.trim()}`)),
    );
  });
}
