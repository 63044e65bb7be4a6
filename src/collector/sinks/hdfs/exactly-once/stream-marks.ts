// The marks of one agent's streams as its znode holds them, and how they change with a commit:
// pure functions, so the format and the eviction rule are unit-tested without ZooKeeper.

/** Format tag of an agent node, so a later format can tell old nodes apart. */
const FORMAT = 1;

/** What an agent's znode says: who holds the agent, and its streams' marks. */
export interface AgentNode {
  /** The writer (incarnation) that claimed the agent last; '' when never claimed. */
  readonly owner: string;
  /** Stream key → offset just past its last committed line, least recently written first. */
  readonly marks: ReadonlyMap<string, number>;
}

export function encodeAgentNode(node: AgentNode): Buffer {
  return Buffer.from(JSON.stringify({ v: FORMAT, owner: node.owner, marks: [...node.marks] }));
}

/** Reads an agent's znode; an empty or unreadable node holds no marks (logged by the caller). */
export function decodeAgentNode(data: Buffer | undefined): AgentNode | undefined {
  if (!data || data.length === 0) return { owner: '', marks: new Map() };
  try {
    const parsed = JSON.parse(data.toString('utf8')) as {
      v?: unknown;
      owner?: unknown;
      marks?: unknown;
    };
    if (parsed.v !== FORMAT || !Array.isArray(parsed.marks)) return undefined;
    const marks = new Map<string, number>();
    for (const entry of parsed.marks as unknown[]) {
      if (!Array.isArray(entry)) return undefined;
      const [key, offset] = entry as unknown[];
      if (typeof key !== 'string' || typeof offset !== 'number' || !Number.isSafeInteger(offset))
        return undefined;
      marks.set(key, offset);
    }
    return { owner: typeof parsed.owner === 'string' ? parsed.owner : '', marks };
  } catch {
    return undefined;
  }
}

/**
 * The marks after a commit: each updated stream moves to the most recent end (marks only move
 * forward), and the least recently written streams beyond `maxStreams` are dropped.
 */
export function advanceMarks(
  marks: ReadonlyMap<string, number>,
  updates: ReadonlyMap<string, number>,
  maxStreams: number,
): Map<string, number> {
  const next = new Map(marks);
  for (const [key, offset] of updates) {
    const current = next.get(key);
    next.delete(key);
    next.set(key, current === undefined ? offset : Math.max(current, offset));
  }
  for (const key of next.keys()) {
    if (next.size <= maxStreams) break;
    next.delete(key);
  }
  return next;
}

/** A file being written, as its znode records it: where it is and how much of it counts. */
export interface FileNode {
  readonly inProgress: string;
  readonly recovering: string;
  readonly final: string;
  /** Bytes committed: everything past this is an unacknowledged tail to cut off. */
  readonly length: number;
}

export function encodeFileNode(node: FileNode): Buffer {
  return Buffer.from(JSON.stringify({ v: FORMAT, ...node }));
}

export function decodeFileNode(data: Buffer): FileNode | undefined {
  try {
    const p = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    const { inProgress, recovering, final, length } = p;
    if (
      p['v'] !== FORMAT ||
      typeof inProgress !== 'string' ||
      typeof recovering !== 'string' ||
      typeof final !== 'string' ||
      typeof length !== 'number' ||
      !Number.isSafeInteger(length) ||
      length < 0
    )
      return undefined;
    return { inProgress, recovering, final, length };
  } catch {
    return undefined;
  }
}
