import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest, type HttpResponse } from '../helpers/http.js';
import { requireService, services } from '../helpers/services.js';
import { uniqueName } from '../helpers/unique.js';

const base = `http://${services.hdfs.host}:${services.hdfs.port}/webhdfs/v1`;
const url = (path: string, op: string, extra: Record<string, string> = {}) =>
  `${base}${path}?${new URLSearchParams({ op, 'user.name': 'logrelay', ...extra })}`;

/**
 * CREATE and APPEND are two-step in WebHDFS: the NameNode answers 307 with the DataNode that
 * takes the bytes. The redirect must point at an address that resolves here (127.0.0.1).
 */
async function twoStep(method: 'PUT' | 'POST', first: string, body: string): Promise<HttpResponse> {
  const redirect = await httpRequest(method, first);
  expect(redirect.status).toBe(307);
  const location = String(redirect.headers['location'] ?? '');
  expect(new URL(location).hostname).toBe('127.0.0.1');
  return httpRequest(method, location, body);
}

describe('HDFS through WebHDFS (real NameNode + DataNode)', () => {
  const dir = `/${uniqueName('logrelay_it')}`;

  beforeAll(() => requireService('hdfs'));

  afterAll(async () => {
    await httpRequest('DELETE', url(dir, 'DELETE', { recursive: 'true' })).catch(() => undefined);
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

    const redirect = await httpRequest('GET', url(inProgress, 'OPEN'));
    expect(redirect.status).toBe(307);
    const read = await httpRequest('GET', String(redirect.headers['location']));
    expect(read.status).toBe(200);
    expect(read.body).toBe('line 1\nline 2\nline 3\n');

    const renamed = await httpRequest('PUT', url(inProgress, 'RENAME', { destination: final }));
    expect(JSON.parse(renamed.body)).toEqual({ boolean: true });

    const listing = JSON.parse(
      (await httpRequest('GET', url(`${dir}/dt=2026-11-27`, 'LISTSTATUS'))).body,
    ) as {
      FileStatuses: { FileStatus: { pathSuffix: string; length: number; type: string }[] };
    };
    expect(listing.FileStatuses.FileStatus.map((f) => [f.pathSuffix, f.length, f.type])).toEqual([
      ['c1-0.log', 21, 'FILE'],
    ]);

    // A second CREATE of an existing path without overwrite is refused: one writer per file.
    const clash = await httpRequest('PUT', url(final, 'CREATE', { overwrite: 'false' }));
    const refused =
      clash.status === 307
        ? await httpRequest('PUT', String(clash.headers['location']), 'x')
        : clash;
    expect(refused.status).toBe(403);
    expect(
      (JSON.parse(refused.body) as { RemoteException: { exception: string } }).RemoteException
        .exception,
    ).toBe('FileAlreadyExistsException');
  });
});
