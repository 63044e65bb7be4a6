import { createHash } from 'node:crypto';

/**
 * Rendezvous (highest-random-weight) hashing: the member an agent goes to when there is no
 * assignment. Every agent computes the same answer from the same member list, and a member
 * leaving moves only its own agents.
 */
export function rendezvousPick(key: string, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1n;
  for (const member of members) {
    const score = createHash('sha256').update(`${member}\u0000${key}`).digest().readBigUInt64BE(0);
    if (score > bestScore || (score === bestScore && best !== undefined && member < best)) {
      best = member;
      bestScore = score;
    }
  }
  return best;
}
