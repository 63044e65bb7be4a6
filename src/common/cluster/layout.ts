import { z } from 'zod';

/**
 * Where the cluster lives in ZooKeeper, under a root (default `/logrelay`):
 *
 *   <root>/members/m-<seq>    ephemeral sequential, one per live collector: MemberInfo
 *   <root>/election/e-<seq>   ephemeral sequential, the leader-election queue: lowest leads
 *   <root>/agents/<agentId>   ephemeral, one per connected agent: AgentInfo
 *   <root>/assignment         persistent, written only by the leader (fenced): Assignment
 */
export function clusterPaths(root: string) {
  const base = root.replace(/\/+$/, '') || '/';
  const join = (name: string) => (base === '/' ? `/${name}` : `${base}/${name}`);
  return {
    root: base,
    members: join('members'),
    election: join('election'),
    agents: join('agents'),
    assignment: join('assignment'),
  };
}

export type ClusterPaths = ReturnType<typeof clusterPaths>;

/** A collector's measured load, refreshed every few seconds. */
export const memberLoadSchema = z.object({
  /** Line bytes received per second (recent average). */
  bytesPerSec: z.number().nonnegative(),
  /** Agents connected now. */
  agents: z.number().int().nonnegative(),
  /** Ship streams open now. */
  connections: z.number().int().nonnegative(),
  /** Bytes of batches being written now, and the limit they are held to. */
  inFlightBytes: z.number().nonnegative(),
  maxInFlightBytes: z.number().positive(),
});

/** A sink of a collector, with what it promises about duplicates. */
export const memberSinkSchema = z.object({
  name: z.string(),
  type: z.string(),
  /**
   * `exactly-once` (Kafka with `exactlyOnce`, Redis, MySQL: a retransmitted batch is stored once,
   * across collectors), `at-least-once` (plain Kafka, HDFS, file: a batch can repeat across a
   * failed write or a collector crash) or `none` (the null sink).
   */
  guarantee: z.string(),
  /**
   * Lines it skipped since the collector started because they were delivered before (the
   * collector's or the sink's marks had them); collectors before 0.1 did not report it.
   */
  skippedLines: z.number().nonnegative().optional(),
});

export const memberInfoSchema = z.object({
  id: z.string(),
  /** Where agents dial this collector (host:port). */
  address: z.string(),
  startedAt: z.string(),
  updatedAt: z.string(),
  load: memberLoadSchema,
  /** Its sinks (collectors before 0.1 did not report them). */
  sinks: z.array(memberSinkSchema).default([]),
});

export type MemberSink = z.output<typeof memberSinkSchema>;

export type MemberInfo = z.output<typeof memberInfoSchema>;
export type MemberLoad = z.output<typeof memberLoadSchema>;

/** One stream as an agent reports it: how far it is acknowledged and how far the file goes. */
export const agentStreamSchema = z.object({
  path: z.string(),
  acked: z.number().nonnegative(),
  size: z.number().nonnegative(),
  /** Age of the oldest unacknowledged byte, in seconds (agents before 0.1 did not report it). */
  lagSeconds: z.number().nonnegative().default(0),
});

export const agentInfoSchema = z.object({
  id: z.string(),
  host: z.string(),
  /** Line bytes committed per second (recent average): the weight of this agent. */
  bytesPerSec: z.number().nonnegative(),
  /** The collector it is connected to now ('' when none). */
  collector: z.string(),
  updatedAt: z.string(),
  /** Its streams (at most a few thousand are listed; `streamCount` has the total). */
  streams: z.array(agentStreamSchema),
  streamCount: z.number().int().nonnegative(),
});

export type AgentInfo = z.output<typeof agentInfoSchema>;

export const assignmentSchema = z.object({
  /** The writing leader's epoch: the sequence number of its election node (grows per leader). */
  epoch: z.number().int().nonnegative(),
  /** The writing leader's collector id. */
  leader: z.string(),
  updatedAt: z.string(),
  /** agent id → collector id. */
  agents: z.record(z.string(), z.string()),
  /** collector id → address, as of the write (agents still check liveness in members/). */
  members: z.record(z.string(), z.string()),
});

export type Assignment = z.output<typeof assignmentSchema>;

/** The sequence number ZooKeeper appended to an ephemeral sequential node's name. */
export function sequenceOf(name: string): number {
  const m = /(\d{10})$/.exec(name);
  return m ? Number(m[1]) : Number.NaN;
}

/** Parses znode JSON with a schema; undefined (never a throw) for anything malformed. */
export function parseNode<S extends z.ZodType>(schema: S, data: Buffer): z.output<S> | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(data.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
