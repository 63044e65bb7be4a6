import { z } from 'zod';
import type { ZkSession } from '../zk/zk-session.js';
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

/** What ZooKeeper holds about the cluster at one moment (members, leader, assignment, agents). */
export interface ClusterView {
  /** Live collectors, in registration order. */
  members: Array<MemberInfo & { node: string }>;
  /** The candidate that leads now (lowest election node), if any. */
  leader: { id: string; node: string; epoch: number } | undefined;
  /** The last assignment written, with its znode version. */
  assignment: (Assignment & { version: number }) | undefined;
  /** Live agents (those registered through ZooKeeper). */
  agents: AgentInfo[];
}

/** Children of `path` with their data; a child gone between the listing and the read is skipped. */
async function childrenWithData(
  zk: ZkSession,
  path: string,
): Promise<Array<{ name: string; data: Buffer }>> {
  const names = await zk.getChildren(path).catch((err: unknown) => {
    if ((err as { code?: string }).code === 'ZK_NO_NODE') return [] as string[];
    throw err;
  });
  const out = await Promise.all(
    names.map((name) =>
      zk.getData(`${path}/${name}`).then(
        ({ data }) => ({ name, data }),
        (err: unknown) => {
          if ((err as { code?: string }).code === 'ZK_NO_NODE') return undefined;
          throw err;
        },
      ),
    ),
  );
  return out.filter((x): x is { name: string; data: Buffer } => x !== undefined);
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
  const members = memberNodes
    .sort((a, b) => sequenceOf(a.name) - sequenceOf(b.name))
    .flatMap(({ name, data }) => {
      const info = parseNode(memberInfoSchema, data);
      return info ? [{ ...info, node: name }] : [];
    });
  const first = electionNodes.sort((a, b) => sequenceOf(a.name) - sequenceOf(b.name))[0];
  const entry = first ? parseNode(electionEntrySchema, first.data) : undefined;
  const leader =
    first && entry ? { id: entry.id, node: first.name, epoch: sequenceOf(first.name) } : undefined;
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
