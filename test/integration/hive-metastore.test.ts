import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayError } from '../../src/common/errors/relay-error.js';
import { createLogger } from '../../src/common/logging/logger.js';
import {
  HiveCatalog,
  MetastoreClient,
  externalTable,
  hiveConfigSchema,
} from '../../src/collector/sinks/hdfs/hive/index.js';
import { captureLog } from '../helpers/log-capture.js';
import { WebHdfsClient } from '../../src/collector/sinks/hdfs/webhdfs-client.js';
import { httpRequest } from '../helpers/http.js';
import { requireService, services } from '../helpers/services.js';
import { uniqueName } from '../helpers/unique.js';

const log = createLogger({ level: 'silent' });
const metastoreUri = `thrift://${services.hive.host}:${services.hive.port}`;
const webhdfs = `http://${services.hdfs.host}:${services.hdfs.port}/webhdfs/v1`;
const hdfsUri = (path: string) => `hdfs://${services.hdfs.host}:${services.hdfs.rpcPort}${path}`;

/** A file's bytes through WebHDFS OPEN (NameNode redirect, then the DataNode). */
async function readHdfsFile(path: string): Promise<string> {
  const open = await httpRequest('GET', `${webhdfs}${path}?op=OPEN&user.name=logrelay`);
  expect(open.status).toBe(307);
  const read = await httpRequest('GET', String(open.headers['location']));
  expect(read.status).toBe(200);
  return read.body;
}

/** The lines of every file in an HDFS folder given by its hdfs:// URI. */
async function linesUnder(hdfs: WebHdfsClient, location: string): Promise<string[]> {
  const path = new URL(location).pathname;
  const files = (await hdfs.listStatus(path)) ?? [];
  const lines: string[] = [];
  for (const f of files.filter((s) => s.type === 'FILE')) {
    lines.push(...(await readHdfsFile(`${path}/${f.pathSuffix}`)).split('\n').filter(Boolean));
  }
  return lines.sort();
}

/**
 * A TCP relay to the metastore whose connections the test can cut, to check that the client
 * reconnects (as after a metastore restart) without restarting the shared metastore.
 */
async function cuttableProxy(): Promise<{ port: number; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect({ host: services.hive.host, port: services.hive.port });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no proxy port');
  return {
    port: address.port,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('HiveCatalog against the real Hive Metastore (Hive 4.0.1, test bed)', () => {
  const database = uniqueName('hive_it');
  const dir = `/tmp-hive-${database}`;
  const tableLocation = hdfsUri(dir);
  const partitionPath = `${dir}/dt=2026-12-07/hour=16`;
  const partitionLocation = hdfsUri(partitionPath);
  const written = ['first line', 'second\tline with a tab', 'third, with a comma', 'last'];
  const hdfs = new WebHdfsClient({
    namenodeUrl: `http://${services.hdfs.host}:${services.hdfs.port}`,
    user: 'logrelay',
    requestTimeoutMs: 30_000,
  });
  const admin = new MetastoreClient({
    host: services.hive.host,
    port: services.hive.port,
    requestTimeoutMs: 30_000,
  });
  const config = hiveConfigSchema.parse({ metastoreUri, database, table: 'lines' });
  const catalog = new HiveCatalog(config, log);

  beforeAll(async () => {
    await requireService('hive');
    await requireService('hdfs');
    // Two files already in the partition folder, as the HDFS sink leaves them after rolling.
    await hdfs.create(`${partitionPath}/c1-0.log`, [Buffer.from(`${written[0]}\n${written[1]}\n`)]);
    await hdfs.create(`${partitionPath}/c1-1.log`, [Buffer.from(`${written[2]}\n${written[3]}\n`)]);
    await catalog.start();
  });

  afterAll(async () => {
    await catalog.stop();
    await admin.dropDatabase(database, { deleteData: true, cascade: true }).catch(() => undefined);
    admin.close();
    await hdfs.delete(dir, true).catch(() => undefined);
    await hdfs.delete(`${dir}-daily`, true).catch(() => undefined);
    hdfs.close();
  });

  it('creates the database and an EXTERNAL table once, then registers a partition once', async () => {
    await expect(admin.getDatabase(database)).rejects.toMatchObject({ code: 'HIVE_NOT_FOUND' });

    await catalog.ensureTable({ location: tableLocation, compression: 'none' });
    await catalog.ensureTable({ location: tableLocation, compression: 'none' }); // a no-op

    expect((await admin.getDatabase(database)).name).toBe(database);
    const table = await catalog.describeTable();
    expect(table).toBeDefined();
    expect(table?.tableType).toBe('EXTERNAL_TABLE');
    expect(table?.parameters['EXTERNAL']).toBe('TRUE');
    expect(table?.sd.location).toBe(tableLocation);
    expect(table?.sd.cols.map((c) => [c.name, c.type])).toEqual([['line', 'string']]);
    expect(table?.partitionKeys.map((k) => [k.name, k.type])).toEqual([
      ['dt', 'string'],
      ['hour', 'string'],
    ]);
    expect(table?.sd.inputFormat).toBe('org.apache.hadoop.mapred.TextInputFormat');
    expect(table?.sd.outputFormat).toBe(
      'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
    );
    expect(table?.sd.serdeInfo.serializationLib).toBe(
      'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
    );
    expect(table?.sd.serdeInfo.parameters['field.delim']).toBe('\u0001');

    expect(await catalog.partitions()).toEqual([]);
    expect(await catalog.addPartition({ dt: '2026-12-07', hour: '16' }, partitionLocation)).toBe(
      'added',
    );
    expect(await catalog.addPartition({ dt: '2026-12-07', hour: '16' }, partitionLocation)).toBe(
      'exists',
    );

    const partitions = await catalog.partitions();
    expect(partitions).toEqual([{ values: ['2026-12-07', '16'], location: partitionLocation }]);
    // What Hive would read for the partition is exactly what was written there.
    expect(await linesUnder(hdfs, partitions[0]!.location)).toEqual([...written].sort());
  });

  it('leaves an existing table alone when asked again with other settings', async () => {
    await catalog.ensureTable({ location: tableLocation, compression: 'gzip' });
    const table = await catalog.describeTable();
    expect(table?.parameters['logrelay.compression']).toBe('none');
    expect(table?.sd.compressed).toBe(false);
  });

  it('leaves a table with other partition keys as it is, says so, and adds no partition to it', async () => {
    const location = hdfsUri(`${dir}-daily`);
    await admin.createTable({
      ...externalTable({
        database,
        table: 'daily',
        location,
        compression: 'none',
        nowSeconds: Math.floor(Date.now() / 1000),
      }),
      partitionKeys: [{ name: 'day', type: 'string' }],
    });
    const { log: captured, records } = captureLog();
    const daily = new HiveCatalog(
      hiveConfigSchema.parse({ metastoreUri, database, table: 'daily' }),
      captured,
    );
    await daily.start();
    try {
      await daily.ensureTable({ location, compression: 'none' });
      expect((await daily.describeTable())?.partitionKeys.map((k) => k.name)).toEqual(['day']);
      await expect
        .poll(() => records.map((r) => r['msg']))
        .toContainEqual(expect.stringMatching(/other partition keys/));
      await expect(
        daily.addPartition({ dt: '2026-12-07', hour: '16' }, `${location}/dt=2026-12-07/hour=16`),
      ).rejects.toMatchObject({ code: 'HIVE_REFUSED', retriable: false });
    } finally {
      await daily.stop();
    }
  });

  it('reconnects when its connection to the metastore is cut', async () => {
    const proxy = await cuttableProxy();
    const viaProxy = new HiveCatalog(
      hiveConfigSchema.parse({
        metastoreUri: `thrift://127.0.0.1:${proxy.port}`,
        database,
        table: 'lines',
      }),
      log,
    );
    try {
      await viaProxy.start();
      expect(await viaProxy.partitions()).toHaveLength(1);
      proxy.cut(); // as a metastore restart does to every open connection
      expect(await viaProxy.partitions()).toHaveLength(1);
      proxy.cut();
      expect(await viaProxy.addPartition({ dt: '2026-12-07', hour: '16' }, partitionLocation)).toBe(
        'exists',
      );
    } finally {
      await viaProxy.stop();
      await proxy.close();
    }
  });

  it('fails with HIVE_REFUSED when the table is missing and createTable is false', async () => {
    const noCreate = new HiveCatalog(
      hiveConfigSchema.parse({ metastoreUri, database, table: 'missing', createTable: false }),
      log,
    );
    await noCreate.start();
    try {
      const err = await noCreate
        .ensureTable({ location: hdfsUri(`${dir}-missing`), compression: 'none' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RelayError);
      expect(err).toMatchObject({ code: 'HIVE_REFUSED', retriable: false });
      await expect(
        noCreate.addPartition({ dt: '2026-12-07', hour: '16' }, hdfsUri(`${dir}-missing/x`)),
      ).rejects.toMatchObject({ code: 'HIVE_REFUSED' });
    } finally {
      await noCreate.stop();
    }
  });

  it('fails with a retriable HIVE_UNAVAILABLE when no metastore listens', async () => {
    const proxy = await cuttableProxy();
    const port = proxy.port;
    await proxy.close(); // a port that was just free again: nothing listens there
    const nowhere = new HiveCatalog(
      hiveConfigSchema.parse({ metastoreUri: `thrift://127.0.0.1:${port}`, database, table: 't' }),
      log,
    );
    await nowhere.start();
    try {
      const err = await nowhere.partitions().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RelayError);
      expect(err).toMatchObject({ code: 'HIVE_UNAVAILABLE', retriable: true });
      expect((err as Error).cause).toBeDefined();
    } finally {
      await nowhere.stop();
      await nowhere.stop(); // idempotent
    }
  });
});
