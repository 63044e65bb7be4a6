import { readFileSync } from 'node:fs';

/**
 * The soft limit on open file descriptors from a `/proc/<pid>/limits` text ("Max open files"),
 * or undefined when it is absent or unlimited.
 */
export function parseOpenFilesLimit(limits: string): number | undefined {
  const line = limits.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === undefined || !/^\d+$/.test(soft)) return undefined;
  return Number(soft);
}

/** This process's soft limit on open files (Linux), or undefined where it cannot be read. */
export function openFilesLimit(): number | undefined {
  try {
    return parseOpenFilesLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}
