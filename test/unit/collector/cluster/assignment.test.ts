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

describe('assign with pinned agents', () => {
  it('does not move pinned agents for balance, but does move them off a dead collector', () => {
    const list = ['a', 'b', 'c', 'd'].map((id) => ({ id, bytesPerSec: 100 }));
    // c1 carries 300 of a mean of 200; c2 has 100: out of balance, but not starved.
    const previous = { a: 'c1', b: 'c1', c: 'c1', d: 'c2' };
    const pinned = new Set(['a', 'b', 'c']);
    expect(assign({ members: ['c1', 'c2'], agents: list, previous, pinned })).toEqual(previous);
    const unpinned = assign({
      members: ['c1', 'c2'],
      agents: list,
      previous,
      pinned: new Set(['a', 'b']),
    });
    expect(unpinned).toEqual({ ...previous, c: 'c2' });
    const moved = assign({ members: ['c2'], agents: list, previous, pinned });
    expect(Object.values(moved)).toEqual(['c2', 'c2', 'c2', 'c2']);
  });
});

describe('assign when the heaviest collector’s agents are all pinned', () => {
  it('takes from the next heaviest instead of giving up', () => {
    const list = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => ({ id, bytesPerSec: 100 }));
    const previous = { a: 'c1', b: 'c1', c: 'c2', d: 'c2', e: 'c3', f: 'c3' };
    const result = assign({
      members: ['c1', 'c2', 'c3', 'c4'],
      agents: list,
      previous,
      pinned: new Set(['a', 'b']),
    });
    expect(Object.values(result).filter((m) => m === 'c4').length).toBeGreaterThanOrEqual(1);
    expect(result['a']).toBe('c1');
    expect(result['b']).toBe('c1');
  });
});

describe('assign to a starved (new) collector', () => {
  it('moves pinned agents to a collector under half the mean load', () => {
    const list = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => ({ id, bytesPerSec: 100 }));
    const previous = { a: 'c1', b: 'c1', c: 'c2', d: 'c2', e: 'c3', f: 'c3' };
    const result = assign({
      members: ['c1', 'c2', 'c3', 'c4'],
      agents: list,
      previous,
      pinned: new Set(['a', 'b', 'c', 'd', 'e', 'f']),
    });
    expect(Object.values(result).filter((m) => m === 'c4')).toHaveLength(1);
  });

  it('leaves pinned agents alone for a collector that is light but has agents (no flapping)', () => {
    const list = [
      { id: 'a', bytesPerSec: 300 },
      { id: 'b', bytesPerSec: 300 },
      { id: 'c', bytesPerSec: 300 },
      { id: 'd', bytesPerSec: 300 },
      { id: 'e', bytesPerSec: 10 },
    ];
    const previous = { a: 'c1', b: 'c1', c: 'c2', d: 'c2', e: 'c3' };
    const pinned = new Set(['a', 'b', 'c', 'd', 'e']);
    expect(assign({ members: ['c1', 'c2', 'c3'], agents: list, previous, pinned })).toEqual(
      previous,
    );
  });
});
