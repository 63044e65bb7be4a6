import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RelayError } from '../../../../../src/common/errors/relay-error.js';
import {
  WebHdfsClient,
  responseError,
} from '../../../../../src/collector/sinks/hdfs/webhdfs-client.js';

const remote = (status: number, exception: string, message = 'm') => ({
  status,
  body: Buffer.from(JSON.stringify({ RemoteException: { exception, message } })),
});

describe('WebHDFS error mapping', () => {
  it.each([
    [remote(500, 'RecoveryInProgressException'), 'HDFS_LEASE', true],
    [remote(403, 'AlreadyBeingCreatedException'), 'HDFS_LEASE', true],
    [remote(403, 'StandbyException'), 'HDFS_RETRY', true],
    [remote(500, 'RetriableException'), 'HDFS_RETRY', true],
    [remote(403, 'AccessControlException'), 'HDFS_ACCESS_DENIED', false],
    [remote(403, 'FileAlreadyExistsException'), 'HDFS_FILE_EXISTS', false],
    [remote(404, 'FileNotFoundException'), 'HDFS_NOT_FOUND', false],
    [remote(400, 'InvalidPathException'), 'HDFS_BAD_REQUEST', false],
    [remote(500, 'IOException'), 'HDFS_SERVER', true],
    [{ status: 502, body: Buffer.from('<html>bad gateway</html>') }, 'HDFS_SERVER', true],
  ] as const)('%j → %s', (res, code, retriable) => {
    const err = responseError(res, 'APPEND', '/x');
    expect(err).toBeInstanceOf(RelayError);
    expect({ code: err.code, retriable: err.retriable }).toEqual({ code, retriable });
  });

  it('names the RemoteException in the message', () => {
    const err = responseError(
      remote(403, 'AccessControlException', 'Permission denied'),
      'CREATE',
      '/a',
    );
    expect(err.message).toBe('WebHDFS CREATE /a: AccessControlException: Permission denied');
  });
});

describe('WebHDFS client over node:http', () => {
  const servers: Server[] = [];
  const clients: WebHdfsClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });

  async function serve(handler: (req: IncomingMessage, res: ServerResponse, url: URL) => void) {
    const server = createServer((req, res) =>
      handler(req, res, new URL(req.url ?? '/', 'http://x')),
    );
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const client = new WebHdfsClient({
      namenodeUrl: `http://127.0.0.1:${port}`,
      user: 'u',
      requestTimeoutMs: 300,
    });
    clients.push(client);
    return { client, port };
  }

  it("follows the redirect as given and survives the DataNode's unsolicited 100 Continue", async () => {
    const seen: string[] = [];
    const received: Buffer[] = [];
    const { client, port } = await serve((req, res, url) => {
      seen.push(`${req.method} ${url.pathname}${url.search}`);
      if (url.pathname.startsWith('/webhdfs/')) {
        res.writeHead(307, {
          location: `http://127.0.0.1:${port}/dn${url.pathname.slice(11)}?op=CREATE&token=t`,
        });
        res.end();
        return;
      }
      res.writeContinue();
      req.on('data', (c: Buffer) => received.push(c));
      req.on('end', () => {
        res.writeHead(201);
        res.end();
      });
    });
    await client.create('/a b/dt=2026-01-01/f.log', [
      Buffer.from('x\n'),
      Buffer.from([0xff, 0x0a]),
    ]);
    expect(seen).toEqual([
      'PUT /webhdfs/v1/a%20b/dt%3D2026-01-01/f.log?op=CREATE&user.name=u&overwrite=false',
      'PUT /dn/a%20b/dt%3D2026-01-01/f.log?op=CREATE&token=t',
    ]);
    expect(Buffer.concat(received)).toEqual(Buffer.from([0x78, 0x0a, 0xff, 0x0a]));
  });

  it('reads statuses and maps 404 to undefined', async () => {
    const { client } = await serve((_req, res, url) => {
      if (url.pathname.endsWith('/missing')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            RemoteException: { exception: 'FileNotFoundException', message: 'no' },
          }),
        );
        return;
      }
      res.end(
        JSON.stringify({
          FileStatus: { pathSuffix: '', type: 'FILE', length: 42, modificationTime: 1 },
        }),
      );
    });
    expect(await client.getFileStatus('/missing')).toBeUndefined();
    expect(await client.getFileStatus('/f')).toEqual({
      pathSuffix: '',
      type: 'FILE',
      length: 42,
      modificationTime: 1,
    });
  });

  it('fails retriable on a timeout and on a refused connection', async () => {
    const { client } = await serve(() => {
      // never answers
    });
    const timedOut = await client.getFileStatus('/f').catch((e: unknown) => e);
    expect(timedOut).toMatchObject({ code: 'HDFS_UNAVAILABLE', retriable: true });

    const refused = new WebHdfsClient({
      namenodeUrl: 'http://127.0.0.1:1',
      user: 'u',
      requestTimeoutMs: 1000,
    });
    clients.push(refused);
    const err = await refused.append('/f', [Buffer.from('x')]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'HDFS_UNAVAILABLE', retriable: true });
    expect((err as Error).message).toContain('ECONNREFUSED');
  });
});
