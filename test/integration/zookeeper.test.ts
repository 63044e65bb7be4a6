import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateMode, ZkError, ZkSession, type ZkEvent } from '../../src/common/zk/zk-session.js';
import { endpoint, requireService } from '../helpers/services.js';
import { uniqueName } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait-for.js';

describe('ZooKeeper (real server)', () => {
  const root = `/${uniqueName('logrelay_it')}`;
  const sessions: ZkSession[] = [];

  const open = async () => {
    const session = new ZkSession(endpoint('zookeeper'), { sessionTimeoutMs: 4000 });
    sessions.push(session);
    await session.connect();
    return session;
  };

  beforeAll(() => requireService('zookeeper'));

  afterAll(async () => {
    const cleaner = sessions[0];
    if (cleaner) {
      for (const child of await cleaner.getChildren(`${root}/members`).catch(() => [])) {
        await cleaner.remove(`${root}/members/${child}`).catch(() => undefined);
      }
      await cleaner.remove(`${root}/members`).catch(() => undefined);
      await cleaner.remove(root).catch(() => undefined);
    }
    for (const s of sessions) s.close();
  });

  it('fires a child watch when a second session joins with an ephemeral sequential node and leaves', async () => {
    const first = await open();
    await first.mkdirp(`${root}/members`);
    const mine = await first.create(
      `${root}/members/m-`,
      Buffer.from('first'),
      CreateMode.EPHEMERAL_SEQUENTIAL,
    );
    expect(mine).toMatch(new RegExp(`^${root}/members/m-\\d{10}$`));

    const events: ZkEvent[] = [];
    const watchOnce = () => first.getChildren(`${root}/members`, (e) => events.push(e));
    expect(await watchOnce()).toHaveLength(1);

    const second = await open();
    const theirs = await second.create(
      `${root}/members/m-`,
      Buffer.from('second'),
      CreateMode.EPHEMERAL_SEQUENTIAL,
    );
    expect(Number(theirs.slice(-10))).toBeGreaterThan(Number(mine.slice(-10)));
    await waitFor(() => events.length === 1, { what: 'watch on join' });
    expect(events[0]?.getName()).toBe('NODE_CHILDREN_CHANGED');
    expect((await watchOnce()).sort()).toEqual(
      [mine, theirs].map((p) => p.split('/').pop()).sort(),
    );

    // Closing the session removes its ephemeral node and fires the (re-armed) watch again.
    second.close();
    await waitFor(() => events.length === 2, { what: 'watch on leave' });
    expect(await first.getChildren(`${root}/members`)).toEqual([mine.split('/').pop()]);
  });

  it('rejects a write conditioned on a stale version (the fencing primitive)', async () => {
    const session = await open();
    const path = `${root}/epoch`;
    await session.mkdirp(root);
    await session.create(path, Buffer.from('1'));
    const { stat } = await session.getData(path);
    await session.setData(path, Buffer.from('2'), stat.version);
    await expect(session.setData(path, Buffer.from('3'), stat.version)).rejects.toMatchObject({
      code: 'ZK_BAD_VERSION',
    });
    expect((await session.getData(path)).data.toString()).toBe('2');
    await session.remove(path);
  });

  it('with digest auth, keeps created nodes from anonymous sessions and other users', async () => {
    const auth = { username: 'relay', password: 'relay-secret-1' };
    const owner = new ZkSession(endpoint('zookeeper'), { sessionTimeoutMs: 4000, auth });
    const anonymous = await open();
    const intruder = new ZkSession(endpoint('zookeeper'), {
      sessionTimeoutMs: 4000,
      auth: { username: 'relay', password: 'wrong-password' },
    });
    const peer = new ZkSession(endpoint('zookeeper'), { sessionTimeoutMs: 4000, auth });
    sessions.push(owner, intruder, peer);
    await Promise.all([owner.connect(), intruder.connect(), peer.connect()]);
    const path = `/${uniqueName('logrelay_acl')}`;
    await owner.create(path, Buffer.from('leader-epoch-1'));
    try {
      for (const stranger of [anonymous, intruder]) {
        const err = await stranger.getData(path).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ZkError);
        expect((err as ZkError).zkCode).toBe(-102); // NO_AUTH
      }
      expect((await peer.getData(path)).data.toString()).toBe('leader-epoch-1');
    } finally {
      await owner.remove(path);
    }
  });
});
