/**
 * Issue 12, item 14: `logrelay status` after a collector was killed with SIGKILL and restarted
 * before ZooKeeper expired its old session. The old registration stays in ZooKeeper until then;
 * it must be shown as stale, and only one entry may be marked leader. Real ZooKeeper, real
 * in-process collectors; the "kill -9" cuts the old collector's connection (a TcpProxy), which
 * leaves its session to expire on the server exactly as a killed process does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../src/admin/status/status-report.js';
import { exitCodes } from '../../src/cli.js';
import { clusterPaths, readCluster } from '../../src/common/cluster/index.js';
import { ZkSession } from '../../src/common/zk/zk-session.js';
import { runCli } from '../helpers/cli.js';
import { startCollector } from '../helpers/relay.js';
import { endpoint, requireService, services } from '../helpers/services.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait-for.js';

// Long enough to run `status` twice before the killed collector's session expires.
const OLD_SESSION_MS = 12_000;

async function removeTree(zk: ZkSession, path: string): Promise<void> {
  const children = await zk.getChildren(path).catch(() => [] as string[]);
  for (const child of children) await removeTree(zk, `${path}/${child}`);
  await zk.remove(path).catch(() => undefined);
}

describe('logrelay status with a stale registration of a restarted collector', () => {
  const root = `/${uniqueName('lr_status_restart')}`;
  const cleanups: Array<() => Promise<unknown>> = [];
  let zk: ZkSession;

  beforeAll(async () => {
    await requireService('zookeeper');
    zk = new ZkSession(endpoint('zookeeper'), { sessionTimeoutMs: 10_000 });
    await zk.connect();
  });

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await removeTree(zk, root);
    zk.close();
  });

  async function collector(id: string, connect: string, sessionTimeoutMs: number) {
    const out = await tempDir();
    cleanups.push(out.cleanup);
    const c = await startCollector({
      id,
      sinks: [{ type: 'file', name: 'files', directory: out.dir }],
      cluster: { zookeeper: { connect, root, sessionTimeoutMs }, rebalanceIntervalMs: 500 },
    });
    cleanups.push(() => c.stop());
    return c;
  }

  async function status(): Promise<{ report: StatusReport; text: string }> {
    const args = ['status', '--zookeeper', endpoint('zookeeper'), '--root', root];
    const json = await runCli(...args, '--json');
    const text = await runCli(...args);
    expect([json.code, text.code]).toEqual([exitCodes.ok, exitCodes.ok]);
    return { report: JSON.parse(json.stdout) as StatusReport, text: text.stdout };
  }

  it('marks the old session stale and the leader once, until the old session expires', async () => {
    const proxy = new TcpProxy(services.zookeeper);
    await proxy.up();
    cleanups.push(() => proxy.down());
    const paths = clusterPaths(root);

    const old = await collector('c1', `127.0.0.1:${proxy.port}`, OLD_SESSION_MS);
    await collector('c2', endpoint('zookeeper'), 4000);
    await waitFor(async () => (await readCluster(zk, paths)).assignment?.members['c2'], {
      what: 'c1 leading, c2 assigned',
    });
    const oldNode = old.cluster?.memberNode;
    const oldEpoch = old.cluster?.epoch;
    expect(old.cluster?.leader).toBe(true);

    // kill -9 of c1: its connection is gone, its session (and its znodes) stay until expiry.
    await proxy.down();
    const restarted = await collector('c1', endpoint('zookeeper'), 4000);
    await waitFor(async () => (await readCluster(zk, paths)).members.length === 3, {
      what: 'the restarted c1 registered beside its old session',
    });

    const before = await status();
    expect(before.report.members.map((m) => [m.id, m.node, m.leader, m.stale])).toEqual([
      ['c1', oldNode, true, true],
      ['c2', expect.any(String), false, false],
      ['c1', restarted.cluster?.memberNode, false, false],
    ]);
    expect(before.report.leader).toEqual({ id: 'c1', epoch: oldEpoch });
    expect(before.text).toContain(
      `leader c1 (epoch ${oldEpoch}, stale: a new leader is elected when its session expires)`,
    );
    const rows = before.text.split('\n').filter((l) => /^c\d/.test(l));
    expect(rows.slice(0, 3).map((l) => l.split(/\s{2,}/).slice(0, 3))).toEqual([
      ['c1 (stale)', old.address, 'yes'],
      ['c2', expect.any(String), expect.not.stringMatching(/yes/)],
      ['c1', restarted.address, expect.not.stringMatching(/yes/)],
    ]);
    expect(before.text).toContain('(stale): an older ZooKeeper session of a collector');

    // Once the old session expires its entry is gone and the next candidate leads.
    await waitFor(async () => (await readCluster(zk, paths)).members.length === 2, {
      timeoutMs: OLD_SESSION_MS + 10_000,
      what: 'the old session to expire',
    });
    const after = await status();
    expect(after.report.members.map((m) => [m.id, m.leader, m.stale])).toEqual([
      ['c2', true, false],
      ['c1', false, false],
    ]);
    expect(after.report.leader?.id).toBe('c2');
    expect(after.text).not.toMatch(/stale/);
  });
});
