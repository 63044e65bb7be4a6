import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Agent } from '../../src/agent/agent.js';
import type { Collector } from '../../src/collector/collector.js';
import { startAgent, startCollector } from './relay.js';
import { sleep } from './wait-for.js';

/** The `cluster.zookeeper` section shared by a test's collectors and agents. */
export interface TestZookeeper {
  connect: string;
  root: string;
  sessionTimeoutMs: number;
}

/** In-process cluster collectors writing to one file-sink folder; each stop is pushed to `stops`. */
export async function startClusterCollectors(
  ids: readonly string[],
  opts: { zookeeper: TestZookeeper; out: string; stops: Array<() => Promise<unknown>> },
): Promise<Collector[]> {
  const collectors: Collector[] = [];
  for (const id of ids) {
    const c = await startCollector({
      id,
      sinks: [{ type: 'file', name: 'files', directory: opts.out }],
      cluster: { zookeeper: opts.zookeeper, rebalanceIntervalMs: 500 },
    });
    opts.stops.push(() => c.stop());
    collectors.push(c);
  }
  return collectors;
}

/** `count` in-process agents finding collectors through ZooKeeper, one (empty) file each. */
export async function startClusterAgents(
  count: number,
  opts: {
    zookeeper: TestZookeeper;
    dir: string;
    idPrefix: string;
    stops: Array<() => Promise<unknown>>;
  },
): Promise<{ agents: Agent[]; files: string[] }> {
  const agents: Agent[] = [];
  const files: string[] = [];
  for (let a = 0; a < count; a++) {
    const file = join(opts.dir, `${opts.idPrefix}-${a}.log`);
    await writeFile(file, '');
    files.push(file);
    const agent = await startAgent({
      id: `${opts.idPrefix}-${a}`,
      cluster: { zookeeper: opts.zookeeper, reportIntervalMs: 500 },
      tails: [{ paths: [file], topic: 'app' }],
      checkpoint: { path: join(opts.dir, `${opts.idPrefix}-${a}.registry.json`) },
      ship: { retryInitialMs: 50, retryMaxMs: 500 },
    });
    opts.stops.push(() => agent.stop());
    agents.push(agent);
  }
  return { agents, files };
}

/**
 * Appends `linesPerTick` unique lines (`<prefix><file index>#<n>`) to every file every 50 ms
 * until stopped: the load under which a test changes the cluster. `written` has every line.
 */
export function startLineWriter(
  files: readonly string[],
  prefix: string,
  linesPerTick = 20,
): { written: string[]; stop: () => Promise<void> } {
  const written: string[] = [];
  let writing = true;
  const done = (async () => {
    for (let tick = 0; writing; tick++) {
      await Promise.all(
        files.map((file, a) => {
          const lines = Array.from(
            { length: linesPerTick },
            (_, i) => `${prefix}${a}#${tick * linesPerTick + i}`,
          );
          written.push(...lines);
          return appendFile(file, lines.map((l) => `${l}\n`).join(''));
        }),
      );
      await sleep(50);
    }
  })();
  return {
    written,
    stop: async () => {
      writing = false;
      await done;
    },
  };
}
