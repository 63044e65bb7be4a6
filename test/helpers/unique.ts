import { randomBytes } from 'node:crypto';

/** A name unique to this run, safe for topics, databases, znodes and paths: `prefix_<time>_<rand>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}
