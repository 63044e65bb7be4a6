import { RelayError } from '../common/errors/relay-error.js';
import type { Publisher, PublishResult } from './publish/publisher.js';
import type { AdminNode, AdminTail, NewNode, NewTail, Store } from './store/store.js';
import { AdminInputError } from './store/validate.js';
import type { TailStatus } from './store/validate.js';

/** What a change did: the row it touched and what was written to etcd afterwards. */
export interface AdminChange<T> {
  /** The added, changed or removed row. */
  value: T;
  /** One line saying what changed, e.g. `tail 3 stopped`. */
  done: string;
  /**
   * The publication of the affected node; undefined when no etcd is configured (the change is
   * then stored only) and for a removed node, whose key is deleted instead.
   */
  published: PublishResult | undefined;
  /** The etcd key deleted for a removed node; undefined otherwise or without etcd. */
  unpublished: string | undefined;
}

/**
 * "Change, then publish the affected node" — the one place the CLI and the HTTP API both go
 * through, so that neither can forget to publish or publish the wrong node.
 *
 * The change is committed in MySQL before publication; when publishing then fails, the error
 * says the change was stored and how to repair (the store is the truth, etcd holds copies).
 * Publications of one node are serialised within this process: each reads the node's tails and
 * writes them, and two interleaved read-then-write pairs could otherwise leave the older list in
 * etcd. Other admin processes are not serialised with this one; the reconcile repairs that.
 */
export class AdminOperations {
  readonly #queues = new Map<number, Promise<unknown>>();

  constructor(
    readonly store: Store,
    /** Undefined when no etcd is configured: changes are then stored but not published. */
    readonly publisher: Publisher | undefined,
  ) {}

  async addNode(input: NewNode): Promise<AdminChange<AdminNode>> {
    const node = await this.store.nodes.add(input);
    return this.#publishAfter(
      node,
      node,
      `node ${node.id} added (ip ${node.ip}, key ${node.keyPath})`,
    );
  }

  /**
   * Removes a node without tails and deletes its etcd key. Its agent keeps the last config it saw
   * (a deleted key is not an order to stop: it may be an etcd wiped by accident).
   */
  async removeNode(id: number): Promise<AdminChange<AdminNode>> {
    const node = await this.store.nodes.remove(id);
    const done = `node ${node.id} removed`;
    if (!this.publisher) return { value: node, done, published: undefined, unpublished: undefined };
    const publisher = this.publisher;
    // A database from before key paths were unique may still have another node on this key:
    // deleting it would take that node's tails away from its agent, so it is republished instead.
    const sharer = await this.store.nodes.withKeyPath(node.keyPath);
    if (sharer) return this.#publishAfter(node, sharer, done);
    await this.#serialised(node.id, () =>
      publisher.unpublishNode(node).catch((e: unknown) => {
        throw publishFailed(e, done, node, `delete the key ${node.keyPath} by hand`);
      }),
    );
    return { value: node, done, published: undefined, unpublished: node.keyPath };
  }

  async addTail(input: NewTail): Promise<AdminChange<AdminTail>> {
    const tail = await this.store.tails.add(input);
    return this.#publishAfter(
      tail,
      await this.store.nodes.get(tail.nodeId),
      `tail ${tail.id} added to node ${tail.nodeId}`,
    );
  }

  /** Sets a tail's status (`1` running, `0` stopped). */
  async setTailStatus(id: number, status: TailStatus): Promise<AdminChange<AdminTail>> {
    const tail = await this.store.tails.setStatus(id, status);
    return this.#publishAfter(
      tail,
      await this.store.nodes.get(tail.nodeId),
      `tail ${tail.id} ${status === '1' ? 'started' : 'stopped'}`,
    );
  }

  async removeTail(id: number): Promise<AdminChange<AdminTail>> {
    const tail = await this.store.tails.remove(id);
    return this.#publishAfter(
      tail,
      await this.store.nodes.get(tail.nodeId),
      `tail ${tail.id} removed`,
    );
  }

  /** Publishes one node again, or every node; ADMIN_INVALID_INPUT without etcd. */
  /**
   * Publishes one node, or every node; `onPublished` hears of each as it is done (the CLI shows
   * progress with it).
   */
  async publish(
    nodeId?: number,
    onPublished?: (result: PublishResult, done: number, total: number) => void,
  ): Promise<PublishResult[]> {
    const publisher = this.publisher;
    if (!publisher) {
      throw new AdminInputError(
        'etcd is not configured: pass --etcd host:port[,host:port] or set LOGRELAY_ETCD_ENDPOINTS',
      );
    }
    const nodes =
      nodeId === undefined ? await this.store.nodes.list() : [await this.store.nodes.get(nodeId)];
    const results: PublishResult[] = [];
    for (const node of nodes) {
      const result = await this.#serialised(node.id, () => publisher.publishNode(node));
      results.push(result);
      onPublished?.(result, results.length, nodes.length);
    }
    return results;
  }

  async #publishAfter<T>(value: T, node: AdminNode, done: string): Promise<AdminChange<T>> {
    const publisher = this.publisher;
    if (!publisher) return { value, done, published: undefined, unpublished: undefined };
    const published = await this.#serialised(node.id, () =>
      publisher.publishNode(node).catch((e: unknown) => {
        throw publishFailed(
          e,
          done,
          node,
          `run \`logrelay admin publish --node ${node.id}\` once etcd is back`,
        );
      }),
    );
    return { value, done, published, unpublished: undefined };
  }

  /** Runs `fn` after every earlier call for the same node has settled. */
  async #serialised<R>(nodeId: number, fn: () => Promise<R>): Promise<R> {
    const previous = this.#queues.get(nodeId) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.#queues.set(nodeId, settled);
    try {
      return await next;
    } finally {
      // Only the last in line may drop the entry; an earlier one would orphan later callers.
      if (this.#queues.get(nodeId) === settled) this.#queues.delete(nodeId);
    }
  }
}

function publishFailed(e: unknown, done: string, node: AdminNode, repair: string): RelayError {
  const cause = RelayError.from(e);
  return new RelayError(
    cause.code,
    `${done}, but publishing node ${node.id} failed: ${cause.message}; ${repair}`,
    { retriable: cause.retriable, cause: e, details: { committed: true, nodeId: node.id } },
  );
}
