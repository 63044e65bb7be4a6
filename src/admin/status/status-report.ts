import type { ClusterView } from '../../common/cluster/index.js';

/** `logrelay status --json`: the cluster as ZooKeeper holds it, with per-stream lag. */
export interface StatusReport {
  zookeeper: string;
  root: string;
  leader: { id: string; epoch: number } | null;
  members: Array<{
    id: string;
    address: string;
    /** True for the entry of the leader's own session (one entry at most, even when stale). */
    leader: boolean;
    /**
     * True for an older registration of a collector id that registered again (killed without
     * closing its ZooKeeper session, then restarted): it is gone when that session expires.
     */
    stale: boolean;
    node: string;
    bytesPerSec: number;
    agents: number;
    connections: number;
    inFlightBytes: number;
    updatedAt: string;
    /**
     * Its sinks with their guarantee (`exactly-once`, `at-least-once`, `none`) and the lines
     * each skipped since the collector started as delivered before.
     */
    sinks: Array<{ name: string; type: string; guarantee: string; skippedLines: number }>;
  }>;
  assignment: {
    epoch: number;
    leader: string;
    updatedAt: string;
    agents: Record<string, string>;
  } | null;
  agents: Array<{
    id: string;
    host: string;
    /** The collector it reports being connected to ('' when none). */
    collector: string;
    /** The collector the assignment gives it (null when unassigned). */
    assigned: string | null;
    bytesPerSec: number;
    streamCount: number;
    /** Bytes in its files not yet acknowledged, over the listed streams. */
    lagBytes: number;
    /** Age of the oldest unacknowledged byte over the listed streams, in seconds. */
    lagSeconds: number;
    streams: Array<{
      path: string;
      acked: number;
      size: number;
      lagBytes: number;
      lagSeconds: number;
    }>;
  }>;
}

export function statusReport(view: ClusterView, zookeeper: string, root: string): StatusReport {
  return {
    zookeeper,
    root,
    leader: view.leader ? { id: view.leader.id, epoch: view.leader.epoch } : null,
    members: view.members.map((m) => ({
      id: m.id,
      address: m.address,
      leader: isLeader(view, m),
      stale: m.stale ?? false,
      node: m.node,
      bytesPerSec: m.load.bytesPerSec,
      agents: m.load.agents,
      connections: m.load.connections,
      inFlightBytes: m.load.inFlightBytes,
      updatedAt: m.updatedAt,
      sinks: m.sinks.map(({ name, type, guarantee, skippedLines }) => ({
        name,
        type,
        guarantee,
        skippedLines: skippedLines ?? 0,
      })),
    })),
    assignment: view.assignment
      ? {
          epoch: view.assignment.epoch,
          leader: view.assignment.leader,
          updatedAt: view.assignment.updatedAt,
          agents: view.assignment.agents,
        }
      : null,
    agents: view.agents.map((a) => {
      const streams = a.streams.map((s) => ({ ...s, lagBytes: Math.max(0, s.size - s.acked) }));
      return {
        id: a.id,
        host: a.host,
        collector: a.collector,
        assigned: view.assignment?.agents[a.id] ?? null,
        bytesPerSec: a.bytesPerSec,
        streamCount: a.streamCount,
        lagBytes: streams.reduce((n, s) => n + s.lagBytes, 0),
        lagSeconds: streams.reduce((n, s) => Math.max(n, s.lagSeconds), 0),
        streams,
      };
    }),
  };
}

/**
 * Whether `member` is the leader's own entry: the same session as the leading election node.
 * Matching by id alone would mark every registration of a restarted leader.
 */
function isLeader(view: ClusterView, member: ClusterView['members'][number]): boolean {
  const { leader } = view;
  if (!leader || leader.id !== member.id) return false;
  if (leader.session !== undefined && member.session !== undefined) {
    return leader.session === member.session;
  }
  // A view without sessions (built by hand): the newest entry of the id stands for it.
  return view.members.findLast((m) => m.id === member.id) === member;
}

/** Left-aligned columns, two spaces apart. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/**
 * `kafka (kafka, exactly-once, 100000 skipped as delivered), files (file, at-least-once)`; `-`
 * when none is reported.
 */
export function formatSinks(sinks: StatusReport['members'][number]['sinks']): string {
  if (sinks.length === 0) return '-';
  return sinks
    .map((s) => {
      const skipped = s.skippedLines > 0 ? `, ${s.skippedLines} skipped as delivered` : '';
      return `${s.name} (${s.type}, ${s.guarantee}${skipped})`;
    })
    .join(', ');
}

/** The report as text tables: members, agents, streams. */
export function formatStatus(report: StatusReport): string {
  const out: string[] = [];
  const staleLeader = report.members.some((m) => m.leader && m.stale);
  const leader = report.leader
    ? `${report.leader.id} (epoch ${report.leader.epoch}${staleLeader ? ', stale: a new leader is elected when its session expires' : ''})`
    : 'none';
  out.push(
    `cluster ${report.root} on ${report.zookeeper}: ${report.members.length} member(s), ` +
      `leader ${leader}`,
  );
  out.push('');
  out.push(
    table(
      ['MEMBER', 'ADDRESS', 'LEADER', 'BYTES/S', 'AGENTS', 'CONNECTIONS', 'IN-FLIGHT', 'SINKS'],
      report.members.map((m) => [
        m.stale ? `${m.id} (stale)` : m.id,
        m.address,
        m.leader ? 'yes' : '',
        String(m.bytesPerSec),
        String(m.agents),
        String(m.connections),
        String(m.inFlightBytes),
        formatSinks(m.sinks),
      ]),
    ),
  );
  if (report.members.some((m) => m.stale)) {
    out.push(
      '(stale): an older ZooKeeper session of a collector that registered again (killed without ' +
        'closing its session, e.g. kill -9, then restarted); it disappears when that session ' +
        'expires (cluster.zookeeper.sessionTimeoutMs)',
    );
  }
  out.push('');
  out.push(
    table(
      ['AGENT', 'HOST', 'ASSIGNED', 'CONNECTED TO', 'BYTES/S', 'STREAMS', 'LAG BYTES', 'LAG S'],
      report.agents.map((a) => [
        a.id,
        a.host,
        a.assigned ?? '-',
        a.collector || '-',
        String(a.bytesPerSec),
        String(a.streamCount),
        String(a.lagBytes),
        String(a.lagSeconds),
      ]),
    ),
  );
  const streams = report.agents.flatMap((a) =>
    a.streams.map((s) => [
      a.id,
      s.path,
      String(s.acked),
      String(s.size),
      String(s.lagBytes),
      String(s.lagSeconds),
    ]),
  );
  if (streams.length > 0) {
    out.push('');
    out.push(table(['AGENT', 'STREAM', 'ACKED', 'SIZE', 'LAG BYTES', 'LAG S'], streams));
  }
  return `${out.join('\n')}\n`;
}
