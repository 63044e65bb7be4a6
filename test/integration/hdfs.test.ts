import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireService, services } from '../helpers/services.js';
import { uniqueName } from '../helpers/unique.js';

const base = `http://${services.hdfs.host}:${services.hdfs.port}/webhdfs/v1`;
const url = (path: string, op: string, extra: Record<string, string> = {}) =>
  `${base}${path}?${new URLSearchParams({ op, 'user.name': 'logrelay', ...extra })}`;

/**
 * CREATE and APPEND are two-step in WebHDFS: the NameNode answers 307 with the DataNode that
 * takes the bytes. The redirect must point at an address that resolves here (127.0.0.1).
 */
async function twoStep(method: 'PUT' | 'POST', first: string, body: string): Promise<Response> {
  const redirect = await fetch(first, { method, redirect: 'manual' });
  expect(redirect.status).toBe(307);
  const location = redirect.headers.get('location') ?? '';
  expect(new URL(location).hostname).toBe('127.0.0.1');
  return fetch(location, { method, body, headers: { 'content-type': 'application/octet-stream' } });
}

describe('HDFS through WebHDFS (real NameNode + DataNode)', () => {
  const dir = `/${uniqueName('logrelay_it')}`;

  beforeAll(() => requireService('hdfs'));

  afterAll(async () => {
    await fetch(url(dir, 'DELETE', { recursive: 'true' }), { method: 'DELETE' }).catch(
      () => undefined,
    );
  });

  it('creates, appends, reads back, renames and lists a file', async () => {
    const inProgress = `${dir}/dt=2026-11-27/c1-0.log.inprogress`;
    const final = `${dir}/dt=2026-11-27/c1-0.log`;

    const created = await twoStep(
      'PUT',
      url(inProgress, 'CREATE', { overwrite: 'false' }),
      'line 1\n',
    );
    expect(created.status).toBe(201);
    for (const chunk of ['line 2\n', 'line 3\n']) {
      const appended = await twoStep('POST', url(inProgress, 'APPEND'), chunk);
      expect(appended.status).toBe(200);
    }

    const read = await fetch(url(inProgress, 'OPEN'));
    expect(read.status).toBe(200);
    expect(await read.text()).toBe('line 1\nline 2\nline 3\n');

    const renamed = await fetch(url(inProgress, 'RENAME', { destination: final }), {
      method: 'PUT',
    });
    expect(await renamed.json()).toEqual({ boolean: true });

    const listing = (await (await fetch(url(`${dir}/dt=2026-11-27`, 'LISTSTATUS'))).json()) as {
      FileStatuses: { FileStatus: { pathSuffix: string; length: number; type: string }[] };
    };
    expect(listing.FileStatuses.FileStatus.map((f) => [f.pathSuffix, f.length, f.type])).toEqual([
      ['c1-0.log', 21, 'FILE'],
    ]);

    // A second CREATE of an existing path without overwrite is refused: one writer per file.
    const clash = await fetch(url(final, 'CREATE', { overwrite: 'false' }), {
      method: 'PUT',
      redirect: 'manual',
    });
    const clashBody =
      clash.status === 307
        ? await fetch(clash.headers.get('location') ?? '', { method: 'PUT', body: 'x' })
        : clash;
    expect(clashBody.status).toBe(403);
    expect(
      ((await clashBody.json()) as { RemoteException: { exception: string } }).RemoteException
        .exception,
    ).toBe('FileAlreadyExistsException');
  });
});
