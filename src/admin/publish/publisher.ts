import { Etcd3 } from 'etcd3';
import { RelayError } from '../../common/errors/relay-error.js';
import type { AdminNode, AdminTail, Store } from '../store/store.js';

/** One tail as an agent receives it: the value format of DESIGN.md "Control plane". */
export interface PublishedTail {
  id: number;
  log_path: string;
  topic: string;
  status: '0' | '1';
}

/** What one publication wrote. */
export interface PublishResult {
  nodeId: number;
  key: string;
  /** How many tails the value lists. */
  tails: number;
}

/** Options of {@link Publisher.connect}. */
export interface PublisherOptions {
  /** How long to wait for a connection to etcd (ms). */
  dialTimeoutMs?: number;
  /** Deadline of each call (ms), so that a dead etcd fails the command instead of hanging it. */
  callTimeoutMs?: number;
}

/** The JSON value stored at a node's key_path: its tails, in id order. */
export function nodeValue(tails: readonly AdminTail[]): string {
  const value: PublishedTail[] = [...tails]
    .sort((a, b) => a.id - b.id)
    .map((t) => ({ id: t.id, log_path: t.logPath, topic: t.topic, status: t.status }));
  return JSON.stringify(value);
}

/** Accepts `host:port` as well as `http://host:port`, comma-separated. */
export function parseEtcdEndpoints(endpoints: string): string[] {
  return endpoints
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e.length > 0)
    .map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`));
}

// Names of the etcd3/cockatiel errors that mean "no answer" rather than "answered no".
// grpc-js reports a refused connection as status 14 UNAVAILABLE inside a generic error.
const unreachableNames =
  /ConnectFailed|Unavailable|Deadline.?Exceeded|BrokenCircuit|Cancelled|Timeout|ClientClosed|ECONNREFUSED/i;

/**
 * Writes each node's tails to its key_path in etcd, read from the MySQL store (the store is the
 * truth; etcd holds copies that can always be rewritten from it).
 */
export class Publisher {
  constructor(
    private readonly client: Etcd3,
    private readonly store: Store,
    /** The endpoints, for error messages. */
    readonly endpoints: readonly string[],
  ) {}

  static connect(endpoints: readonly string[], store: Store, options: PublisherOptions = {}) {
    if (endpoints.length === 0) {
      throw new RelayError('ADMIN_INVALID_INPUT', 'no etcd endpoints given');
    }
    const callTimeoutMs = options.callTimeoutMs ?? 5000;
    const client = new Etcd3({
      hosts: [...endpoints],
      dialTimeout: options.dialTimeoutMs ?? 3000,
      defaultCallOptions: (context) =>
        context.isStream ? {} : { deadline: Date.now() + callTimeoutMs },
    });
    return new Publisher(client, store, endpoints);
  }

  /** One read from etcd: throws ADMIN_ETCD_UNREACHABLE when etcd does not answer. */
  async ping(): Promise<void> {
    await this.call(() => this.client.get('logrelay/admin/ping').string());
  }

  /** Writes the node's current tails (possibly `[]`) at its key_path. */
  async publishNode(node: AdminNode): Promise<PublishResult> {
    const tails = await this.store.tails.list({ nodeId: node.id });
    await this.call(() => this.client.put(node.keyPath).value(nodeValue(tails)).exec());
    return { nodeId: node.id, key: node.keyPath, tails: tails.length };
  }

  /** Publishes every node; the repair after etcd was wiped or restored from an old snapshot. */
  async publishAll(): Promise<PublishResult[]> {
    const results: PublishResult[] = [];
    for (const node of await this.store.nodes.list()) results.push(await this.publishNode(node));
    return results;
  }

  /**
   * What the node's agent reported at `<key_path>.status`: the tails it refused (outside its
   * allowlist) by tail id, with the reason. Empty when the agent reported nothing.
   */
  async refusedTails(node: AdminNode): Promise<Map<number, string>> {
    const raw = await this.call(() => this.client.get(`${node.keyPath}.status`).string());
    const refused = new Map<number, string>();
    if (!raw) return refused;
    try {
      const parsed = JSON.parse(raw) as { refused?: { id?: unknown; reason?: unknown }[] };
      for (const r of parsed.refused ?? []) {
        if (r && /^\d+$/.test(String(r.id)))
          refused.set(Number(r.id), String(r.reason ?? 'refused'));
      }
    } catch {
      // A garbled report says nothing; the tails are shown as configured.
    }
    return refused;
  }

  /** Deletes a removed node's key, so that its agent stops every tail. */
  async unpublishNode(node: AdminNode): Promise<void> {
    await this.call(() => this.client.delete().key(node.keyPath).exec());
  }

  close(): void {
    this.client.close();
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const name = err instanceof Error ? err.name : '';
      const message = err instanceof Error ? err.message : String(err);
      const where = this.endpoints.join(',');
      if (unreachableNames.test(name) || unreachableNames.test(message)) {
        throw new RelayError(
          'ADMIN_ETCD_UNREACHABLE',
          `cannot reach etcd at ${where}: ${message}`,
          {
            retriable: true,
            cause: err,
          },
        );
      }
      throw new RelayError('ADMIN_ETCD_ERROR', `etcd ${where}: ${message}`, { cause: err });
    }
  }
}
