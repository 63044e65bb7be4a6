/**
 * Issue 4, "Done when" 4 with the real thing: the test bed's ZooKeeper is stopped for 20 s
 * under load (scripts/services.sh down/up zookeeper), 3 collectors and 3 agents in the cluster.
 * Data pauses safely (collectors fence themselves: nothing is committed while none of them can
 * prove its membership), membership and leadership are rebuilt once ZooKeeper is back, and every
 * line arrives once.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterPaths, readCluster } from '../../src/common/cluster/index.js';
import { ZkSession } from '../../src/common/zk/zk-session.js';
import { repoRoot } from '../helpers/processes.js';
import { startClusterAgents, startClusterCollectors, startLineWriter } from '../helpers/cluster.js';
import { countLines, readAllLines } from '../helpers/relay.js';
import { endpoint, requireService } from '../helpers/services.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);
const SESSION_MS = 4000;
const zookeeperService = (action: 'up' | 'down') =>
  run('bash', [join(repoRoot, 'scripts/services.sh'), action, 'zookeeper'], { cwd: repoRoot });

describe('ZooKeeper stopped for 20 s under load', () => {
  const stops: Array<() => Promise<unknown>> = [];

  beforeAll(() => requireService('zookeeper'));
  afterAll(async () => {
    // Whatever happened, the test bed gets its ZooKeeper back.
    await zookeeperService('up').catch(() => undefined);
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  });

  it('pauses safely, rebuilds membership and leadership, and loses or repeats nothing', async () => {
    const { dir, cleanup } = await tempDir('logrelay-e2e-zkstop-');
    const out = join(dir, 'out');
    const root = `/${uniqueName('lr_zkstop')}`;
    const zookeeper = { connect: endpoint('zookeeper'), root, sessionTimeoutMs: SESSION_MS };
    const collectors = await startClusterCollectors(['q1', 'q2', 'q3'], { zookeeper, out, stops });
    const { agents, files } = await startClusterAgents(3, {
      zookeeper,
      dir,
      idPrefix: 'zkstop-agent',
      stops,
    });
    const writer = startLineWriter(files, 'q');
    const observer = new ZkSession(endpoint('zookeeper'), { sessionTimeoutMs: 10_000 });
    await observer.connect();
    const healthy = async () => {
      const view = await readCluster(observer, clusterPaths(root));
      return (
        view.members.length === 3 &&
        view.leader !== undefined &&
        view.assignment?.epoch === view.leader.epoch &&
        Object.keys(view.assignment.agents).length === 3 &&
        collectors.every((c) => !c.cluster!.fenced) &&
        agents.every((a) => a.shipper.connected)
      );
    };
    await waitFor(healthy, { timeoutMs: 20_000, what: 'the cluster to form' });
    observer.close();
    await sleep(2000);

    await zookeeperService('down');
    await waitFor(() => collectors.every((c) => c.cluster!.fenced), {
      timeoutMs: SESSION_MS,
      what: 'every collector to fence itself',
    });
    const before = (await readAllLines(out)).length;
    await sleep(20_000);
    const during = (await readAllLines(out)).length - before;
    await zookeeperService('up');
    const upAt = Date.now();
    const again = new ZkSession(endpoint('zookeeper'), { sessionTimeoutMs: 10_000 });
    await again.connect();
    stops.push(async () => again.close());
    await waitFor(
      async () => {
        const view = await readCluster(again, clusterPaths(root));
        return (
          view.members.length === 3 &&
          view.leader !== undefined &&
          view.assignment?.epoch === view.leader.epoch &&
          collectors.every((c) => !c.cluster!.fenced) &&
          agents.every((a) => a.shipper.connected)
        );
      },
      { timeoutMs: 60_000, what: 'membership and leadership rebuilt' },
    );
    const rebuiltMs = Date.now() - upAt;
    await sleep(2000);
    await writer.stop();
    const written = writer.written;
    await waitFor(async () => (await readAllLines(out)).length >= written.length, {
      timeoutMs: 60_000,
      what: 'every line delivered',
    });
    await sleep(500);
    const counts = countLines(written, await readAllLines(out));
    console.log(
      `[zookeeper-outage] ${JSON.stringify({ committedWhileDown: during, rebuiltMs, ...counts })}`,
    );
    expect(during).toBe(0);
    expect(counts).toMatchObject({ missing: 0, duplicated: 0, unexpected: 0 });
    await cleanup();
  }, 180_000);
});
