import { describe, expect, it } from 'vitest';
import {
  descriptorVictims,
  FILE_TURN_MS,
  waitingOrder,
  type OpenFileState,
} from '../../../../src/agent/harvest/turns.js';

// Issue 15 item 5: who gives a descriptor away when files with data outnumber maxOpenFiles.

const file = (name: string, over: Partial<OpenFileState> = {}) => ({
  name,
  parked: false,
  closed: false,
  orphaned: false,
  parkable: true,
  drained: false,
  inFlight: 0,
  unread: 100,
  openedAt: 0,
  lastDataAt: 0,
  yielding: false,
  ...over,
});

const names = (xs: { name: string }[]) => xs.map((x) => x.name);

describe('descriptor turns', () => {
  it('takes files with nothing to read first, least recently active first', () => {
    const now = 10_000;
    const files = [
      file('busy', { openedAt: now - 5000 }),
      file('idle-recent', { drained: true, unread: 0, lastDataAt: 9000, openedAt: now }),
      file('idle-old', { drained: true, unread: 0, lastDataAt: 1000, openedAt: now }),
    ];
    expect(names(descriptorVictims(files, now))).toEqual(['idle-old', 'idle-recent', 'busy']);
  });

  it('takes a file with data only once its turn is over, longest held first', () => {
    const now = 10_000;
    const files = [
      file('fresh', { openedAt: now - FILE_TURN_MS + 1 }),
      file('held-long', { openedAt: now - 3 * FILE_TURN_MS }),
      file('held', { openedAt: now - FILE_TURN_MS }),
    ];
    expect(names(descriptorVictims(files, now))).toEqual(['held-long', 'held']);
  });

  it('never takes a file with batches in flight, but tells it to stop sending when its turn is over', () => {
    const now = 10_000;
    const sending = file('sending', { parkable: false, inFlight: 2, openedAt: 0 });
    const young = file('young', { parkable: false, inFlight: 1, openedAt: now });
    expect(descriptorVictims([sending, young], now)).toEqual([]);
    expect(sending.yielding).toBe(true);
    expect(young.yielding).toBe(false);
  });

  it('leaves closed, parked and rotated-away files alone (the last keep theirs until finished)', () => {
    const files = [
      file('parked', { parked: true }),
      file('closed', { closed: true }),
      file('orphaned', { orphaned: true, drained: true, unread: 0 }),
    ];
    expect(descriptorVictims(files, 10_000)).toEqual([]);
  });

  it('a file whose data is not all read is not idle even when everything sent was acked', () => {
    const files = [file('behind', { drained: true, unread: 50, openedAt: 10_000 })];
    expect(descriptorVictims(files, 10_000)).toEqual([]);
  });

  it('serves the longest waiting first: a file whose turn ended waits behind the others', () => {
    const queue = [
      { name: 'turn-ended', since: 5000 },
      { name: 'new-file', since: 1000 },
      { name: 'grew', since: 3000 },
    ];
    expect(names(waitingOrder(queue))).toEqual(['new-file', 'grew', 'turn-ended']);
  });

  it('round-robin: with one descriptor, files with data take turns', () => {
    // Two files with endless data, one descriptor: each turn ends, the other gets it.
    let now = 0;
    const a = { ...file('a', { openedAt: 0 }), since: 0 };
    const b = { ...file('b', { parked: true }), since: 0 };
    const order: string[] = [];
    for (let round = 0; round < 4; round++) {
      now += FILE_TURN_MS;
      const open = [a, b].find((f) => !f.parked)!;
      const waiting = [a, b].filter((f) => f.parked);
      const [victim] = descriptorVictims([open], now);
      expect(victim).toBe(open);
      open.parked = true;
      open.since = now;
      const next = waitingOrder(waiting)[0]!;
      next.parked = false;
      next.openedAt = now;
      order.push(next.name);
    }
    expect(order).toEqual(['b', 'a', 'b', 'a']);
  });
});
