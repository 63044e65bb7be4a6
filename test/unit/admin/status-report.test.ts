import { describe, expect, it } from 'vitest';
import {
  formatSinks,
  formatStatus,
  statusReport,
} from '../../../src/admin/status/status-report.js';
import type { ClusterView } from '../../../src/common/cluster/index.js';

const load = {
  bytesPerSec: 1200,
  agents: 1,
  connections: 1,
  inFlightBytes: 0,
  maxInFlightBytes: 64,
};
const view: ClusterView = {
  members: [
    {
      id: 'c1',
      address: '10.0.0.1:7070',
      node: 'm-0000000000',
      startedAt: 't',
      updatedAt: 't',
      load,
      sinks: [
        { name: 'kafka', type: 'kafka', guarantee: 'exactly-once' },
        { name: 'files', type: 'file', guarantee: 'at-least-once' },
      ],
    },
    {
      id: 'c2',
      address: '10.0.0.2:7070',
      node: 'm-0000000001',
      startedAt: 't',
      updatedAt: 't',
      load,
      sinks: [],
    },
  ],
  leader: { id: 'c1', node: 'e-0000000000', epoch: 0 },
  assignment: {
    epoch: 0,
    leader: 'c1',
    updatedAt: 't',
    agents: { web: 'c2' },
    members: { c1: '10.0.0.1:7070', c2: '10.0.0.2:7070' },
    version: 3,
  },
  agents: [
    {
      id: 'web',
      host: 'web-1',
      bytesPerSec: 1200,
      collector: '10.0.0.2:7070',
      updatedAt: 't',
      streamCount: 2,
      streams: [
        { path: '/var/log/a.log', acked: 100, size: 150, lagSeconds: 2.5 },
        { path: '/var/log/b.log', acked: 70, size: 70, lagSeconds: 0 },
      ],
    },
  ],
};

describe('status report', () => {
  it('marks the leader, joins agents with their assignment and sums the lag', () => {
    const report = statusReport(view, 'zk:2181', '/logrelay');
    expect(report.leader).toEqual({ id: 'c1', epoch: 0 });
    expect(report.members.map((m) => m.leader)).toEqual([true, false]);
    expect(report.agents[0]).toMatchObject({
      assigned: 'c2',
      lagBytes: 50,
      lagSeconds: 2.5,
      streamCount: 2,
    });
    expect(report.agents[0]!.streams.map((s) => s.lagBytes)).toEqual([50, 0]);
  });

  it('prints members, agents and streams as tables', () => {
    const text = formatStatus(statusReport(view, 'zk:2181', '/logrelay'));
    expect(text).toContain('leader c1 (epoch 0)');
    expect(text).toMatch(/c1\s+10\.0\.0\.1:7070\s+yes/);
    // Which mode each sink runs, per collector; `-` for one that does not say (older).
    expect(text).toContain('kafka (kafka, exactly-once), files (file, at-least-once)');
    expect(text).toMatch(/c2\s+10\.0\.0\.2:7070\s+.*\s-\n/);
    expect(text).toMatch(/web\s+web-1\s+c2\s+10\.0\.0\.2:7070\s+1200\s+2\s+50\s+2\.5/);
    expect(text).toMatch(/\/var\/log\/a\.log\s+100\s+150\s+50\s+2\.5/);
  });

  it('says so when there is no leader', () => {
    const text = formatStatus(
      statusReport(
        { members: [], leader: undefined, assignment: undefined, agents: [] },
        'zk',
        '/x',
      ),
    );
    expect(text).toContain('0 member(s), leader none');
  });

  it('marks only the leader session of a restarted collector, and its stale entry', () => {
    const c1 = view.members[0]!;
    const c2 = view.members[1]!;
    const restarted: ClusterView = {
      ...view,
      members: [
        { ...c1, session: 'aa', stale: true },
        { ...c2, session: 'bb', stale: false },
        { ...c1, node: 'm-0000000002', address: '10.0.0.1:7071', session: 'cc', stale: false },
      ],
      leader: { id: 'c1', node: 'e-0000000000', epoch: 0, session: 'aa', stale: true },
    };
    const report = statusReport(restarted, 'zk:2181', '/logrelay');
    expect(report.members.map((m) => [m.id, m.leader, m.stale])).toEqual([
      ['c1', true, true],
      ['c2', false, false],
      ['c1', false, false],
    ]);
    const text = formatStatus(report);
    expect(text).toContain(
      'leader c1 (epoch 0, stale: a new leader is elected when its session expires)',
    );
    expect(text).toMatch(/^c1 \(stale\)\s+10\.0\.0\.1:7070\s+yes\s/m);
    expect(text).toMatch(/^c1\s+10\.0\.0\.1:7071\s+1200\s/m);
    expect(text).toContain('(stale): an older ZooKeeper session of a collector that registered');
    // Without sessions (a view built by hand) the newest entry of the id stands for the leader.
    const bare = statusReport(
      { ...view, members: [c1, c2, { ...c1, node: 'm-0000000002' }] },
      'zk',
      '/x',
    );
    expect(bare.members.map((m) => m.leader)).toEqual([false, false, true]);
  });

  it('shows the lines each sink skipped as already delivered (issue 12 #22)', () => {
    const members = [
      {
        ...view.members[0]!,
        sinks: [
          { name: 'kafka', type: 'kafka', guarantee: 'exactly-once', skippedLines: 100000 },
          { name: 'files', type: 'file', guarantee: 'at-least-once' },
        ],
      },
    ];
    const report = statusReport({ ...view, members }, 'zk:2181', '/logrelay');
    expect(report.members[0]?.sinks.map((s) => s.skippedLines)).toEqual([100000, 0]);
    expect(formatSinks(report.members[0]!.sinks)).toBe(
      'kafka (kafka, exactly-once, 100000 skipped as delivered), files (file, at-least-once)',
    );
  });

  it('lists MongoDB and HBase sinks like the others, with their guarantee (issue 14)', () => {
    const members = [
      {
        ...view.members[0]!,
        sinks: [
          { name: 'docs', type: 'mongodb', guarantee: 'exactly-once', skippedLines: 12 },
          { name: 'rows', type: 'hbase', guarantee: 'exactly-once' },
        ],
      },
    ];
    const report = statusReport({ ...view, members }, 'zk:2181', '/logrelay');
    expect(formatSinks(report.members[0]!.sinks)).toBe(
      'docs (mongodb, exactly-once, 12 skipped as delivered), rows (hbase, exactly-once)',
    );
  });
});
