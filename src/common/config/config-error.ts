import { RelayError } from '../errors/relay-error.js';

/** One problem found in a configuration, located by its key path (e.g. `sinks[0].brokers`). */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** A configuration that failed validation; carries every issue found, not just the first. */
export class ConfigError extends RelayError {
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly ConfigIssue[], cause?: unknown) {
    const lines = issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n');
    super('CONFIG_INVALID', `invalid configuration in ${source}:\n${lines}`, {
      cause,
      details: { source, issues },
    });
    this.issues = issues;
  }
}
