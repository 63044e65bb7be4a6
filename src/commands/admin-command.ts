import type { Command } from 'commander';
import { loadDashboardAssets } from '../admin/dashboard/assets.js';
import { ClusterMonitor } from '../admin/dashboard/cluster-monitor.js';
import { ServiceProbe } from '../admin/dashboard/service-probe.js';
import { AdminApiServer, defaultAdminApiPort } from '../admin/http/api-server.js';
import { Reconciler } from '../admin/reconciler.js';
import { AdminOperations } from '../admin/operations.js';
import type { AdminChange } from '../admin/operations.js';
import { Publisher, parseEtcdEndpoints } from '../admin/publish/publisher.js';
import { parseMysqlUrl } from '../admin/store/mysql-url.js';
import type { AdminNode, AdminTail } from '../admin/store/store.js';
import { Store } from '../admin/store/store.js';
import { AdminInputError, validateId } from '../admin/store/validate.js';
import { RelayError } from '../common/errors/relay-error.js';
import { createLogger } from '../common/logging/logger.js';
import { createMetricsRegistry } from '../common/metrics/registry.js';
import { Progress } from '../common/progress/progress.js';
import { runUntilSignal } from './run-until-signal.js';

/** The exit codes the admin subcommands use (cli.ts passes its own, so they cannot drift). */
export interface AdminExitCodes {
  ok: number;
  failure: number;
  usage: number;
}

/** The options every `logrelay admin` subcommand inherits. */
export interface AdminGlobalOptions {
  /** `mysql://user:pass@host:port/db`; falls back to LOGRELAY_MYSQL_URL. */
  mysql?: string;
  /** Comma-separated etcd endpoints; falls back to LOGRELAY_ETCD_ENDPOINTS. */
  etcd?: string;
}

// Errors the operator fixes by changing the command line, not by waiting for a service.
const usageCodes = new Set([
  'ADMIN_INVALID_INPUT',
  'ADMIN_UNKNOWN_NODE',
  'ADMIN_UNKNOWN_TAIL',
  'ADMIN_DUPLICATE_NODE',
  'ADMIN_DUPLICATE_TAIL',
  'ADMIN_DUPLICATE_KEY_PATH',
  'ADMIN_NODE_HAS_TAILS',
]);

interface Context {
  store: Store;
  /** Undefined when no etcd is configured: changes are then stored but not published. */
  publisher: Publisher | undefined;
  /** Change-then-publish, shared with the HTTP API. */
  ops: AdminOperations;
}

const out = (text: string): void => void process.stdout.write(text);
const err = (text: string): void => void process.stderr.write(text);

/** Left-aligned columns separated by two spaces; the header names them. */
function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [header, ...rows].map(line).join('\n') + '\n';
}

function printNodes(nodes: readonly AdminNode[], json: boolean | undefined): void {
  if (json) return out(JSON.stringify(nodes, null, 2) + '\n');
  out(
    formatTable(
      ['ID', 'IP', 'SERVER_NAME', 'CREATED (UTC)', 'KEY_PATH'],
      nodes.map((n) => [String(n.id), n.ip, n.serverName, n.createTime, n.keyPath]),
    ),
  );
}

function printTails(
  tails: readonly (AdminTail & { refused?: string })[],
  json: boolean | undefined,
): void {
  if (json) return out(JSON.stringify(tails, null, 2) + '\n');
  out(
    formatTable(
      ['ID', 'NODE', 'STATUS', 'TOPIC', 'CREATED (UTC)', 'LOG_PATH'],
      tails.map((t) => [
        String(t.id),
        String(t.nodeId),
        t.refused ? `refused by agent: ${t.refused}` : t.status === '1' ? 'running' : 'stopped',
        t.topic,
        t.createTime,
        t.logPath,
      ]),
    ),
  );
}

function openContext(options: AdminGlobalOptions, connectionLimit = 2): Context {
  const url = options.mysql ?? process.env['LOGRELAY_MYSQL_URL'];
  if (!url) {
    throw new AdminInputError(
      'no database given: pass --mysql mysql://user:pass@host:port/db or set LOGRELAY_MYSQL_URL',
    );
  }
  const store = Store.open(parseMysqlUrl(url), { connectionLimit });
  const endpoints = parseEtcdEndpoints(
    options.etcd ?? process.env['LOGRELAY_ETCD_ENDPOINTS'] ?? '',
  );
  const publisher = endpoints.length > 0 ? Publisher.connect(endpoints, store) : undefined;
  return { store, publisher, ops: new AdminOperations(store, publisher) };
}

/** Reports a change made through {@link AdminOperations} and what was published. */
function report(change: AdminChange<AdminNode | AdminTail>, node: number): void {
  out(`${change.done}\n`);
  if (change.published) {
    const p = change.published;
    out(`published node ${p.nodeId} to ${p.key} (${p.tails} tails)\n`);
  } else if (change.unpublished) {
    out(`deleted ${change.unpublished}\n`);
  } else {
    err(
      `logrelay admin: etcd is not configured (--etcd or LOGRELAY_ETCD_ENDPOINTS); node ${node} was not published\n`,
    );
  }
}

/** Options of `logrelay admin serve`. */
export interface AdminServeOptions {
  /** Interface to bind. Default 127.0.0.1. */
  host: string;
  /** TCP port. Default 8080. */
  port: string;
  /** Bearer token for writes; falls back to LOGRELAY_ADMIN_TOKEN (preferred: argv is visible in ps). */
  token?: string;
  /** Republish interval in ms (repairs etcd drift). Default 30000. */
  reconcileMs: string;
  /** ZooKeeper of the collector cluster, for the dashboard; falls back to LOGRELAY_ZOOKEEPER. */
  zookeeper?: string;
  /** The cluster's root znode. Default /logrelay. */
  clusterRoot: string;
}

/**
 * Wires `migrate`, `node …`, `tail …` and `publish` under the `admin` command; each action
 * reports its exit code through `setExitCode` (commander actions cannot return one).
 */
export function configureAdminCommand(
  admin: Command,
  codes: AdminExitCodes,
  setExitCode: (code: number) => void,
): void {
  /** Runs one subcommand with a store (and publisher), always closing them. */
  const action =
    <A extends unknown[]>(
      fn: (ctx: Context, ...args: A) => Promise<number | void>,
      connectionLimit?: number,
    ) =>
    async (...args: A): Promise<void> => {
      let ctx: Context | undefined;
      try {
        ctx = openContext(admin.opts<AdminGlobalOptions>(), connectionLimit);
        const code = await fn(ctx, ...args);
        setExitCode(code ?? codes.ok);
      } catch (e) {
        const error = RelayError.from(e);
        err(`logrelay admin: ${error.message.split('\n')[0] ?? ''}\n`);
        setExitCode(usageCodes.has(error.code) ? codes.usage : codes.failure);
      } finally {
        ctx?.publisher?.close();
        await ctx?.store.close().catch(() => undefined);
      }
    };

  admin
    .command('migrate')
    .description('Create the control-plane tables when missing (idempotent).')
    .action(
      action(async (ctx) => {
        await ctx.store.migrate();
        out(`tables ready in ${ctx.store.where}\n`);
      }),
    );

  const node = admin.command('node').description('Hosts to collect from.');
  node
    .command('add')
    .description('Add a node; its agent watches --key-path (default /logagent/<ip>/tails).')
    .requiredOption('--ip <ip>', 'the host IP (IPv4, or IPv6 of at most 16 characters)')
    .option('--name <name>', 'service (server) name', '')
    .option('--key-path <path>', 'the etcd key the agent watches')
    .action(
      action(async (ctx, opts: { ip: string; name: string; keyPath?: string }) => {
        const added = await ctx.ops.addNode({
          ip: opts.ip,
          serverName: opts.name,
          ...(opts.keyPath === undefined ? {} : { keyPath: opts.keyPath }),
        });
        report(added, added.value.id);
      }),
    );
  node
    .command('list')
    .description('List the nodes.')
    .option('--json', 'print JSON instead of a table')
    .action(
      action(async (ctx, opts: { json?: boolean }) => {
        printNodes(await ctx.store.nodes.list(), opts.json);
      }),
    );
  node
    .command('remove')
    .description('Remove a node that has no tails left, and delete its etcd key.')
    .argument('<id>', 'node id')
    .action(
      action(async (ctx, id: string) => {
        const removed = await ctx.ops.removeNode(validateId(id, 'node id'));
        out(`${removed.done}\n`);
        if (removed.unpublished) out(`deleted ${removed.unpublished}\n`);
        else if (removed.published) {
          const p = removed.published;
          out(`kept ${p.key}: published node ${p.nodeId}, which shares it (${p.tails} tails)\n`);
        } else {
          err(
            `logrelay admin: etcd is not configured (--etcd or LOGRELAY_ETCD_ENDPOINTS); key ${removed.value.keyPath} was not deleted\n`,
          );
        }
      }),
    );

  const tail = admin.command('tail').description('What each node collects.');
  tail
    .command('add')
    .description('Add a tail (running unless --stopped) to a node.')
    .requiredOption('--node <id>', 'node id')
    .requiredOption('--path <path>', 'absolute file path or glob')
    .requiredOption('--topic <topic>', 'topic ([a-zA-Z0-9._-], at most 249 characters)')
    .option('--stopped', 'add it stopped (status 0)')
    .action(
      action(
        async (ctx, opts: { node: string; path: string; topic: string; stopped?: boolean }) => {
          const added = await ctx.ops.addTail({
            nodeId: validateId(opts.node, 'node id'),
            logPath: opts.path,
            topic: opts.topic,
            status: opts.stopped ? '0' : '1',
          });
          report(added, added.value.nodeId);
        },
      ),
    );
  tail
    .command('list')
    .description("List the tails, or one node's.")
    .option('--node <id>', 'only this node')
    .option('--json', 'print JSON instead of a table')
    .action(
      action(async (ctx, opts: { node?: string; json?: boolean }) => {
        const filter = opts.node === undefined ? {} : { nodeId: validateId(opts.node, 'node id') };
        const tails = await ctx.store.tails.list(filter);
        // The agents report the tails they refused (allowlist) next to their key in etcd.
        const refused = new Map<number, string>();
        if (ctx.publisher) {
          for (const nodeId of new Set(tails.map((t) => t.nodeId))) {
            const node = await ctx.store.nodes.get(nodeId);
            for (const [id, reason] of await ctx.publisher.refusedTails(node))
              refused.set(id, reason);
          }
        }
        printTails(
          tails.map((t) => (refused.has(t.id) ? { ...t, refused: refused.get(t.id) } : t)),
          opts.json,
        );
      }),
    );
  for (const [name, status, verb] of [
    ['start', '1', 'started'],
    ['stop', '0', 'stopped'],
  ] as const) {
    tail
      .command(name)
      .description(
        `Set a tail's status to ${status} (${verb === 'started' ? 'running' : 'stopped'}).`,
      )
      .argument('<id>', 'tail id')
      .action(
        action(async (ctx, id: string) => {
          const changed = await ctx.ops.setTailStatus(validateId(id, 'tail id'), status);
          report(changed, changed.value.nodeId);
        }),
      );
  }
  tail
    .command('remove')
    .description('Remove a tail.')
    .argument('<id>', 'tail id')
    .action(
      action(async (ctx, id: string) => {
        const removed = await ctx.ops.removeTail(validateId(id, 'tail id'));
        report(removed, removed.value.nodeId);
      }),
    );

  admin
    .command('publish')
    .description("Write every node's tails (or one node's) to etcd again.")
    .option('--node <id>', 'only this node')
    .action(
      action(async (ctx, opts: { node?: string }) => {
        // Thousands of nodes take a while: a status line on a terminal, nothing extra elsewhere.
        const progress = new Progress(process.stderr);
        const results = await ctx.ops
          .publish(
            opts.node === undefined ? undefined : validateId(opts.node, 'node id'),
            (r, done, total) => progress.update(`published ${done}/${total} (node ${r.nodeId})`),
          )
          .finally(() => progress.done());
        for (const r of results) out(`published node ${r.nodeId} to ${r.key} (${r.tails} tails)\n`);
        if (results.length === 0) out('no nodes to publish\n');
      }),
    );

  admin
    .command('serve')
    .description(
      'Serve the web dashboard (/) and the HTTP API (JSON) until SIGINT/SIGTERM: reads are open, ' +
        'writes need a bearer token; /healthz, /readyz and /metrics for monitoring.',
    )
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--port <port>', 'TCP port', String(defaultAdminApiPort))
    .option('--token <token>', 'bearer token for writes (prefer env LOGRELAY_ADMIN_TOKEN)')
    .option(
      '--reconcile-ms <ms>',
      'republish every node this often, repairing etcd drift (wiped or restored etcd)',
      '30000',
    )
    .option(
      '--zookeeper <host:port>',
      "the collector cluster's ZooKeeper, shown on the dashboard (or LOGRELAY_ZOOKEEPER)",
    )
    .option('--cluster-root <path>', "the cluster's root znode", '/logrelay')
    .action(
      action(async (ctx, opts: AdminServeOptions) => {
        const token = opts.token ?? process.env['LOGRELAY_ADMIN_TOKEN'] ?? '';
        if (token.length === 0) {
          throw new AdminInputError(
            'no token given: set LOGRELAY_ADMIN_TOKEN (or pass --token); writes need it',
          );
        }
        if (!/^\d{1,5}$/.test(opts.port) || Number(opts.port) > 65_535) {
          throw new AdminInputError(`--port must be 0-65535, got ${JSON.stringify(opts.port)}`);
        }
        // Every change through the API must reach the agents; storing it silently is not enough.
        if (!ctx.publisher) {
          throw new AdminInputError(
            'etcd is not configured: pass --etcd host:port[,host:port] or set LOGRELAY_ETCD_ENDPOINTS',
          );
        }
        const reconcileMs = Number(opts.reconcileMs);
        if (!Number.isInteger(reconcileMs) || reconcileMs < 1000) {
          throw new AdminInputError(
            `--reconcile-ms must be an integer >= 1000, got ${opts.reconcileMs}`,
          );
        }
        const zookeeper = opts.zookeeper ?? process.env['LOGRELAY_ZOOKEEPER'];
        if (!opts.clusterRoot.startsWith('/')) {
          throw new AdminInputError(
            `--cluster-root must be an absolute znode path, got ${opts.clusterRoot}`,
          );
        }
        const log = createLogger({ name: 'logrelay-admin' });
        const registry = createMetricsRegistry({ component: 'admin' });
        const monitor = zookeeper
          ? new ClusterMonitor({ zookeeper, root: opts.clusterRoot }, log, registry)
          : undefined;
        const probe = new ServiceProbe(ctx.store, ctx.publisher, log, registry);
        const server = new AdminApiServer(
          { host: opts.host, port: Number(opts.port), token },
          ctx.ops,
          log,
          { monitor, probe, registry, assets: loadDashboardAssets() },
        );
        if (!monitor) {
          log.warn('no --zookeeper given: the dashboard shows no collector cluster');
        }
        const reconciler = new Reconciler(ctx.ops, reconcileMs, log);
        const helpers = [reconciler, probe, ...(monitor ? [monitor] : [])];
        for (const helper of helpers) await helper.start();
        try {
          const code = await runUntilSignal(server, log);
          return code === 0 ? codes.ok : codes.failure;
        } finally {
          for (const helper of helpers) await helper.stop();
        }
      }, 8),
    );
}
