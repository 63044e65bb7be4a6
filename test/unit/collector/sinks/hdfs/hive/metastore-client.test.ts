import { createServer, type Server, type Socket } from 'node:net';
import { TBinaryProtocol, TBufferedTransport, Thrift, type TProtocol } from 'thrift';
import { afterEach, describe, expect, it } from 'vitest';
import { RelayError } from '../../../../../../src/common/errors/relay-error.js';
import { MetastoreClient } from '../../../../../../src/collector/sinks/hdfs/hive/metastore-client.js';
import {
  externalTable,
  tablePartition,
  type HivePartition,
} from '../../../../../../src/collector/sinks/hdfs/hive/table-definition.js';
import {
  readFieldSchema,
  readPartition,
  readTable,
  writePartition,
  writeTable,
} from '../../../../../../src/collector/sinks/hdfs/hive/thrift-codec.js';

/*
 * The codec and the client's transport logic against a small in-process Thrift peer (the real
 * metastore is exercised by test/integration/hive-metastore.test.ts): replies split into
 * single bytes, declared and application exceptions, silence, concurrent calls.
 */

const T = Thrift.Type;

function encode(write: (p: TProtocol) => void): Buffer {
  let out: Buffer | undefined;
  const p = new TBinaryProtocol(
    new TBufferedTransport(undefined, (msg) => {
      out = msg;
    }),
  );
  write(p);
  p.flush();
  if (!out) throw new Error('nothing encoded');
  return out;
}

function decode<V>(bytes: Buffer, read: (p: TProtocol) => V): V {
  let value: V | undefined;
  TBufferedTransport.receiver((t) => {
    value = read(new TBinaryProtocol(t));
  }, 0)(bytes);
  return value as V;
}

const table = externalTable({
  database: 'logs',
  table: 'web',
  location: 'hdfs://nn:8020/logrelay/web',
  compression: 'none',
  nowSeconds: 1_796_659_200,
});
const partition: HivePartition = tablePartition({
  table,
  database: 'logs',
  tableName: 'web',
  values: { dt: '2026-12-07', hour: '16' },
  location: 'hdfs://nn:8020/logrelay/web/dt=2026-12-07/hour=16',
  nowSeconds: 1_796_659_200,
});

describe('metastore Thrift codec', () => {
  it('reads back the table and partition it writes', () => {
    expect(
      decode(
        encode((p) => writeTable(p, table)),
        readTable,
      ),
    ).toEqual(table);
    expect(
      decode(
        encode((p) => writePartition(p, partition)),
        readPartition,
      ),
    ).toEqual(partition);
  });

  it('skips fields it does not know (a newer metastore adds some)', () => {
    const bytes = encode((p) => {
      p.writeStructBegin('');
      p.writeFieldBegin('', T.MAP, 99);
      p.writeMapBegin(T.STRING, T.LIST, 1);
      p.writeString('k');
      p.writeListBegin(T.I64, 1);
      p.writeI64(7);
      p.writeListEnd();
      p.writeMapEnd();
      p.writeFieldEnd();
      p.writeFieldBegin('', T.STRING, 1);
      p.writeString('line');
      p.writeFieldEnd();
      p.writeFieldBegin('', T.I32, 2); // wrong type for `type`: skipped, not misread
      p.writeI32(5);
      p.writeFieldEnd();
      p.writeFieldStop();
      p.writeStructEnd();
    });
    expect(decode(bytes, readFieldSchema)).toEqual({ name: 'line', type: '' });
  });
});

const servers: Server[] = [];
/** Server-side sockets, destroyed after each test so the servers can close. */
const peers = new Set<Socket>();

interface Call {
  readonly method: string;
  readonly seqid: number;
  readonly socket: Socket;
}

/** A Thrift peer that hands each call to `onCall` once its whole message has arrived. */
async function fakeMetastore(
  onCall: (call: Call) => void,
): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => {
    peers.add(socket);
    socket.on('close', () => peers.delete(socket));
    socket.on('error', () => undefined);
    socket.on(
      'data',
      TBufferedTransport.receiver((t) => {
        for (;;) {
          try {
            const p = new TBinaryProtocol(t);
            const m = p.readMessageBegin();
            p.skip(T.STRUCT);
            p.readMessageEnd();
            t.commitPosition();
            onCall({ method: m.fname, seqid: m.rseqid, socket });
          } catch (err) {
            if (err instanceof Error && err.name === 'InputBufferUnderrunError') {
              t.rollbackPosition();
              return;
            }
            throw err;
          }
        }
      }, 0),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  servers.push(server);
  return { port: address.port, server };
}

/** A REPLY whose result struct is written by `fields`. */
function reply(call: Call, fields: (p: TProtocol) => void): Buffer {
  return encode((p) => {
    p.writeMessageBegin(call.method, Thrift.MessageType.REPLY, call.seqid);
    p.writeStructBegin('');
    fields(p);
    p.writeFieldStop();
    p.writeStructEnd();
    p.writeMessageEnd();
  });
}

function exceptionField(p: TProtocol, id: number, message: string): void {
  p.writeFieldBegin('', T.STRUCT, id);
  p.writeStructBegin('');
  p.writeFieldBegin('', T.STRING, 1);
  p.writeString(message);
  p.writeFieldEnd();
  p.writeFieldStop();
  p.writeStructEnd();
  p.writeFieldEnd();
}

const partitionsReply = (call: Call, parts: HivePartition[]): Buffer =>
  reply(call, (p) => {
    p.writeFieldBegin('', T.LIST, 0);
    p.writeListBegin(T.STRUCT, parts.length);
    for (const part of parts) writePartition(p, part);
    p.writeListEnd();
    p.writeFieldEnd();
  });

const clients: MetastoreClient[] = [];
const clientFor = (port: number, requestTimeoutMs = 5_000): MetastoreClient => {
  const c = new MetastoreClient({ host: '127.0.0.1', port, requestTimeoutMs });
  clients.push(c);
  return c;
};

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const socket of peers) socket.destroy();
  await Promise.all(
    servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
  );
});

describe('MetastoreClient', () => {
  it('decodes an answer that arrives one byte at a time', async () => {
    const { port } = await fakeMetastore((call) => {
      const bytes = partitionsReply(call, [partition, partition]);
      let i = 0;
      const next = (): void => {
        if (i < bytes.length) call.socket.write(bytes.subarray(i, ++i), next);
      };
      next();
    });
    const parts = await clientFor(port).getPartitions('logs', 'web');
    expect(parts).toEqual([partition, partition]);
  });

  it('turns the declared exceptions into RelayErrors with stable codes', async () => {
    const { port } = await fakeMetastore((call) => {
      if (call.method === 'add_partition') {
        call.socket.write(reply(call, (p) => exceptionField(p, 2, 'Partition already exists')));
      } else if (call.method === 'get_table_req') {
        call.socket.write(reply(call, (p) => exceptionField(p, 2, 'logs.web table not found')));
      } else {
        call.socket.write(reply(call, (p) => exceptionField(p, 2, 'java.net.ConnectException')));
      }
    });
    const client = clientFor(port);
    await expect(client.addPartition(partition)).rejects.toMatchObject({
      code: 'HIVE_ALREADY_EXISTS',
      retriable: false,
      details: { method: 'add_partition', exception: 'AlreadyExistsException' },
    });
    await expect(client.getTable('logs', 'web')).rejects.toMatchObject({
      code: 'HIVE_NOT_FOUND',
    });
    // get_database: field 2 is a MetaException, the metastore's own trouble: retriable.
    await expect(client.getDatabase('logs')).rejects.toMatchObject({
      code: 'HIVE_UNAVAILABLE',
      retriable: true,
    });
  });

  it('reports an application exception (unknown method) as HIVE_REFUSED', async () => {
    const { port } = await fakeMetastore((call) => {
      call.socket.write(
        encode((p) => {
          p.writeMessageBegin(call.method, Thrift.MessageType.EXCEPTION, call.seqid);
          p.writeStructBegin('');
          p.writeFieldBegin('', T.STRING, 1);
          p.writeString(`Invalid method name: '${call.method}'`);
          p.writeFieldEnd();
          p.writeFieldBegin('', T.I32, 2);
          p.writeI32(1);
          p.writeFieldEnd();
          p.writeFieldStop();
          p.writeStructEnd();
          p.writeMessageEnd();
        }),
      );
    });
    const err = await clientFor(port)
      .getPartitions('logs', 'web')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RelayError);
    expect(err).toMatchObject({ code: 'HIVE_REFUSED', retriable: false });
    expect((err as Error).message).toMatch(/Invalid method name/);
  });

  it('times out a silent metastore, then answers the next call on a new connection', async () => {
    let calls = 0;
    const { port } = await fakeMetastore((call) => {
      calls += 1;
      if (calls > 1) call.socket.write(partitionsReply(call, [partition]));
    });
    const client = clientFor(port, 300);
    const started = Date.now();
    await expect(client.getPartitions('logs', 'web')).rejects.toMatchObject({
      code: 'HIVE_UNAVAILABLE',
      retriable: true,
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await client.getPartitions('logs', 'web')).toEqual([partition]);
  });

  it('runs concurrent calls one after the other on its one connection', async () => {
    const sockets = new Set<Socket>();
    const { port } = await fakeMetastore((call) => {
      sockets.add(call.socket);
      // Answer late, so the second call would overtake the first if it were sent at once.
      setTimeout(() => call.socket.write(partitionsReply(call, [partition])), 20);
    });
    const client = clientFor(port);
    const [a, b, c] = await Promise.all([
      client.getPartitions('logs', 'a'),
      client.getPartitions('logs', 'b'),
      client.getPartitions('logs', 'c'),
    ]);
    expect([a, b, c]).toEqual([[partition], [partition], [partition]]);
    expect(sockets.size).toBe(1);
  });

  it('fails fast with HIVE_UNAVAILABLE when nothing listens, and after close', async () => {
    const { port, server } = await fakeMetastore(() => undefined);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const client = clientFor(port);
    await expect(client.getDatabase('logs')).rejects.toMatchObject({
      code: 'HIVE_UNAVAILABLE',
      retriable: true,
    });
    client.close();
    client.close();
    await expect(client.getDatabase('logs')).rejects.toMatchObject({ code: 'HIVE_UNAVAILABLE' });
  });
});
