import { checkConfigFile } from '../config-check/check-config.js';
import type { ConfigKind } from '../config-check/detect-kind.js';

/** Options of `logrelay config check`. */
export interface ConfigCheckOptions {
  /** The file to check. */
  config: string;
  /** Agent or collector; detected from the top-level keys when unset. */
  kind?: ConfigKind;
  /** Read the certificate, key, token and password files it names. Default: true. */
  files?: boolean;
}

/** `logrelay config check -c FILE [--kind agent|collector] [--no-files]`: 0 when valid. */
export async function configCheckCommand(options: ConfigCheckOptions): Promise<number> {
  // Errors (unreadable, invalid, kind unknown) are thrown: cli.ts prints them exactly as a start
  // would and exits with the usage code.
  const { kind, warnings } = await checkConfigFile(options.config, {
    ...(options.kind ? { kind: options.kind } : {}),
    files: options.files ?? true,
  });
  for (const w of warnings) process.stdout.write(`warning: ${w.path}: ${w.message}\n`);
  const summary =
    warnings.length === 0
      ? 'no warnings'
      : `${warnings.length} warning${warnings.length === 1 ? '' : 's'}`;
  process.stdout.write(`${options.config}: a valid ${kind} configuration (${summary})\n`);
  return 0;
}
