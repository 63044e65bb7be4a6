import type { Counter } from 'prom-client';

/** What a scan problem is about: the `kind` label of `logrelay_agent_scan_problems_total`. */
export type ScanProblemKind = 'file' | 'directory' | 'tail';

/**
 * Problems a scan meets again on every pass (an unreadable file or folder, a tail whose glob
 * fails): each is logged once per subject and state, and every occurrence is counted, so a
 * file left unreadable for a day yields one warning, not 86,400.
 *
 * A subject's state is forgotten when it is fine again (`clear`) or when a scan no longer meets
 * it at all (`endScan`): the next problem is then a change and logged again. The map is bounded
 * by what one scan meets.
 */
export class ScanNotices {
  readonly #counter: Counter<'kind'>;
  /** Problem state by subject (`<kind>:<name>`), as of the last scan that met it. */
  #states = new Map<string, string>();
  /** Subjects met (problem or fine) during the scan in progress. */
  #met = new Set<string>();

  constructor(counter: Counter<'kind'>) {
    this.#counter = counter;
  }

  /**
   * Counts a problem of `subject`; calls `log` only when the subject was not already known in
   * this `state` (a first problem, or another one than before).
   */
  problem(kind: ScanProblemKind, subject: string, state: string, log: () => void): void {
    const key = `${kind}:${subject}`;
    this.#counter.inc({ kind });
    this.#met.add(key);
    if (this.#states.get(key) === state) return;
    this.#states.set(key, state);
    log();
  }

  /**
   * The scan met `subject` without looking into it (e.g. a path whose file is already open): its
   * state, if any, is kept. A symlink flipped back and forth is then not logged at every flip.
   */
  seen(kind: ScanProblemKind, subject: string): void {
    const key = `${kind}:${subject}`;
    if (this.#states.has(key)) this.#met.add(key);
  }

  /** The subject is fine now; returns true when it had a problem (the caller may log recovery). */
  clear(kind: ScanProblemKind, subject: string): boolean {
    return this.#states.delete(`${kind}:${subject}`);
  }

  /** The problem state `subject` is known in, or undefined when it has none. */
  state(kind: ScanProblemKind, subject: string): string | undefined {
    return this.#states.get(`${kind}:${subject}`);
  }

  /**
   * Ends a scan: subjects with a problem that this scan did not meet again are forgotten (the
   * file was deleted, the tail removed), so memory follows what exists.
   */
  endScan(): void {
    for (const key of this.#states.keys()) if (!this.#met.has(key)) this.#states.delete(key);
    this.#met = new Set();
  }
}
