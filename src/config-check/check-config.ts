import { agentConfigSchema } from '../agent/config.js';
import { collectorConfigSchema } from '../collector/config.js';
import { ConfigError } from '../common/config/config-error.js';
import { parseConfigText, readConfigText, validateConfig } from '../common/config/load-config.js';
import { RelayError } from '../common/errors/relay-error.js';
import { type ConfigKind, detectConfigKind } from './detect-kind.js';
import { agentFileIssues, collectorFileIssues } from './referenced-files.js';
import { type ConfigWarning, collectorWarnings } from './warnings.js';

/** Options of {@link checkConfigFile}. */
export interface ConfigCheckOptions {
  /** Agent or collector. Default: told by the file's top-level keys. */
  kind?: ConfigKind;
  /**
   * Read the files the configuration names (certificates, keys, token and password files), as a
   * start does. Default: true; off when checking a file away from the host it is meant for.
   */
  files?: boolean;
}

/** The outcome of a configuration that passed every check. */
export interface ConfigCheckResult {
  kind: ConfigKind;
  /** Valid, but likely to surprise; empty when there is nothing to say. */
  warnings: ConfigWarning[];
}

/**
 * Checks a configuration file as `logrelay agent` or `logrelay collector` would at start,
 * without starting anything: reading it, YAML, the schema (every error with its key path, the
 * same ConfigError as at start) and the files it names. `kind` is detected from the top-level
 * keys when not given. Throws CONFIG_UNREADABLE, CONFIG_INVALID or CONFIG_KIND_UNKNOWN.
 */
export async function checkConfigFile(
  file: string,
  options: ConfigCheckOptions = {},
): Promise<ConfigCheckResult> {
  const { kind, files = true } = options;
  const value = parseConfigText(await readConfigText(file), file);
  const resolved = kind ?? detectConfigKind(value);
  if (!resolved) {
    throw new RelayError(
      'CONFIG_KIND_UNKNOWN',
      `cannot tell whether ${file} is an agent or a collector configuration from its keys; ` +
        'pass --kind agent or --kind collector',
      { details: { source: file } },
    );
  }
  if (resolved === 'collector') {
    const config = validateConfig(collectorConfigSchema, value, file);
    const issues = files ? await collectorFileIssues(config, file) : [];
    if (issues.length > 0) throw new ConfigError(file, issues);
    return { kind: resolved, warnings: collectorWarnings(config) };
  }
  const config = validateConfig(agentConfigSchema, value, file);
  const issues = files ? await agentFileIssues(config, file) : [];
  if (issues.length > 0) throw new ConfigError(file, issues);
  return { kind: resolved, warnings: [] };
}
