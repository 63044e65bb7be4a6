import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';
import { z } from 'zod';

export type { Logger } from 'pino';

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** `log:` section shared by every long-running command. */
export const logConfigSchema = z
  .strictObject({
    /** Minimum level written. Default: info. */
    level: z.enum(logLevels).default('info').describe('Minimum level written. Default: info.'),
  })
  .describe('Structured JSON logging (pino) to standard error.');

export type LogConfig = z.output<typeof logConfigSchema>;

/**
 * The root logger of a process. Logs are JSON lines on stderr (stdout stays free for command
 * output such as `logrelay status --json`). Components log through `childLogger` so every line
 * names its source.
 */
export function createLogger(
  config: Partial<LogConfig> & { name?: string } = {},
  destination?: DestinationStream,
): Logger {
  const options: LoggerOptions = {
    name: config.name ?? 'logrelay',
    level: config.level ?? process.env['LOGRELAY_LOG_LEVEL'] ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    serializers: { err: pino.stdSerializers.err },
  };
  return pino(options, destination ?? pino.destination({ fd: 2, sync: false }));
}

/** A child logger whose lines carry `ns` (e.g. `collector.sink.kafka`). */
export function childLogger(parent: Logger, ns: string, bindings: Record<string, unknown> = {}) {
  const parentNs = (parent.bindings() as { ns?: string }).ns;
  return parent.child({ ...bindings, ns: parentNs ? `${parentNs}.${ns}` : ns });
}
