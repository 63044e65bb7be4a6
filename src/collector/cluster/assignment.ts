/** An agent as the assignment sees it: its id and its weight (bytes/s it ships). */
export interface WeightedAgent {
  id: string;
  bytesPerSec: number;
}

export interface AssignInput {
  /** Live collector ids. */
  members: readonly string[];
  agents: readonly WeightedAgent[];
  /** The assignment in force: agent id → collector id. */
  previous: Readonly<Record<string, string>>;
  /** How far a collector may stray from the mean load before agents move. Default: 0.2 (±20 %). */
  tolerance?: number;
  /**
   * Agents that must not move for balance (moved recently: their measured rate is still
   * settling, and moving them again would make them flap). A dead collector's agents move
   * regardless. Default: none.
   */
  pinned?: ReadonlySet<string>;
}

/**
 * Assigns agents to collectors, balancing measured load, and sticky: an agent stays where it is
 * unless its collector died or the load is out of balance beyond the tolerance, and then only
 * as many agents move as it takes. Deterministic for a given input (ties broken by id).
 *
 * An agent's weight is its bytes/s, with a floor of 1 % of the mean agent's so that idle agents
 * (all weigh the floor) spread by count.
 */
export function assign(input: AssignInput): Record<string, string> {
  const members = [...new Set(input.members)].sort();
  if (members.length === 0) return {};
  const tolerance = input.tolerance ?? 0.2;
  const agents = [...input.agents].sort((a, b) => a.id.localeCompare(b.id));
  const mean = agents.reduce((n, a) => n + a.bytesPerSec, 0) / Math.max(1, agents.length);
  const floor = Math.max(1, mean * 0.01);
  const weight = new Map(agents.map((a) => [a.id, Math.max(floor, a.bytesPerSec)]));
  const w = (id: string) => weight.get(id) ?? floor;

  const load = new Map(members.map((m) => [m, 0]));
  const owned = new Map<string, string[]>(members.map((m) => [m, []]));
  const result: Record<string, string> = {};
  const place = (agent: string, member: string) => {
    result[agent] = member;
    load.set(member, (load.get(member) ?? 0) + w(agent));
    owned.get(member)?.push(agent);
  };
  const lightest = () =>
    members.reduce((best, m) =>
      (load.get(m) ?? 0) < (load.get(best) ?? 0) ||
      ((load.get(m) ?? 0) === (load.get(best) ?? 0) &&
        (owned.get(m)?.length ?? 0) < (owned.get(best)?.length ?? 0))
        ? m
        : best,
    );

  const orphans: string[] = [];
  for (const agent of agents) {
    const was = input.previous[agent.id];
    if (was !== undefined && load.has(was)) place(agent.id, was);
    else orphans.push(agent.id);
  }
  // Heaviest first: greedy placement balances best that way.
  orphans.sort((a, b) => w(b) - w(a) || a.localeCompare(b));
  for (const agent of orphans) place(agent, lightest());

  const total = [...load.values()].reduce((n, l) => n + l, 0);
  const target = total / members.length;
  for (let moves = 0; moves < agents.length; moves++) {
    const sorted = [...members].sort(
      (a, b) => (load.get(b) ?? 0) - (load.get(a) ?? 0) || a.localeCompare(b),
    );
    const light = sorted[sorted.length - 1]!;
    const lo = load.get(light) ?? 0;
    const hiAll = load.get(sorted[0]!) ?? 0;
    if (hiAll <= target * (1 + tolerance) && lo >= target * (1 - tolerance)) break;
    // From the heaviest collector that has a movable agent: the agent whose move leaves the
    // pair closest to even; the move must narrow their gap. A starved collector (a new one,
    // without any agent) may take one pinned agent, or a join would wait out the cooldown. Only
    // an empty one: a collector that is merely light would take pinned agents back and forth
    // with the next light one as measured rates settle (seen: an agent moved four times in 2 s).
    const starved = (owned.get(light)?.length ?? 0) === 0;
    const choose = (allowPinned: boolean) => {
      let pick: { agent: string; from: string } | undefined;
      for (const heavy of sorted.slice(0, -1)) {
        const hi = load.get(heavy) ?? 0;
        let bestGap = hi - lo;
        for (const agent of owned.get(heavy) ?? []) {
          if (!allowPinned && input.pinned?.has(agent)) continue;
          const gap = Math.abs(hi - w(agent) - (lo + w(agent)));
          if (
            gap < bestGap - 1e-9 ||
            (gap === bestGap && pick !== undefined && agent < pick.agent)
          ) {
            pick = { agent, from: heavy };
            bestGap = gap;
          }
        }
        if (pick) return pick;
      }
      return undefined;
    };
    const pick = choose(false) ?? (starved ? choose(true) : undefined);
    if (!pick) break;
    const { agent, from } = pick;
    owned.set(
      from,
      (owned.get(from) ?? []).filter((a) => a !== agent),
    );
    load.set(from, (load.get(from) ?? 0) - w(agent));
    place(agent, light);
  }
  return result;
}

/** How many agents changed collector between two assignments (new and gone agents excluded). */
export function movedAgents(
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
): number {
  let n = 0;
  for (const [agent, member] of Object.entries(after))
    if (before[agent] !== undefined && before[agent] !== member) n++;
  return n;
}
