import { describe, expect, it } from 'vitest';
import { assign, movedAgents } from '../../../../src/collector/cluster/assignment.js';
import { rendezvousPick } from '../../../../src/common/cluster/rendezvous.js';

const agents = (n: number, bytesPerSec: (i: number) => number = () => 0) =>
  Array.from({ length: n }, (_, i) => ({
    id: `agent-${String(i).padStart(3, '0')}`,
    bytesPerSec: bytesPerSec(i),
  }));

function loads(result: Record<string, string>, list: ReturnType<typeof agents>) {
  const out: Record<string, number> = {};
  for (const a of list) out[result[a.id]!] = (out[result[a.id]!] ?? 0) + a.bytesPerSec;
  return out;
}

function counts(result: Record<string, string>) {
  const out: Record<string, number> = {};
  for (const m of Object.values(result)) out[m] = (out[m] ?? 0) + 1;
  return out;
}

describe('assign', () => {
  it('spreads idle agents by count', () => {
    const result = assign({ members: ['c1', 'c2', 'c3'], agents: agents(9), previous: {} });
    expect(counts(result)).toEqual({ c1: 3, c2: 3, c3: 3 });
  });

  it('keeps every collector within ±20 % of the mean bytes/s for uneven agents', () => {
    // 100 agents with loads from 1 to 100 KB/s.
    const list = agents(100, (i) => 1000 * (1 + ((i * 37) % 100)));
    const result = assign({ members: ['c1', 'c2', 'c3'], agents: list, previous: {} });
    const l = Object.values(loads(result, list));
    const mean = l.reduce((a, b) => a + b, 0) / 3;
    for (const x of l) expect(Math.abs(x - mean) / mean).toBeLessThanOrEqual(0.2);
  });

  it('is sticky: the same input gives the same answer, and a balanced cluster moves nothing', () => {
    const list = agents(30, (i) => 100 + i);
    const first = assign({ members: ['c1', 'c2', 'c3'], agents: list, previous: {} });
    const second = assign({ members: ['c1', 'c2', 'c3'], agents: list, previous: first });
    expect(second).toEqual(first);
    expect(movedAgents(first, second)).toBe(0);
  });

  it('moves only the dead collector’s agents when one leaves', () => {
    const list = agents(30);
    const first = assign({ members: ['c1', 'c2', 'c3'], agents: list, previous: {} });
    const second = assign({ members: ['c1', 'c2'], agents: list, previous: first });
    const orphaned = Object.values(first).filter((m) => m === 'c3').length;
    expect(movedAgents(first, second)).toBe(orphaned);
    expect(counts(second)).toEqual({ c1: 15, c2: 15 });
  });

  it('gives a joining collector its share, moving no more than that share', () => {
    const list = agents(30, () => 1000);
    const first = assign({ members: ['c1', 'c2'], agents: list, previous: {} });
    const second = assign({ members: ['c1', 'c2', 'c3'], agents: list, previous: first });
    expect(counts(second)['c3']).toBeGreaterThanOrEqual(8);
    expect(movedAgents(first, second)).toBe(counts(second)['c3']);
  });

  it('assigns nothing without members', () => {
    expect(assign({ members: [], agents: agents(3), previous: {} })).toEqual({});
  });
});

describe('rendezvousPick', () => {
  it('agrees for everyone, and moves only the departed member’s keys', () => {
    const members = ['c1', 'c2', 'c3', 'c4'];
    const keys = Array.from({ length: 400 }, (_, i) => `agent-${i}`);
    const before = keys.map((k) => rendezvousPick(k, members));
    const after = keys.map((k) => rendezvousPick(k, ['c1', 'c2', 'c4']));
    keys.forEach((_, i) => {
      if (before[i] !== 'c3') expect(after[i]).toBe(before[i]);
    });
    const perMember = members.map((m) => before.filter((b) => b === m).length);
    for (const n of perMember) expect(n).toBeGreaterThan(60);
    expect(rendezvousPick('x', [])).toBeUndefined();
  });
});
