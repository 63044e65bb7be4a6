/**
 * Who gets a descriptor when files with data outnumber `files.maxOpenFiles`: the order files
 * wait in, and which open files give theirs away. Pure functions over the harvesters' state, so
 * the policy is tested apart from the agent.
 */

/**
 * A file's turn with a descriptor while others wait for one, in ms: past it, it stops sending
 * and gives its descriptor away once its batches are answered.
 */
export const FILE_TURN_MS = 1000;

/** What the policy looks at of an open file. */
export interface OpenFileState {
  parked: boolean;
  closed: boolean;
  orphaned: boolean;
  /** Nothing in flight, no old generation or copy to finish, not being read. */
  parkable: boolean;
  /** Everything read was acknowledged. */
  drained: boolean;
  /** Batches sent and not answered. */
  inFlight: number;
  /** Bytes known in the file beyond what was read. */
  unread: number;
  /** When it got its descriptor, and when it last gave lines, ms. */
  openedAt: number;
  lastDataAt: number;
  /** Told to stop sending: its turn is over. */
  yielding: boolean;
}

/**
 * The open files that may give their descriptor now, best first: those with nothing to read
 * (least recently active first), then those whose turn is over (opened longest ago first). Files
 * whose turn is over but with batches in flight are marked `yielding` (they stop sending and
 * are candidates once answered). Files renamed away or deleted keep theirs until finished.
 */
export function descriptorVictims<T extends OpenFileState>(
  files: Iterable<T>,
  now: number,
  turnMs = FILE_TURN_MS,
): T[] {
  const idle: T[] = [];
  const turnOver: T[] = [];
  for (const f of files) {
    if (f.parked || f.closed || f.orphaned) continue;
    const over = now - f.openedAt >= turnMs;
    if (!f.parkable) {
      if (over && f.inFlight > 0) f.yielding = true;
      continue;
    }
    if (f.drained && f.unread <= 0) idle.push(f);
    else if (over) turnOver.push(f);
  }
  idle.sort((a, b) => a.lastDataAt - b.lastDataAt);
  turnOver.sort((a, b) => a.openedAt - b.openedAt);
  return [...idle, ...turnOver];
}

/** Files waiting for a descriptor, longest waiting first (a file whose turn ended goes last). */
export function waitingOrder<T extends { since: number }>(waiting: T[]): T[] {
  return waiting.sort((a, b) => a.since - b.since);
}
