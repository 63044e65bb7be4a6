import { isIP } from 'node:net';
import { RelayError } from '../../common/errors/relay-error.js';

/**
 * Input checks for the control plane. Every value that reaches MySQL or an agent goes through
 * these first: the columns have fixed widths (DESIGN.md "Control plane"), and an agent must never
 * receive a path it could misread (relative, `..` escapes, a glob it cannot parse).
 */

/** Raised for input the operator must fix; the CLI exits with the usage code. */
export class AdminInputError extends RelayError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ADMIN_INVALID_INPUT', message, details ? { details } : {});
  }
}

/** The widths of the columns values are stored in (DESIGN.md). */
export const columnLimits = {
  ip: 16,
  keyPath: 255,
  serverName: 255,
  logPath: 255,
  topic: 249,
} as const;

/** Kafka's own topic rule, so that a topic accepted here is also accepted by the Kafka sink. */
const topicPattern = /^[a-zA-Z0-9._-]{1,249}$/;

// Control characters in a path or name are never intended and corrupt terminal output.
// eslint-disable-next-line no-control-regex
const controlChars = /[\u0000-\u001f\u007f]/;

function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new AdminInputError(`${what} must be a string`);
  return value;
}

/** A positive integer id (a row id), from a number or its decimal string. */
export function validateId(value: unknown, what = 'id'): number {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : '';
  if (!/^[1-9][0-9]{0,9}$/.test(text) || Number(text) > 2_147_483_647) {
    throw new AdminInputError(`${what} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return Number(text);
}

/**
 * An IPv4 or IPv6 address that fits `ip varchar(16)`. IPv6 is lower-cased because the column's
 * collation is case-insensitive: `FE80::1` and `fe80::1` are the same node.
 */
export function validateIp(value: unknown): string {
  const ip = requireString(value, 'ip').trim().toLowerCase();
  if (isIP(ip) === 0) throw new AdminInputError(`ip ${JSON.stringify(value)} is not an IP address`);
  if (ip.length > columnLimits.ip) {
    throw new AdminInputError(
      `ip ${ip} is longer than ${columnLimits.ip} characters (the width of t_logagent_node.ip)`,
    );
  }
  return ip;
}

/** A server (service) name: free text, but bounded and without control characters. */
export function validateServerName(value: unknown): string {
  const name = requireString(value, 'server name');
  if (name.length > columnLimits.serverName) {
    throw new AdminInputError(`server name is longer than ${columnLimits.serverName} characters`);
  }
  if (controlChars.test(name)) throw new AdminInputError('server name contains control characters');
  return name;
}

/** An etcd key an agent watches: absolute, bounded, no empty or `..` segments. */
export function validateKeyPath(value: unknown): string {
  const key = requireString(value, 'key path');
  if (!key.startsWith('/')) throw new AdminInputError(`key path ${key} must start with /`);
  if (key.length > columnLimits.keyPath) {
    throw new AdminInputError(`key path is longer than ${columnLimits.keyPath} characters`);
  }
  if (controlChars.test(key)) throw new AdminInputError('key path contains control characters');
  if (key.split('/').some((s) => s === '..' || s === '.')) {
    throw new AdminInputError(`key path ${key} must not contain . or .. segments`);
  }
  return key;
}

/** The default etcd key of a node, derived from its ip as the issue describes. */
export function defaultKeyPath(ip: string): string {
  return `/logagent/${ip}/tails`;
}

/**
 * Why `glob` is not a glob the agent can use, or undefined when it is. The agent's matcher
 * (src/agent/discovery/glob.ts) silently treats an unclosed `[` as a literal, so a typo would
 * tail nothing without a word; here it is an error instead.
 */
export function globProblem(glob: string): string | undefined {
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) return `unclosed [ at position ${i + 1}`;
      const body = glob.slice(i + 1, end);
      const set = body.startsWith('!') ? body.slice(1) : body;
      if (set.length === 0) return `empty character class at position ${i + 1}`;
      if (set.includes('/')) return `a character class cannot contain / (position ${i + 1})`;
      if (set.includes('[')) return `nested [ at position ${i + 1}`;
      // A reversed range such as [z-a] matches nothing at all.
      for (const m of set.matchAll(/(.)-(.)/gu)) {
        const [, from, to] = m as unknown as [string, string, string];
        if (from > to) return `reversed range ${from}-${to} at position ${i + 1}`;
      }
      i = end;
    } else if (c === ']') {
      return `unmatched ] at position ${i + 1}`;
    }
  }
  for (const segment of glob.split('/')) {
    // `**` means "any number of directories" only as a whole segment; `a**b` is a typo.
    if (segment.includes('**') && segment !== '**') {
      return `** must be a whole path segment, not part of "${segment}"`;
    }
  }
  return undefined;
}

/** A log path or glob a tail reads: absolute, ≤ 255 characters, no `..`, a valid glob. */
export function validateLogPath(value: unknown): string {
  const path = requireString(value, 'log path');
  if (path.length === 0) throw new AdminInputError('log path is empty');
  if (!path.startsWith('/')) {
    throw new AdminInputError(`log path ${path} is relative; it must be absolute (start with /)`);
  }
  if (path.length > columnLimits.logPath) {
    throw new AdminInputError(
      `log path is ${path.length} characters; at most ${columnLimits.logPath} fit t_logagent_tail.log_path`,
    );
  }
  if (controlChars.test(path)) throw new AdminInputError('log path contains control characters');
  if (path.includes('\\')) throw new AdminInputError(`log path ${path} must not contain \\`);
  const segments = path.split('/').slice(1);
  if (segments.some((s) => s === '..' || s === '.')) {
    throw new AdminInputError(`log path ${path} must not contain . or .. segments`);
  }
  if (segments.some((s) => s === '')) {
    throw new AdminInputError(`log path ${path} has an empty segment (// or a trailing /)`);
  }
  const problem = globProblem(path);
  if (problem) throw new AdminInputError(`log path ${path} is not a valid glob: ${problem}`);
  return path;
}

/** A topic: Kafka's rules, `[a-zA-Z0-9._-]{1,249}` (and not `.` or `..`). */
export function validateTopic(value: unknown): string {
  const topic = requireString(value, 'topic');
  if (!topicPattern.test(topic) || topic === '.' || topic === '..') {
    throw new AdminInputError(
      `topic ${JSON.stringify(topic)} is invalid: 1-249 characters of a-z A-Z 0-9 . _ -`,
    );
  }
  return topic;
}

/** A tail's status as DESIGN.md has it: `1` running, `0` stopped. */
export type TailStatus = '0' | '1';

export function validateStatus(value: unknown): TailStatus {
  if (value === '0' || value === '1') return value;
  throw new AdminInputError(
    `status must be "0" (stopped) or "1" (running), got ${JSON.stringify(value)}`,
  );
}
