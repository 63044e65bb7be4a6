import { Etcd3, type Watcher } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpoint, requireService } from '../helpers/services.js';
import { uniqueName } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait-for.js';

describe('etcd (real server)', () => {
  const prefix = `/${uniqueName('logrelay_it')}/`;
  let client: Etcd3;
  let watcher: Watcher | undefined;

  beforeAll(async () => {
    await requireService('etcd');
    client = new Etcd3({ hosts: `http://${endpoint('etcd')}`, dialTimeout: 3000 });
  });

  afterAll(async () => {
    await watcher?.cancel();
    await client?.delete().prefix(prefix);
    client?.close();
  });

  it('delivers puts and deletes to a watcher, with increasing revisions', async () => {
    const key = `${prefix}logagent/10.0.0.7/tails`;
    const seen: { type: string; value: string; revision: number }[] = [];
    watcher = await client.watch().key(key).create();
    watcher.on('put', (kv) =>
      seen.push({ type: 'put', value: kv.value.toString(), revision: Number(kv.mod_revision) }),
    );
    watcher.on('delete', (kv) =>
      seen.push({ type: 'delete', value: '', revision: Number(kv.mod_revision) }),
    );

    const tails = [{ id: 1, log_path: '/var/log/app.log', topic: 'app', status: '1' }];
    await client.put(key).value(JSON.stringify(tails));
    await client.put(key).value('[]');
    await client.delete().key(key);

    await waitFor(() => seen.length === 3, { what: 'three watch events' });
    expect(seen.map((e) => e.type)).toEqual(['put', 'put', 'delete']);
    expect(JSON.parse(seen[0]?.value ?? 'null')).toEqual(tails);
    expect(seen[1]?.value).toBe('[]');
    const revisions = seen.map((e) => e.revision);
    expect([...revisions].sort((a, b) => a - b)).toEqual(revisions);
    expect(await client.get(key).string()).toBeNull();
  });
});
