/**
 * Runs many agents in one process, for scale tests ("100 simulated agents, run from a few
 * processes"): `node --import tsx test/helpers/agent-swarm.ts <configs.json>`, where the file
 * holds an array of agent configurations. Prints `ready <n>` once all started; stops them all
 * on SIGTERM.
 */
import { readFile } from 'node:fs/promises';
import { Agent } from '../../src/agent/agent.js';
import { agentConfigSchema } from '../../src/agent/config.js';
import { validateConfig } from '../../src/common/config/load-config.js';
import { createLogger } from '../../src/common/logging/logger.js';

const file = process.argv[2];
if (!file) throw new Error('usage: agent-swarm.ts <configs.json>');
const configs = JSON.parse(await readFile(file, 'utf8')) as Array<Record<string, unknown>>;
const log = createLogger({ level: 'warn', name: 'swarm' });
const agents = configs.map(
  (c, i) => new Agent(validateConfig(agentConfigSchema, c, `${file}[${i}]`), log),
);
for (const agent of agents) await agent.start();
process.stdout.write(`ready ${agents.length}\n`);

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void Promise.all(agents.map((a) => a.stop())).then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
