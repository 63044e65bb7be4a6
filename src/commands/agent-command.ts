import { Agent } from '../agent/agent.js';
import { agentConfigSchema } from '../agent/config.js';
import { loadConfigFile } from '../common/config/load-config.js';
import { createLogger } from '../common/logging/logger.js';
import { runUntilSignal } from './run-until-signal.js';

/** `logrelay agent -c agent.yaml` */
export async function agentCommand(options: { config: string }): Promise<number> {
  const config = await loadConfigFile(agentConfigSchema, options.config);
  const log = createLogger({ ...config.log, name: 'logrelay-agent' });
  return runUntilSignal(new Agent(config, log, undefined, options.config), log);
}
