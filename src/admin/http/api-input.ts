import { RelayError } from '../../common/errors/relay-error.js';
import type { NewNode, NewTail } from '../store/store.js';
import {
  AdminInputError,
  validateId,
  validateIp,
  validateKeyPath,
  validateLogPath,
  validateServerName,
  validateStatus,
  validateTopic,
} from '../store/validate.js';

/**
 * Strict checks of what an HTTP client sends, before any value reaches the store: the body is
 * one JSON object, it names only known fields, and each field has the JSON type it should. The
 * values themselves then go through src/admin/store/validate.ts, the same checks as the CLI's.
 * A type is never coerced (`"5"` is not a node id, `1` is not a status): a client that sends the
 * wrong type has a bug that coercion would hide.
 */

/** The largest request body accepted by default (bytes): 64 KiB, far above any valid request. */
export const defaultMaxBodyBytes = 64 * 1024;

/** A body larger than the limit; answered 413. */
export class BodyTooLargeError extends RelayError {
  constructor(limit: number) {
    super('ADMIN_BODY_TOO_LARGE', `the request body is larger than ${limit} bytes`, {
      details: { limit },
    });
  }
}

/** A body that is not JSON; answered 415. */
export class UnsupportedMediaTypeError extends RelayError {
  constructor(contentType: string | undefined) {
    super(
      'ADMIN_UNSUPPORTED_MEDIA_TYPE',
      `the request body must be application/json, not ${contentType ? JSON.stringify(contentType) : 'untyped'}`,
    );
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses a request body into a JSON object. An empty body counts as `{}` only when
 * `emptyAllowed` (endpoints without fields); anything but an object is refused.
 */
export function parseJsonObject(
  raw: Buffer,
  contentType: string | undefined,
  emptyAllowed: boolean,
): Record<string, unknown> {
  if (raw.length === 0) {
    if (emptyAllowed) return {};
    throw new AdminInputError('the request body must be a JSON object, and it is empty');
  }
  // Only the media type counts; parameters such as charset=utf-8 are fine.
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json') throw new UnsupportedMediaTypeError(contentType);
  let text: string;
  try {
    text = decoder.decode(raw);
  } catch {
    throw new AdminInputError('the request body is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new AdminInputError(
      `the request body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AdminInputError(
      `the request body must be a JSON object, not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}`,
    );
  }
  return value as Record<string, unknown>;
}

/** The JSON type name of `value`, for error messages. */
function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Refuses fields other than `allowed` (a typo must not silently fall back to a default). */
export function onlyFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    throw new AdminInputError(
      `unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; allowed: ${allowed.length > 0 ? allowed.join(', ') : 'none'}`,
    );
  }
}

/** `body[name]` when it is a string; undefined when absent and optional. */
function stringField(body: Record<string, unknown>, name: string, required: true): string;
function stringField(
  body: Record<string, unknown>,
  name: string,
  required: false,
): string | undefined;
function stringField(
  body: Record<string, unknown>,
  name: string,
  required: boolean,
): string | undefined {
  if (!Object.hasOwn(body, name)) {
    if (required) throw new AdminInputError(`field "${name}" is required`);
    return undefined;
  }
  const value = body[name];
  if (typeof value !== 'string') {
    throw new AdminInputError(`field "${name}" must be a string, not ${jsonType(value)}`);
  }
  return value;
}

/** `body[name]` when it is a JSON number that is a positive row id. */
function idField(body: Record<string, unknown>, name: string): number {
  if (!Object.hasOwn(body, name)) throw new AdminInputError(`field "${name}" is required`);
  const value = body[name];
  if (typeof value !== 'number') {
    throw new AdminInputError(`field "${name}" must be a number, not ${jsonType(value)}`);
  }
  return validateId(value, `field "${name}"`);
}

/** The body of `POST /api/nodes`: `{ ip, serverName?, keyPath? }`. */
export function parseNewNode(body: Record<string, unknown>): NewNode {
  onlyFields(body, ['ip', 'serverName', 'keyPath']);
  const ip = validateIp(stringField(body, 'ip', true));
  const serverName = stringField(body, 'serverName', false);
  const keyPath = stringField(body, 'keyPath', false);
  return {
    ip,
    ...(serverName === undefined ? {} : { serverName: validateServerName(serverName) }),
    ...(keyPath === undefined ? {} : { keyPath: validateKeyPath(keyPath) }),
  };
}

/** The body of `POST /api/tails`: `{ nodeId, logPath, topic, status? }`. */
export function parseNewTail(body: Record<string, unknown>): NewTail {
  onlyFields(body, ['nodeId', 'logPath', 'topic', 'status']);
  const nodeId = idField(body, 'nodeId');
  const logPath = validateLogPath(stringField(body, 'logPath', true));
  const topic = validateTopic(stringField(body, 'topic', true));
  const status = stringField(body, 'status', false);
  return {
    nodeId,
    logPath,
    topic,
    ...(status === undefined ? {} : { status: validateStatus(status) }),
  };
}

/**
 * The query of a request as a map, refusing names other than `allowed` and repeated names
 * (`?nodeId=1&nodeId=2` has no single meaning).
 */
export function parseQuery(search: string, allowed: readonly string[]): Map<string, string> {
  const params = new URLSearchParams(search);
  const result = new Map<string, string>();
  for (const [name, value] of params) {
    if (!allowed.includes(name)) {
      throw new AdminInputError(
        `unknown query parameter ${JSON.stringify(name)}; allowed: ${allowed.length > 0 ? allowed.join(', ') : 'none'}`,
      );
    }
    if (result.has(name)) throw new AdminInputError(`query parameter "${name}" is repeated`);
    result.set(name, value);
  }
  return result;
}
