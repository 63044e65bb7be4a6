import { connect, type Socket } from 'node:net';
import { TBinaryProtocol, TBufferedTransport, Thrift, type TProtocol } from 'thrift';
import { RelayError } from '../../../../common/errors/relay-error.js';
import type { HiveDatabase, HivePartition, HiveTable } from './table-definition.js';
import {
  arg,
  readApplicationException,
  readDatabase,
  readExceptionMessage,
  readGetTableResult,
  readPartition,
  readPartitionList,
  readStruct,
  writeArgs,
  writeDatabase,
  writeGetTableRequest,
  writePartition,
  writeTable,
} from './thrift-codec.js';

export interface MetastoreClientOptions {
  readonly host: string;
  readonly port: number;
  /** Bound on one call (connecting, sending, the answer), in ms. */
  readonly requestTimeoutMs: number;
}

/**
 * Error codes of the metastore client and the catalog:
 * - HIVE_UNAVAILABLE (retriable): no connection, connection lost, timeout, or a MetaException
 *   (the metastore's catch-all for its own failures: its database, HDFS not answering...).
 * - HIVE_NOT_FOUND: NoSuchObjectException (a missing database, table or partition).
 * - HIVE_ALREADY_EXISTS: AlreadyExistsException.
 * - HIVE_REFUSED: the metastore refused the request (InvalidObjectException,
 *   InvalidOperationException, a Thrift application exception such as an unknown method).
 * - HIVE_PROTOCOL: an answer that cannot be decoded (or not for the call made).
 * The Java exception's simple name is in `details.exception`.
 */
export type HiveErrorCode =
  'HIVE_UNAVAILABLE' | 'HIVE_NOT_FOUND' | 'HIVE_ALREADY_EXISTS' | 'HIVE_REFUSED' | 'HIVE_PROTOCOL';

const EXCEPTION_CODES: Record<string, HiveErrorCode> = {
  MetaException: 'HIVE_UNAVAILABLE',
  NoSuchObjectException: 'HIVE_NOT_FOUND',
  AlreadyExistsException: 'HIVE_ALREADY_EXISTS',
  InvalidObjectException: 'HIVE_REFUSED',
  InvalidOperationException: 'HIVE_REFUSED',
};

/** The RelayError for an exception the metastore declared (a field of the call's result). */
export function metastoreExceptionError(
  method: string,
  exception: string,
  message: string,
): RelayError {
  const code = EXCEPTION_CODES[exception] ?? 'HIVE_REFUSED';
  return new RelayError(code, `metastore ${method}: ${exception}: ${message}`, {
    retriable: code === 'HIVE_UNAVAILABLE',
    details: { method, exception },
  });
}

/** One call's description: its name, arguments, and how to read its result struct. */
interface CallSpec<T> {
  readonly method: string;
  readonly args: readonly ((p: TProtocol) => void)[];
  /** Field 0 of the result (absent for void methods). */
  readonly success?: { readonly type: number; readonly read: (p: TProtocol) => T };
  /** The IDL's `throws`, in order: field id i + 1 holds exceptions[i]. */
  readonly exceptions: readonly string[];
}

type Outcome<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: RelayError };

/** Connection-level failures of a reused socket are retried once on a new one. */
class ConnectionLost extends RelayError {
  constructor(message: string, cause?: unknown) {
    super('HIVE_UNAVAILABLE', message, { retriable: true, cause });
  }
}

/**
 * A Hive Metastore client for the handful of calls logrelay makes: TBinaryProtocol (strict) over
 * one plain TCP socket, the standalone metastore's default transport (not framed, no SASL).
 *
 * Calls go one at a time on the one socket (the metastore answers a connection's calls in
 * order; concurrent callers queue). The socket is opened on the first call and reopened after it
 * breaks, so a restarted metastore is picked up by the next call; a call that fails because a
 * kept-open socket turned out dead is sent once more on a fresh one. A timed-out call closes the
 * socket, since its late answer would otherwise be taken for the next call's.
 */
export class MetastoreClient {
  readonly #options: MetastoreClientOptions;
  #socket: Socket | undefined;
  #seqid = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(options: MetastoreClientOptions) {
    this.#options = options;
  }

  get address(): string {
    return `${this.#options.host}:${this.#options.port}`;
  }

  /** Database by name; HIVE_NOT_FOUND when missing. */
  getDatabase(name: string): Promise<HiveDatabase> {
    return this.#call({
      method: 'get_database',
      args: [arg.string(1, name)],
      success: { type: Thrift.Type.STRUCT, read: readDatabase },
      exceptions: ['NoSuchObjectException', 'MetaException'],
    });
  }

  /** HIVE_ALREADY_EXISTS when it exists. */
  createDatabase(db: HiveDatabase): Promise<void> {
    return this.#call({
      method: 'create_database',
      args: [arg.struct(1, db, writeDatabase)],
      exceptions: ['AlreadyExistsException', 'InvalidObjectException', 'MetaException'],
    });
  }

  /**
   * Drops a database; `cascade` drops its tables too, `deleteData` their managed files (never
   * an EXTERNAL table's). HIVE_NOT_FOUND when missing. Used by tests to clean up.
   */
  dropDatabase(name: string, options: { deleteData: boolean; cascade: boolean }): Promise<void> {
    return this.#call({
      method: 'drop_database',
      args: [arg.string(1, name), arg.bool(2, options.deleteData), arg.bool(3, options.cascade)],
      exceptions: ['NoSuchObjectException', 'InvalidOperationException', 'MetaException'],
    });
  }

  /** Table by name (get_table_req: Hive 4 has no plain get_table); HIVE_NOT_FOUND when missing. */
  async getTable(dbName: string, tableName: string): Promise<HiveTable> {
    const table = await this.#call({
      method: 'get_table_req',
      args: [
        arg.struct(1, { dbName, tableName }, (p, r) =>
          writeGetTableRequest(p, r.dbName, r.tableName),
        ),
      ],
      success: { type: Thrift.Type.STRUCT, read: readGetTableResult },
      exceptions: ['MetaException', 'NoSuchObjectException'],
    });
    if (!table) {
      throw new RelayError('HIVE_PROTOCOL', `metastore get_table_req: no table in the answer`);
    }
    return table;
  }

  /** HIVE_ALREADY_EXISTS when it exists; HIVE_NOT_FOUND when its database is missing. */
  createTable(table: HiveTable): Promise<void> {
    return this.#call({
      method: 'create_table',
      args: [arg.struct(1, table, writeTable)],
      exceptions: [
        'AlreadyExistsException',
        'InvalidObjectException',
        'MetaException',
        'NoSuchObjectException',
      ],
    });
  }

  /** The partition as the metastore stored it; HIVE_ALREADY_EXISTS when it exists. */
  addPartition(partition: HivePartition): Promise<HivePartition> {
    return this.#call({
      method: 'add_partition',
      args: [arg.struct(1, partition, writePartition)],
      success: { type: Thrift.Type.STRUCT, read: readPartition },
      exceptions: ['InvalidObjectException', 'AlreadyExistsException', 'MetaException'],
    });
  }

  /** All partitions of a table (`max` -1: no limit; at most 32767 otherwise). */
  getPartitions(dbName: string, tableName: string, max = -1): Promise<HivePartition[]> {
    return this.#call({
      method: 'get_partitions',
      args: [arg.string(1, dbName), arg.string(2, tableName), arg.i16(3, max)],
      success: { type: Thrift.Type.LIST, read: readPartitionList },
      exceptions: ['NoSuchObjectException', 'MetaException'],
    });
  }

  /** Closes the socket; later calls fail. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#dropSocket();
  }

  #call<T>(spec: CallSpec<T>): Promise<T> {
    const run = this.#queue.then(() => this.#callWithReconnect(spec));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #callWithReconnect<T>(spec: CallSpec<T>): Promise<T> {
    const reused = this.#socket !== undefined;
    let outcome: Outcome<T>;
    try {
      outcome = await this.#exchange(spec);
    } catch (err) {
      // A kept-open socket the metastore closed meanwhile (a restart, an idle cut) shows up
      // as a lost connection on first use: the request was not processed (or, if it was, our
      // calls are idempotent at the catalog's level), so one more try on a new socket.
      if (!(reused && err instanceof ConnectionLost)) throw err;
      outcome = await this.#exchange(spec);
    }
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  async #exchange<T>(spec: CallSpec<T>): Promise<Outcome<T>> {
    if (this.#closed) {
      throw new RelayError('HIVE_UNAVAILABLE', `metastore client for ${this.address} is closed`, {
        retriable: true,
      });
    }
    const deadline = Date.now() + this.#options.requestTimeoutMs;
    const socket = this.#socket ?? (await this.#connect(deadline));
    const seqid = (this.#seqid = (this.#seqid + 1) & 0x7fffffff);
    const request = encodeCall(spec, seqid);

    return new Promise<Outcome<T>>((resolve, reject) => {
      let settled = false;
      const finish = (result: Outcome<T> | Error, breakSocket: boolean): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('close', onClose);
        if (breakSocket) this.#dropSocket(socket);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      const timer = setTimeout(
        () =>
          finish(
            new RelayError(
              'HIVE_UNAVAILABLE',
              `metastore ${spec.method}: no answer from ${this.address} within ${this.#options.requestTimeoutMs} ms`,
              { retriable: true, details: { method: spec.method } },
            ),
            true,
          ),
        Math.max(1, deadline - Date.now()),
      );
      const onClose = (): void =>
        finish(
          new ConnectionLost(`metastore ${spec.method}: connection to ${this.address} closed`),
          true,
        );
      const onData = TBufferedTransport.receiver((transport) => {
        let result: Outcome<T>;
        try {
          result = decodeReply(new TBinaryProtocol(transport), spec, seqid);
        } catch (err) {
          if (err instanceof Error && err.name === 'InputBufferUnderrunError') {
            transport.rollbackPosition(); // the rest of the answer is still on its way
            return;
          }
          finish(
            err instanceof RelayError
              ? err
              : new RelayError('HIVE_PROTOCOL', `metastore ${spec.method}: undecodable answer`, {
                  cause: err,
                }),
            true,
          );
          return;
        }
        transport.commitPosition();
        finish(result, false);
      }, seqid);
      socket.on('data', onData);
      socket.on('close', onClose);
      socket.write(request);
    });
  }

  #connect(deadline: number): Promise<Socket> {
    return new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: this.#options.host, port: this.#options.port });
      const timer = setTimeout(
        () => fail(new Error(`connect timed out after ${this.#options.requestTimeoutMs} ms`)),
        Math.max(1, deadline - Date.now()),
      );
      const fail = (err: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(
          new RelayError(
            'HIVE_UNAVAILABLE',
            `metastore at ${this.address} is unreachable: ${err.message}`,
            { retriable: true, cause: err },
          ),
        );
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        // Errors surface through 'close' (a call in progress fails there); this listener only
        // keeps an idle socket's error from being an unhandled 'error' event.
        socket.on('error', () => undefined);
        socket.once('close', () => {
          if (this.#socket === socket) this.#socket = undefined;
        });
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 30_000);
        if (this.#closed) {
          socket.destroy();
          fail(new Error('client closed'));
          return;
        }
        this.#socket = socket;
        resolve(socket);
      });
    });
  }

  #dropSocket(socket: Socket | undefined = this.#socket): void {
    if (!socket) return;
    if (this.#socket === socket) this.#socket = undefined;
    socket.destroy();
  }
}

/** The bytes of one CALL message. */
function encodeCall(spec: CallSpec<unknown>, seqid: number): Buffer {
  let bytes: Buffer | undefined;
  const transport = new TBufferedTransport(undefined, (msg) => {
    bytes = msg;
  });
  const p = new TBinaryProtocol(transport);
  p.writeMessageBegin(spec.method, Thrift.MessageType.CALL, seqid);
  writeArgs(p, spec.args);
  p.writeMessageEnd();
  p.flush();
  if (!bytes) throw new RelayError('HIVE_PROTOCOL', `metastore ${spec.method}: nothing encoded`);
  return bytes;
}

/**
 * Decodes one reply. Throws InputBufferUnderrunError (from the transport) while bytes are
 * missing, HIVE_PROTOCOL for an answer to another call, HIVE_REFUSED for a Thrift application
 * exception; returns the result or the declared exception as an error.
 */
function decodeReply<T>(p: TProtocol, spec: CallSpec<T>, seqid: number): Outcome<T> {
  const header = p.readMessageBegin();
  if (header.mtype === Thrift.MessageType.EXCEPTION) {
    const x = readApplicationException(p);
    p.readMessageEnd();
    throw new RelayError(
      'HIVE_REFUSED',
      `metastore ${spec.method}: application exception ${x.type}: ${x.message}`,
      { details: { method: spec.method, exception: 'TApplicationException', type: x.type } },
    );
  }
  if (header.mtype !== Thrift.MessageType.REPLY || header.rseqid !== seqid) {
    throw new RelayError(
      'HIVE_PROTOCOL',
      `metastore ${spec.method}: unexpected message ${header.fname} (type ${header.mtype}, seqid ${header.rseqid}, expected ${seqid})`,
    );
  }
  let value: T | undefined;
  let hasValue = false;
  let error: RelayError | undefined;
  readStruct(p, (id, type) => {
    if (id === 0 && spec.success && type === spec.success.type) {
      value = spec.success.read(p);
      hasValue = true;
      return true;
    }
    const exception = spec.exceptions[id - 1];
    if (id >= 1 && exception !== undefined && type === Thrift.Type.STRUCT) {
      error = metastoreExceptionError(spec.method, exception, readExceptionMessage(p));
      return true;
    }
    return false;
  });
  p.readMessageEnd();
  if (error) return { ok: false, error };
  if (spec.success && !hasValue) {
    throw new RelayError('HIVE_PROTOCOL', `metastore ${spec.method}: the answer has no result`);
  }
  return { ok: true, value: value as T };
}
