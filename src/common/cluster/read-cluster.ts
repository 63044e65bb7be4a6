import { z } from 'zod';
import type { ZkSession, ZkStat } from '../zk/zk-session.js';
import {
  agentInfoSchema,
  assignmentSchema,
  memberInfoSchema,
  parseNode,
  sequenceOf,
  type AgentInfo,
  type Assignment,
  type ClusterPaths,
  type MemberInfo,
} from './layout.js';

const electionEntrySchema = z.object({ id: z.string() });

/**
 * Where a member or election node came from: the ZooKeeper session that owns it (hex), and
 * whether that session is stale — the same collector id registered again with a newer session
 * (a collector killed with SIGKILL and restarted before ZooKeeper expired its old session). A
 * stale entry disappears when its session expires; until then it must not pass for the live one.
 */
export interface ClusterOrigin {
  /** The owning session id, hex; absent in views built by hand. */
  session?: string;
  /** True when a later registration of the same collector id exists. Default: false. */
  stale?: boolean;
}

/** What ZooKeeper holds about the cluster at one moment (members, leader, assignment, agents). */
export interface ClusterView {
  /** Registered collectors, in registration order (stale registrations included, marked). */
  members: Array<MemberInfo & { node: string } & ClusterOrigin>;
  /** The candidate that leads now (lowest election node), if any; it may be a stale one. */
  leader: ({ id: string; node: string; epoch: number } & ClusterOrigin) | undefined;
  /** The last assignment written, with its znode version. */
  assignment: (Assignment & { version: number }) | undefined;
  /** Live agents (those registered through ZooKeeper). */
  agents: AgentInfo[];
}

/** Children of `path` with their data; a child gone between the listing and the read is skipped. */
async function childrenWithData(
  zk: ZkSession,
  path: string,
): Promise<Array<{ name: string; data: Buffer; stat: ZkStat }>> {
  const names = await zk.getChildren(path).catch((err: unknown) => {
    if ((err as { code?: string }).code === 'ZK_NO_NODE') return [] as string[];
    throw err;
  });
  const out = await Promise.all(
    names.map((name) =>
      zk.getData(`${path}/${name}`).then(
        ({ data, stat }) => ({ name, data, stat }),
        (err: unknown) => {
          if ((err as { code?: string }).code === 'ZK_NO_NODE') return undefined;
          throw err;
        },
      ),
    ),
  );
  return out.filter((x): x is { name: string; data: Buffer; stat: ZkStat } => x !== undefined);
}

export async function readCluster(zk: ZkSession, paths: ClusterPaths): Promise<ClusterView> {
  const [memberNodes, electionNodes, agentNodes, assignmentNode] = await Promise.all([
    childrenWithData(zk, paths.members),
    childrenWithData(zk, paths.election),
    childrenWithData(zk, paths.agents),
    zk.getData(paths.assignment).catch((err: unknown) => {
      if ((err as { code?: string }).code === 'ZK_NO_NODE') return undefined;
      throw err;
    }),
  ]);
  const registered = memberNodes
    .sort((a, b) => sequenceOf(a.name) - sequenceOf(b.name))
    .flatMap(({ name, data, stat }) => {
      const info = parseNode(memberInfoSchema, data);
      return info ? [{ ...info, node: name, session: sessionOf(stat) }] : [];
    });
  // In registration order, so the last entry of an id is its newest session.
  const newest = new Map(registered.map((m) => [m.id, m.session]));
  const members = registered.map((m) => ({ ...m, stale: newest.get(m.id) !== m.session }));
  const first = electionNodes.sort((a, b) => sequenceOf(a.name) - sequenceOf(b.name))[0];
  const entry = first ? parseNode(electionEntrySchema, first.data) : undefined;
  let leader: ClusterView['leader'];
  if (first && entry) {
    const session = sessionOf(first.stat);
    // The member of the leader's own session says whether it is stale; without one (a race with
    // its registration), a newer session of its id is enough.
    const own = members.find((m) => m.session === session);
    const stale = own ? own.stale : newest.has(entry.id) && newest.get(entry.id) !== session;
    leader = { id: entry.id, node: first.name, epoch: sequenceOf(first.name), session, stale };
  }
  const parsed = assignmentNode ? parseNode(assignmentSchema, assignmentNode.data) : undefined;
  const assignment =
    parsed && assignmentNode ? { ...parsed, version: assignmentNode.stat.version } : undefined;
  const agents = agentNodes
    .flatMap(({ data }) => {
      const info = parseNode(agentInfoSchema, data);
      return info ? [info] : [];
    })
    .sort((a, b) => a.id.localeCompare(b.id));
  return { members, leader, assignment, agents };
}

/** The owning session of an ephemeral node, hex (all zeros for a persistent one). */
function sessionOf(stat: ZkStat): string {
  return Buffer.from(stat.ephemeralOwner).toString('hex');
}
