import {
  MongoBulkWriteError,
  MongoError,
  MongoNetworkError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';
import { RelayError } from '../../../common/errors/relay-error.js';

// How the MongoDB sink classifies the driver's and the server's errors: retriable (an outage,
// credentials) or rejected (the documents or the namespace can never be written).

/** MongoDB's duplicate key error. */
const DUPLICATE_KEY = 11000;

/**
 * Server error codes that say nothing about the batch: the server is down, stepping down,
 * shutting down, busy, short of members for the write concern, or the relay's account cannot
 * write (an operator fixes the credentials; nothing is lost meanwhile). Retrying later may
 * succeed. (Unknown codes are retriable too; these are named for the log.)
 */
const RETRIABLE_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  11, // UserNotFound
  13, // Unauthorized
  18, // AuthenticationFailed
  24, // LockTimeout
  46, // LockBusy
  50, // MaxTimeMSExpired
  59, // CommandNotFound (saslStart on a server without authentication)
  64, // WriteConcernFailed
  89, // NetworkTimeout
  91, // ShutdownInProgress
  100, // UnsatisfiableWriteConcern (too few members now)
  112, // WriteConflict
  133, // FailedToSatisfyReadPreference
  189, // PrimarySteppedDown
  202, // NetworkInterfaceExceededTimeLimit
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
  14031, // OutOfDiskSpace
]);

/**
 * Server error codes caused by the documents or the namespace: the same batch fails the same
 * way every time.
 */
const REJECTED_CODES = new Set([
  22, // InvalidBSON
  73, // InvalidNamespace
  11000, // DuplicateKey, on a unique index other than _id (a duplicate _id is already written)
  121, // DocumentValidationFailure
  10334, // BSONObjectTooLarge
  17280, // KeyTooLong
  17419, // DocumentTooLarge (insert command)
  17420, // DocumentTooLarge
  // mongo-java-server's codes for namespaces MongoDB reports as InvalidNamespace:
  10080, // ns name too long
  10093, // cannot insert into reserved $ collection
  16459, // attempt to insert in system namespace
]);

/** Error labels of a failure that a later attempt may not meet. */
const RETRIABLE_LABELS = [
  'RetryableWriteError',
  'RetryableError',
  'ResetPool',
  'HandshakeError',
  'PoolRequestedRetry',
  'SystemOverloadedError',
  'NoWritesPerformed',
];

interface DriverError {
  code?: unknown;
  codeName?: unknown;
  name?: unknown;
  errmsg?: unknown;
  message?: unknown;
}

/** One per-document error of an unordered insert, as the server reported it. */
interface DocumentWriteError {
  index: number;
  code: number;
  errmsg: string;
}

/** The server's numeric error code, if any. */
function serverCode(err: unknown): number | undefined {
  const code = (err as DriverError | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * The name an error is counted under in `logrelay_mongodb_sink_errors_total`: the server's code
 * name (`NotWritablePrimary`), else `E<code>`, else the driver's error class
 * (`MongoServerSelectionError`), else the RelayError code (of a RelayError wrapping a driver error:
 * the driver error's).
 */
export function errorCode(err: unknown): string {
  if (err instanceof RelayError) {
    // One of ours wrapping the driver's error: counted under the driver's code.
    const driverCode = err.details?.['driverCode'];
    return typeof driverCode === 'string' ? driverCode : err.code;
  }
  const e = (err ?? {}) as DriverError;
  if (typeof e.codeName === 'string' && /^[A-Za-z0-9_]{1,64}$/.test(e.codeName)) return e.codeName;
  const code = serverCode(err);
  if (code !== undefined) return `E${code}`;
  if (typeof e.name === 'string' && /^[A-Za-z0-9_]{1,64}$/.test(e.name)) return e.name;
  return 'UNKNOWN';
}

function hasRetriableLabel(err: unknown): boolean {
  if (!(err instanceof MongoError)) return false;
  return RETRIABLE_LABELS.some((label) => err.hasErrorLabel(label));
}

/** A client-side refusal of a document too large to send (the BSON serializer's or driver's). */
function isTooLargeForClient(err: unknown): boolean {
  const message = err instanceof Error ? err.message : '';
  return /larger than the maximum size|document is too large|BSONObj size/i.test(message);
}

/**
 * Maps a driver error to a RelayError: SINK_REJECTED (not retriable) when the documents or the
 * namespace can never be written (invalid namespace, document validation, BSON too large, a
 * duplicate key — callers take a duplicate `_id` as written before they get here);
 * SINK_UNAVAILABLE (retriable) otherwise — network errors, server selection timeouts, a primary
 * stepping down or shutting down, exceeded time limits, write-concern failures, errors labelled
 * retryable, authentication failures (an operator fixes the credentials, nothing is lost) and
 * anything unknown (a sink never drops data on an error it cannot classify; the collector
 * retries it).
 */
export function toRelayError(err: unknown, sinkName: string): RelayError {
  if (err instanceof RelayError) return err;
  const code = serverCode(err);
  const message = err instanceof Error ? err.message : String(err);
  const details: Record<string, unknown> = {
    driverCode: errorCode(err),
    ...(code === undefined ? {} : { serverCode: code }),
  };
  const outage =
    err instanceof MongoNetworkError ||
    err instanceof MongoServerSelectionError ||
    err instanceof MongoTopologyClosedError ||
    hasRetriableLabel(err) ||
    (code !== undefined && RETRIABLE_CODES.has(code));
  const rejected =
    !outage &&
    ((code !== undefined && REJECTED_CODES.has(code)) ||
      (code === undefined && isTooLargeForClient(err)));
  if (rejected) {
    return new RelayError(
      'SINK_REJECTED',
      `MongoDB sink ${sinkName} rejected a batch: ${message}`,
      { retriable: false, cause: err, details },
    );
  }
  return new RelayError(
    'SINK_UNAVAILABLE',
    `MongoDB sink ${sinkName} ${outage ? 'cannot write' : 'failed'}: ${message}`,
    { retriable: true, cause: err, details },
  );
}

/** The per-document write errors of an insertMany failure (none for other failures). */
export function documentWriteErrors(err: unknown): DocumentWriteError[] {
  if (!(err instanceof MongoBulkWriteError)) return [];
  const list = [err.writeErrors].flat().filter((w) => w !== undefined);
  return list.map((w) => ({ index: w.index, code: w.code, errmsg: String(w.errmsg ?? '') }));
}

/**
 * True for a duplicate key on `_id`: the document is already stored (the `_id` is derived from
 * stream and offset, so it is this very line). A duplicate on another unique index an operator
 * added is not: that document can never be written.
 */
export function isDuplicateId(error: { code: number; errmsg: string }): boolean {
  if (error.code !== DUPLICATE_KEY) return false;
  const index = /index: (\S+)/.exec(error.errmsg)?.[1];
  return index === undefined || index === '_id_';
}

/** Whether a bulk failure carries a write-concern error (the writes may not be durable). */
export function hasWriteConcernError(err: unknown): boolean {
  if (!(err instanceof MongoBulkWriteError)) return false;
  return err.err !== undefined || (err.result?.getWriteConcernError?.() ?? undefined) !== undefined;
}

/** `err` and its causes, outermost first. */
export function causes(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = err; e !== undefined && out.length < 8; e = (e as { cause?: unknown }).cause) {
    out.push(e);
  }
  return out;
}
