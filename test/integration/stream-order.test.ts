/**
 * Issue 12 #4 and #5: the order rule of a stream, against real collectors with a file sink and a
 * bare Ship client (docs/architecture.md, "Order within a stream").
 *
 * - #5: a batch starting beyond what the collector expects on that connection is a gap: refused
 *   (retry-after, OUT_OF_ORDER naming the offset to resend from), never written nor
 *   acknowledged; the earlier range and then the later one are both written, once, in order.
 * - #4: a stream whose write was refused (here by the sink's rate) and that moved to another
 *   collector and came back with a higher offset flows again.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Batch } from '../../src/common/wire/index.js';
import { makeBatch } from '../helpers/batches.js';
import { RawShip } from '../helpers/raw-client.js';
import { readAllLines, startCollector } from '../helpers/relay.js';
import { tempDir } from '../helpers/temp-dir.js';
import { uniqueName } from '../helpers/unique.js';
import { sleep } from '../helpers/wait-for.js';

/** `n` lines `<tag>-<i>` starting at `offset`, as one batch of `agent`'s one stream. */
function range(agent: string, tag: string, from: number, n: number, seq: number): Batch {
  const lines = Array.from({ length: n }, (_, i) => `${tag}-${String(from + i).padStart(4, '0')}`);
  // Every line is 6 bytes + "\n": line k starts at 7 k.
  return makeBatch(lines, from * 7, { agentId: agent, seq, topic: 'order' });
}

describe('order within a stream (issue 12 #4, #5)', () => {
  const stops: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  async function collector(id: string, flow?: unknown) {
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const out = join(dir, 'out');
    const c = await startCollector({
      id,
      sinks: [{ type: 'file', name: 'out', directory: out, fsync: false, flow }],
    });
    stops.push(() => c.stop());
    return { c, out };
  }

  function connect(address: string, agent: string): RawShip {
    const raw = new RawShip(address);
    stops.push(async () => raw.close());
    raw.hello(agent);
    return raw;
  }

  it('refuses a later range sent before an earlier one, then writes both once, in order (#5)', async () => {
    const { c, out } = await collector('c-gap');
    const agent = uniqueName('gap');
    const raw = connect(c.address, agent);
    expect((await raw.ship(range(agent, 'L', 0, 100, 1))).result?.$case).toBe('committed');
    // Lines 200-299 before 100-199: a gap.
    const early = await raw.ship(range(agent, 'L', 200, 100, 2));
    expect(early.result).toMatchObject({
      $case: 'retryAfter',
      value: { reason: expect.stringContaining('waiting for offset 700') },
    });
    expect(early.result?.value).toMatchObject({ reason: expect.stringContaining('out of order') });
    expect(await readAllLines(out)).toHaveLength(100);
    // The sender resends from the offset named: the earlier range, then the later one.
    expect((await raw.ship(range(agent, 'L', 100, 100, 3))).result).toEqual({
      $case: 'committed',
      value: { duplicateLines: 0 },
    });
    expect((await raw.ship(range(agent, 'L', 200, 100, 4))).result).toEqual({
      $case: 'committed',
      value: { duplicateLines: 0 },
    });
    const lines = await readAllLines(out);
    const expected = Array.from({ length: 300 }, (_, i) => `L-${String(i).padStart(4, '0')}`);
    expect(lines).toEqual(expected);
  });

  it('never acknowledges a range it did not write, also on a new connection (#5)', async () => {
    const { c, out } = await collector('c-gap2');
    const agent = uniqueName('gap2');
    const one = connect(c.address, agent);
    expect((await one.ship(range(agent, 'M', 0, 10, 1))).result?.$case).toBe('committed');
    one.close();
    // A new connection starts at 30 (its sender says 0-29 is acknowledged): taken as the base.
    const two = connect(c.address, agent);
    expect((await two.ship(range(agent, 'M', 30, 10, 1))).result?.$case).toBe('committed');
    // 10-29 then comes on that connection: it was not written here, so it is not acknowledged.
    const late = await two.ship(range(agent, 'M', 10, 20, 2));
    expect(late.result?.$case).toBe('retryAfter');
    const lines = await readAllLines(out);
    expect(lines).toHaveLength(20);
    expect(lines.filter((l) => l >= 'M-0010' && l < 'M-0030')).toEqual([]);
  });

  it('a refused stream that moved to another collector and came back higher flows again (#4)', async () => {
    // A: 100 lines/s, 1 s deep, no hold: the second batch of 100 is refused (THROTTLED).
    const a = await collector('c-home', {
      rate: { recordsPerSecond: 100, burstMs: 1000, maxHoldMs: 0 },
    });
    const b = await collector('c-away');
    const agent = uniqueName('move');
    const home = connect(a.c.address, agent);
    expect((await home.ship(range(agent, 'R', 0, 100, 1))).result?.$case).toBe('committed');
    const refused = await home.ship(range(agent, 'R', 100, 100, 2));
    expect(refused.result).toMatchObject({ $case: 'retryAfter' });
    // The agent moves away and continues there: B commits 100-299.
    home.close();
    const away = connect(b.c.address, agent);
    expect((await away.ship(range(agent, 'R', 100, 100, 1))).result?.$case).toBe('committed');
    expect((await away.ship(range(agent, 'R', 200, 100, 2))).result?.$case).toBe('committed');
    away.close();
    // A's rate has room again after a second.
    await sleep(1100);
    // It comes back to A with a higher offset: A writes it, and the stream goes on.
    const back = connect(a.c.address, agent);
    expect((await back.ship(range(agent, 'R', 300, 50, 1))).result?.$case).toBe('committed');
    await sleep(600);
    expect((await back.ship(range(agent, 'R', 350, 50, 2))).result?.$case).toBe('committed');
    const atHome = await readAllLines(a.out);
    const atAway = await readAllLines(b.out);
    const all = [...atHome, ...atAway].sort();
    expect(all).toEqual(Array.from({ length: 400 }, (_, i) => `R-${String(i).padStart(4, '0')}`));
  });
});
