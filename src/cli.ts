import { Command, CommanderError, Option } from 'commander';
import { RelayError } from './common/errors/relay-error.js';
import { configureAdminCommand } from './commands/admin-command.js';
import { agentCommand } from './commands/agent-command.js';
import { collectorCommand } from './commands/collector-command.js';
import { configCheckCommand } from './commands/config-command.js';
import type { ConfigKind } from './config-check/detect-kind.js';
import { demoCommand } from './commands/demo-command.js';
import { statusCommand } from './commands/status-command.js';
import { version } from './version.js';

/** Exit codes of the `logrelay` command. */
export const exitCodes = {
  ok: 0,
  /** A runtime failure (a service unreachable, a component failed). */
  failure: 1,
  /** Bad usage or bad configuration. */
  usage: 2,
  /** The subcommand exists in the contract but is not built yet. */
  notImplemented: 3,
} as const;

/**
 * Errors that restarting cannot fix: the operator must change the file or the command line, so
 * they exit with the usage code, which supervisors are told not to restart on.
 */
const usageErrorCodes = new Set(['CONFIG_INVALID', 'CONFIG_UNREADABLE', 'CONFIG_KIND_UNKNOWN']);

/** Set by long-running subcommands when they finish. */
let exitCode: number = exitCodes.ok;

/** Builds the command tree; exported so tests can inspect help texts without spawning. */
export function buildProgram(): Command {
  const program = new Command('logrelay')
    .description(
      'Log aggregation relay tier: agents tail files, collectors forward to Kafka, HDFS and more.',
    )
    .version(version, '-V, --version')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('agent')
    .description('Tail log files and ship them to collectors over gRPC.')
    .requiredOption('-c, --config <file>', 'agent YAML configuration (see examples/agent.yaml)')
    .action(async (options: { config: string }) => {
      exitCode = await agentCommand(options);
    });

  program
    .command('collector')
    .description('Receive batches from agents, deduplicate, and forward them to the sinks.')
    .requiredOption(
      '-c, --config <file>',
      'collector YAML configuration (see examples/collector.yaml)',
    )
    .action(async (options: { config: string }) => {
      exitCode = await collectorCommand(options);
    });

  program
    .command('config')
    .description('Work with configuration files without starting anything.')
    .command('check')
    .description(
      'Validate an agent or collector configuration as a start would (schema, key paths, the ' +
        'files it names) and warn about what will surprise: exit 0 when valid, 2 with every error.',
    )
    .requiredOption('-c, --config <file>', 'the agent or collector YAML configuration')
    .addOption(
      new Option('--kind <kind>', 'which configuration it is (default: told by its keys)').choices([
        'agent',
        'collector',
      ]),
    )
    .option(
      '--no-files',
      'do not read the files it names (certificates, keys, tokens): for checking elsewhere than on its host',
    )
    .action(async (options: { config: string; kind?: ConfigKind; files: boolean }) => {
      exitCode = await configCheckCommand(options);
    });

  const admin = program
    .command('admin')
    .description('Control plane: nodes and tails in MySQL, publication to etcd.')
    .option('--mysql <url>', 'MySQL URL mysql://user:pass@host:port/db (env LOGRELAY_MYSQL_URL)')
    .option('--etcd <endpoints>', 'comma-separated etcd endpoints (env LOGRELAY_ETCD_ENDPOINTS)');
  configureAdminCommand(admin, exitCodes, (code) => {
    exitCode = code;
  });

  program
    .command('status')
    .description('Show the collector cluster: members, leader, assignments, per-stream lag.')
    .option(
      '--zookeeper <hostport>',
      'ZooKeeper connect string (env LOGRELAY_ZOOKEEPER)',
      process.env['LOGRELAY_ZOOKEEPER'] ?? '127.0.0.1:2181',
    )
    .option('--root <path>', 'root znode of the cluster', '/logrelay')
    .option('--json', 'print JSON instead of tables')
    .action(async (options: { zookeeper: string; root: string; json?: boolean }) => {
      exitCode = await statusCommand(options);
    });

  program
    .command('demo')
    .description(
      'Run two agents and two collectors on an embedded default (no services): simulated apps write and rotate logs, one collector is stopped midway, and every line is counted.',
    )
    .option('--json', 'print the summary as one JSON object on the last line')
    .option('--lines <n>', 'lines written by each of the 4 simulated applications', '25000')
    .option('--dir <dir>', 'working folder (default: a new temp folder)')
    .action(async (options: { json?: boolean; lines: string; dir?: string }) => {
      exitCode = await demoCommand(options);
    });

  return program;
}

/** Runs the CLI and returns the process exit code (never calls process.exit itself). */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  exitCode = exitCodes.ok;
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      return err.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    }
    if (err instanceof RelayError && usageErrorCodes.has(err.code)) {
      process.stderr.write(`logrelay: ${err.message}\n`);
      return exitCodes.usage;
    }
    process.stderr.write(`logrelay: ${err instanceof Error ? err.message : String(err)}\n`);
    return exitCodes.failure;
  }
}
