import { statusReport, formatStatus } from '../admin/status/status-report.js';
import { clusterPaths, readCluster } from '../common/cluster/index.js';
import { ZkSession } from '../common/zk/zk-session.js';

/** `logrelay status [--zookeeper HOST:PORT] [--root PATH] [--json]` */
export async function statusCommand(options: {
  zookeeper: string;
  root: string;
  json?: boolean;
}): Promise<number> {
  const session = new ZkSession(options.zookeeper, {
    sessionTimeoutMs: 10_000,
    connectTimeoutMs: 5000,
  });
  await session.connect();
  try {
    const view = await readCluster(session, clusterPaths(options.root));
    const report = statusReport(view, options.zookeeper, options.root);
    process.stdout.write(
      options.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report),
    );
    return 0;
  } finally {
    session.close();
  }
}
