import type { Command } from 'commander';
import { Publisher, parseEtcdEndpoints } from '../admin/publish/publisher.js';
import { parseMysqlUrl } from '../admin/store/mysql-url.js';
import type { AdminNode, AdminTail } from '../admin/store/store.js';
import { Store } from '../admin/store/store.js';
import { AdminInputError, validateId } from '../admin/store/validate.js';
import { RelayError } from '../common/errors/relay-error.js';

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
  'ADMIN_NODE_HAS_TAILS',
]);

interface Context {
  store: Store;
  /** Undefined when no etcd is configured: changes are then stored but not published. */
  publisher: Publisher | undefined;
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

function printTails(tails: readonly AdminTail[], json: boolean | undefined): void {
  if (json) return out(JSON.stringify(tails, null, 2) + '\n');
  out(
    formatTable(
      ['ID', 'NODE', 'STATUS', 'TOPIC', 'CREATED (UTC)', 'LOG_PATH'],
      tails.map((t) => [
        String(t.id),
        String(t.nodeId),
        t.status === '1' ? 'running' : 'stopped',
        t.topic,
        t.createTime,
        t.logPath,
      ]),
    ),
  );
}

function openContext(options: AdminGlobalOptions): Context {
  const url = options.mysql ?? process.env['LOGRELAY_MYSQL_URL'];
  if (!url) {
    throw new AdminInputError(
      'no database given: pass --mysql mysql://user:pass@host:port/db or set LOGRELAY_MYSQL_URL',
    );
  }
  const store = Store.open(parseMysqlUrl(url), { connectionLimit: 2 });
  const endpoints = parseEtcdEndpoints(
    options.etcd ?? process.env['LOGRELAY_ETCD_ENDPOINTS'] ?? '',
  );
  const publisher = endpoints.length > 0 ? Publisher.connect(endpoints, store) : undefined;
  return { store, publisher };
}

/**
 * Publishes the node a change touched. The change is already committed in MySQL, so a failure
 * here says so and how to repair, rather than suggesting the change was lost.
 */
async function publishAfter(ctx: Context, node: AdminNode, done: string): Promise<void> {
  out(`${done}\n`);
  if (!ctx.publisher) {
    err(
      `logrelay admin: etcd is not configured (--etcd or LOGRELAY_ETCD_ENDPOINTS); node ${node.id} was not published\n`,
    );
    return;
  }
  try {
    const result = await ctx.publisher.publishNode(node);
    out(`published node ${node.id} to ${result.key} (${result.tails} tails)\n`);
  } catch (e) {
    const cause = RelayError.from(e);
    throw new RelayError(
      cause.code,
      `${done}, but publishing node ${node.id} failed: ${cause.message}; run \`logrelay admin publish --node ${node.id}\` once etcd is back`,
      { retriable: cause.retriable, cause: e },
    );
  }
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
    <A extends unknown[]>(fn: (ctx: Context, ...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      let ctx: Context | undefined;
      try {
        ctx = openContext(admin.opts<AdminGlobalOptions>());
        await fn(ctx, ...args);
        setExitCode(codes.ok);
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
        const added = await ctx.store.nodes.add({
          ip: opts.ip,
          serverName: opts.name,
          ...(opts.keyPath === undefined ? {} : { keyPath: opts.keyPath }),
        });
        await publishAfter(
          ctx,
          added,
          `node ${added.id} added (ip ${added.ip}, key ${added.keyPath})`,
        );
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
        const removed = await ctx.store.nodes.remove(validateId(id, 'node id'));
        out(`node ${removed.id} removed\n`);
        if (!ctx.publisher) {
          err(
            `logrelay admin: etcd is not configured (--etcd or LOGRELAY_ETCD_ENDPOINTS); key ${removed.keyPath} was not deleted\n`,
          );
          return;
        }
        await ctx.publisher.unpublishNode(removed);
        out(`deleted ${removed.keyPath}\n`);
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
          const added = await ctx.store.tails.add({
            nodeId: validateId(opts.node, 'node id'),
            logPath: opts.path,
            topic: opts.topic,
            status: opts.stopped ? '0' : '1',
          });
          await publishAfter(
            ctx,
            await ctx.store.nodes.get(added.nodeId),
            `tail ${added.id} added to node ${added.nodeId}`,
          );
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
        printTails(await ctx.store.tails.list(filter), opts.json);
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
          const changed = await ctx.store.tails.setStatus(validateId(id, 'tail id'), status);
          await publishAfter(
            ctx,
            await ctx.store.nodes.get(changed.nodeId),
            `tail ${changed.id} ${verb}`,
          );
        }),
      );
  }
  tail
    .command('remove')
    .description('Remove a tail.')
    .argument('<id>', 'tail id')
    .action(
      action(async (ctx, id: string) => {
        const removed = await ctx.store.tails.remove(validateId(id, 'tail id'));
        await publishAfter(
          ctx,
          await ctx.store.nodes.get(removed.nodeId),
          `tail ${removed.id} removed`,
        );
      }),
    );

  admin
    .command('publish')
    .description("Write every node's tails (or one node's) to etcd again.")
    .option('--node <id>', 'only this node')
    .action(
      action(async (ctx, opts: { node?: string }) => {
        if (!ctx.publisher) {
          throw new AdminInputError(
            'etcd is not configured: pass --etcd host:port[,host:port] or set LOGRELAY_ETCD_ENDPOINTS',
          );
        }
        const results =
          opts.node === undefined
            ? await ctx.publisher.publishAll()
            : [
                await ctx.publisher.publishNode(
                  await ctx.store.nodes.get(validateId(opts.node, 'node id')),
                ),
              ];
        for (const r of results) out(`published node ${r.nodeId} to ${r.key} (${r.tails} tails)\n`);
        if (results.length === 0) out('no nodes to publish\n');
      }),
    );
}
