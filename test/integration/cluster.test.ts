/**
 * Issue 4 — the collector cluster on a real ZooKeeper: membership, one leader, the leader's
 * fenced assignment writes ("Done when" 2), self-fencing of a collector whose session the test
 * expires ("Done when" 5), and `logrelay status --json` against what ZooKeeper holds ("Done
 * when" 6). Collectors run in-process with a file sink.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '../../src/collector/collector.js';
import { clusterPaths, readCluster } from '../../src/common/cluster/index.js';
import { ZkSession } from '../../src/common/zk/zk-session.js';
import { makeBatch } from '../helpers/batches.js';
import { RawShip } from '../helpers/raw-client.js';
import { startCollector } from '../helpers/relay.js';
import { endpoint, requireService, services } from '../helpers/services.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait-for.js';
import { expireSession } from '../helpers/zk.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import type { Logger } from '../../src/common/logging/logger.js';

const SESSION_MS = 4000;

describe('collector cluster on ZooKeeper', () => {
  let zk: ZkSession;
  const roots: string[] = [];
  let cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    await requireService('zookeeper');
    zk = new ZkSession(endpoint('zookeeper'), { sessionTimeoutMs: 10_000 });
    await zk.connect();
  });
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    cleanups = [];
  });
  afterAll(async () => {
    for (const root of roots) await removeTree(zk, root);
    zk.close();
  });

  async function startMembers(
    n: number,
    root: string,
    opts: { idPrefix?: string; connect?: (i: number) => string; log?: Logger } = {},
  ): Promise<Collector[]> {
    const out = await tempDir();
    cleanups.push(out.cleanup);
    const collectors: Collector[] = [];
    for (let i = 1; i <= n; i++) {
      const c = await startCollector(
        {
          id: `${opts.idPrefix ?? 'c'}${i}`,
          sinks: [{ type: 'file', name: 'files', directory: out.dir }],
          cluster: {
            zookeeper: {
              connect: opts.connect?.(i) ?? endpoint('zookeeper'),
              root,
              sessionTimeoutMs: SESSION_MS,
            },
            rebalanceIntervalMs: 500,
          },
        },
        opts.log,
      );
      cleanups.push(() => c.stop());
      collectors.push(c);
    }
    return collectors;
  }

  /** A proxy to ZooKeeper that the test can cut: a partition between one collector and ZK. */
  async function zkProxy(): Promise<TcpProxy> {
    const proxy = new TcpProxy(services.zookeeper);
    await proxy.up();
    cleanups.push(() => proxy.down());
    return proxy;
  }

  it('registers every member, elects exactly one leader, which writes the assignment', async () => {
    const root = `/${uniqueName('lr_cluster')}`;
    roots.push(root);
    const collectors = await startMembers(3, root);
    const paths = clusterPaths(root);
    // The leader rewrites the assignment as members join: wait for the one with all three.
    await waitFor(
      async () =>
        Object.keys((await readCluster(zk, paths)).assignment?.members ?? {}).length === 3,
      { timeoutMs: 10_000 },
    );
    const view = await readCluster(zk, paths);
    expect(view.members.map((m) => m.id)).toEqual(['c1', 'c2', 'c3']);
    expect(view.members.map((m) => m.address)).toEqual(collectors.map((c) => c.address));
    expect(collectors.filter((c) => c.cluster?.leader).map((c) => c.config.id)).toEqual(['c1']);
    expect(view.leader?.id).toBe('c1');
    expect(view.assignment).toMatchObject({ leader: 'c1', epoch: view.leader?.epoch });
    expect(Object.keys(view.assignment!.members).sort()).toEqual(['c1', 'c2', 'c3']);
    for (const c of collectors) expect(c.cluster?.fenced).toBe(false);
  });

  it('a leader cut off from ZooKeeper fences itself; a new leader within session timeout + 2 s; the old one writes nothing after', async () => {
    const root = `/${uniqueName('lr_cluster')}`;
    roots.push(root);
    const proxy = await zkProxy();
    const [c1, c2] = await startMembers(3, root, {
      connect: (i) => (i === 1 ? `127.0.0.1:${proxy.port}` : endpoint('zookeeper')),
    });
    const paths = clusterPaths(root);
    const okWrites = async () =>
      (
        await c1!.registry.getSingleMetric('logrelay_cluster_assignment_writes_total')!.get()
      ).values.find((v) => v.labels['result'] === 'ok')?.value ?? 0;
    // Count c1's writes only once the assignment has settled: the leader rewrites it as each
    // member joins, and c1 sees its own write acknowledged a moment after this test can read it.
    // Every version so far is c1's (created at version 0), so settled means version + 1 writes.
    await waitFor(
      async () => {
        const a = (await readCluster(zk, paths)).assignment;
        return (
          a?.leader === 'c1' &&
          Object.keys(a.members).length === 3 &&
          (await okWrites()) === a.version + 1
        );
      },
      { timeoutMs: 10_000 },
    );
    const oldEpoch = c1!.cluster!.epoch!;
    const writesBefore = await okWrites();
    const cutAt = Date.now();
    await proxy.down();
    await waitFor(() => c1!.cluster!.fenced && !c1!.cluster!.leader, { timeoutMs: SESSION_MS });
    const fencedAfterMs = Date.now() - cutAt;
    await waitFor(() => c2!.cluster!.leader, { timeoutMs: SESSION_MS + 2000 });
    const newLeaderAfterMs = Date.now() - cutAt;
    await waitFor(async () => (await readCluster(zk, paths)).assignment?.leader === 'c2', {
      timeoutMs: 5000,
    });
    const after = (await readCluster(zk, paths)).assignment!;
    expect(after.epoch).toBeGreaterThan(oldEpoch);
    expect(Object.keys(after.members).sort()).toEqual(['c2', 'c3']);
    // The old leader comes back: it rejoins as a follower and never wrote meanwhile.
    await proxy.up();
    await waitFor(() => !c1!.cluster!.fenced, { timeoutMs: 15_000 });
    expect(c1!.cluster!.leader).toBe(false);
    expect(await okWrites()).toBe(writesBefore);
    await waitFor(
      async () => Object.keys((await readCluster(zk, paths)).assignment!.members).length === 3,
      { timeoutMs: 5000 },
    );
    expect((await readCluster(zk, paths)).assignment!.leader).toBe('c2');
    console.log(JSON.stringify({ fencedAfterMs, newLeaderAfterMs, sessionTimeoutMs: SESSION_MS }));
    expect(fencedAfterMs).toBeLessThan(SESSION_MS);
    expect(newLeaderAfterMs).toBeLessThanOrEqual(SESSION_MS + 2000);
  });

  it('fences a leader write once its election node is gone, however late it arrives', async () => {
    const root = `/${uniqueName('lr_cluster')}`;
    roots.push(root);
    const [c1, c2] = await startMembers(2, root);
    const paths = clusterPaths(root);
    await waitFor(() => c1!.cluster!.leader, { timeoutMs: 10_000 });
    const stale = (await readCluster(zk, paths)).assignment!;
    // Delete c1's election node behind its back (what expiry does): it still believes it leads.
    const node = (await zk.getChildren(paths.election)).sort()[0]!;
    await zk.remove(`${paths.election}/${node}`);
    const forged = { ...stale, agents: { 'agent-x': 'c1' }, updatedAt: new Date().toISOString() };
    expect(await c1!.cluster!.writeAssignment(forged, -1)).toBe('fenced');
    expect(c1!.cluster!.leader).toBe(false);
    await waitFor(() => c2!.cluster!.leader, { timeoutMs: 5000 });
    const now = (await readCluster(zk, paths)).assignment!;
    expect(now.agents['agent-x']).toBeUndefined();
    const writes = await c1!.registry
      .getSingleMetric('logrelay_cluster_assignment_writes_total')!
      .get();
    expect(writes.values.find((v) => v.labels['result'] === 'fenced')?.value).toBe(1);
  });

  it('a collector whose session the test expires while it cannot hear of it stops committing within the session timeout, then rejoins', async () => {
    const root = `/${uniqueName('lr_cluster')}`;
    roots.push(root);
    const proxy = await zkProxy();
    const [c1] = await startMembers(1, root, {
      idPrefix: 'solo',
      connect: () => `127.0.0.1:${proxy.port}`,
    });
    const cluster = c1!.cluster!;
    await waitFor(() => !cluster.fenced, { timeoutMs: 10_000 });
    const raw = new RawShip(c1!.address);
    cleanups.push(async () => raw.close());
    raw.hello('agent-f');
    expect(
      (await raw.ship(makeBatch(['before'], 0, { seq: 1, agentId: 'agent-f' }))).result?.$case,
    ).toBe('committed');
    const oldMember = cluster.memberNode;
    // Cut the collector off, then expire its session on the server: it is never told (the
    // client library's known gap), and must find out by its own timer.
    await proxy.down();
    await expireSession(cluster.session!);
    const expiredAt = Date.now();
    await waitFor(
      async () => (await zk.exists(`${clusterPaths(root).members}/${oldMember}`)) === undefined,
      { timeoutMs: 3000, what: 'the expired session’s member node to vanish' },
    );
    // Its agent is dropped with UNAVAILABLE (to fail over to another collector).
    const status = await within(raw.status, SESSION_MS + 1000, 'the stream to be dropped');
    const fencedAfterMs = Date.now() - expiredAt;
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(status.details).toMatch(/fenced/);
    expect(cluster.fenced).toBe(true);
    // Back in touch: it learns of the expiry, rejoins with a new session and commits again.
    await proxy.up();
    await waitFor(() => !cluster.fenced && cluster.memberNode !== oldMember, { timeoutMs: 15_000 });
    const again = new RawShip(c1!.address);
    cleanups.push(async () => again.close());
    again.hello('agent-f');
    expect(
      (await again.ship(makeBatch(['after'], 7, { seq: 1, agentId: 'agent-f' }))).result?.$case,
    ).toBe('committed');
    console.log(JSON.stringify({ fencedAfterMs, sessionTimeoutMs: SESSION_MS }));
    expect(fencedAfterMs).toBeLessThanOrEqual(SESSION_MS);
  });

  it('a collector that cannot confirm its session (ZooKeeper unreachable, sinks fine) stops committing within the session timeout', async () => {
    const root = `/${uniqueName('lr_cluster')}`;
    roots.push(root);
    const proxy = await zkProxy();
    const [c1] = await startMembers(1, root, {
      idPrefix: 'cut',
      connect: () => `127.0.0.1:${proxy.port}`,
    });
    const cluster = c1!.cluster!;
    await waitFor(() => !cluster.fenced, { timeoutMs: 10_000 });
    const cutAt = Date.now();
    await proxy.down();
    await waitFor(() => cluster.fenced, { timeoutMs: SESSION_MS });
    const fencedAfterMs = Date.now() - cutAt;
    // Fenced: a batch is answered retry-after and written nowhere, although the sink works.
    const raw = new RawShip(c1!.address);
    cleanups.push(async () => raw.close());
    raw.hello('agent-g');
    raw.send(makeBatch(['during'], 0, { seq: 1, agentId: 'agent-g' }));
    const refused = await within(raw.status, 10_000, 'the stream to be refused');
    expect(refused.code).toBe(grpc.status.UNAVAILABLE);
    await proxy.up();
    await waitFor(() => !cluster.fenced, { timeoutMs: 20_000 });
    const again = new RawShip(c1!.address);
    cleanups.push(async () => again.close());
    again.hello('agent-g');
    expect(
      (await again.ship(makeBatch(['during'], 0, { seq: 1, agentId: 'agent-g' }))).result?.$case,
    ).toBe('committed');
    console.log(JSON.stringify({ fencedAfterMs, sessionTimeoutMs: SESSION_MS }));
    expect(fencedAfterMs).toBeLessThan(SESSION_MS);
  });
});

/** `promise`, or a clear failure after `ms`: a test must not hang on a stream that never ends. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms),
    ),
  ]);
}

async function removeTree(zk: ZkSession, path: string): Promise<void> {
  const children = await zk.getChildren(path).catch(() => [] as string[]);
  for (const child of children) await removeTree(zk, `${path}/${child}`);
  await zk.remove(path).catch(() => undefined);
}
