import { loadConfigFile } from '../common/config/load-config.js';
import { createLogger } from '../common/logging/logger.js';
import { Collector } from '../collector/collector.js';
import { collectorConfigSchema } from '../collector/config.js';
import { runUntilSignal } from './run-until-signal.js';

/** `logrelay collector -c collector.yaml` */
export async function collectorCommand(options: { config: string }): Promise<number> {
  const config = await loadConfigFile(collectorConfigSchema, options.config);
  const log = createLogger({ ...config.log, name: 'logrelay-collector' });
  return runUntilSignal(new Collector(config, log, undefined, options.config), log);
}
