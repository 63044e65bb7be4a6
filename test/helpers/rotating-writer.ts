import { appendFile, copyFile, rename, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { sleep } from './wait-for.js';

/** How a log file is rotated, as logrotate does it. */
export type RotationStyle =
  /** `app.log.N` → `app.log.N+1`, …, `app.log` → `app.log.1`; the writer then creates `app.log`. */
  | 'rename'
  /** `app.log` copied to `app.log.1` (older copies shifted up), then truncated in place. */
  | 'copytruncate';

export interface RotatingWriterOptions {
  dir: string;
  /** Base names of the files (`<name>.log`). */
  files: readonly string[];
  linesPerFile: number;
  /** Rotate a file after every this many of its lines. */
  rotateEvery: number;
  style: RotationStyle;
  /** Time over which the lines are spread, in ms. */
  durationMs: number;
}

/** `<file>#<n> <padding>`: unique per line, with a varying length. */
export const rotationLine = (file: string, n: number): string =>
  `${file}#${String(n).padStart(7, '0')} ${'r'.repeat(8 + ((n * 7919) % 61))}`;

/**
 * Writes `linesPerFile` lines to each `<dir>/<file>.log` at an even rate over `durationMs`,
 * rotating every `rotateEvery` lines. Every line written is pushed to `written` as it is written.
 * Returns the number of rotations per file.
 */
export async function writeRotating(
  options: RotatingWriterOptions,
  written: string[],
): Promise<number> {
  const { dir, files, linesPerFile, rotateEvery, style, durationMs } = options;
  const next = new Map(files.map((f) => [f, 0]));
  const generations = new Map(files.map((f) => [f, 0]));
  const started = Date.now();
  for (;;) {
    const target = Math.min(
      linesPerFile,
      Math.ceil(((Date.now() - started) / durationMs) * linesPerFile),
    );
    for (const file of files) {
      let n = next.get(file) ?? 0;
      while (n < target) {
        if (n > 0 && n % rotateEvery === 0) {
          const kept = (generations.get(file) ?? 0) + 1;
          generations.set(file, kept);
          await rotate(join(dir, `${file}.log`), kept, style);
        }
        const end = Math.min(target, (Math.floor(n / rotateEvery) + 1) * rotateEvery);
        const lines: string[] = [];
        for (let i = n; i < end; i++) lines.push(rotationLine(file, i));
        await appendFile(join(dir, `${file}.log`), lines.join('\n') + '\n');
        written.push(...lines);
        n = end;
        next.set(file, n);
      }
    }
    if (target >= linesPerFile) return Math.floor((linesPerFile - 1) / rotateEvery);
    await sleep(10);
  }
}

/**
 * One rotation of `path`, its `generations`-th: the `generations - 1` rotated copies before it
 * are shifted up (none deleted), then `path` becomes `path.1` (renamed, or copied and truncated).
 */
export async function rotate(
  path: string,
  generations: number,
  style: RotationStyle,
): Promise<void> {
  for (let k = generations - 1; k >= 1; k--) {
    await rename(`${path}.${k}`, `${path}.${k + 1}`);
  }
  if (style === 'rename') {
    await rename(path, `${path}.1`);
  } else {
    await copyFile(path, `${path}.1`);
    await truncate(path, 0);
  }
}

/** The line's file and number, from a {@link rotationLine}. */
export function parseRotationLine(line: string): { file: string; n: number } {
  const hash = line.indexOf('#');
  return { file: line.slice(0, hash), n: Number(line.slice(hash + 1, hash + 8)) };
}

/** Times a line of a file arrives after a later line of the same file (delivered order). */
export function perFileOrderBreaks(delivered: readonly string[]): number {
  const last = new Map<string, number>();
  let breaks = 0;
  for (const line of delivered) {
    const { file, n } = parseRotationLine(line);
    const prev = last.get(file);
    if (prev !== undefined && n < prev) breaks++;
    if (prev === undefined || n > prev) last.set(file, n);
  }
  return breaks;
}

/** Size of a file, 0 when it does not exist. */
export async function sizeOf(path: string): Promise<number> {
  return (await stat(path).catch(() => undefined))?.size ?? 0;
}
