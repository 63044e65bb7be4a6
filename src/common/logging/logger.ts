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

/** The logger each child was made from, so nested namespaces are not written twice. */
const roots = new WeakMap<Logger, Logger>();

/**
 * A child logger whose lines carry `ns` (e.g. `collector.sink.kafka`). Children are always made
 * from the root logger with the parent's bindings merged in: pino would otherwise write a key
 * bound at two levels (such as `ns`) twice in one JSON line.
 */
export function childLogger(
  parent: Logger,
  ns: string,
  bindings: Record<string, unknown> = {},
): Logger {
  const root = roots.get(parent) ?? parent;
  const inherited: Record<string, unknown> = {};
  if (roots.has(parent)) {
    const own = root.bindings() as Record<string, unknown>;
    for (const [k, v] of Object.entries(parent.bindings() as Record<string, unknown>)) {
      if (!(k in own)) inherited[k] = v;
    }
  }
  const parentNs = inherited['ns'] as string | undefined;
  const child = root.child({ ...inherited, ...bindings, ns: parentNs ? `${parentNs}.${ns}` : ns });
  roots.set(child, root);
  return child;
}
