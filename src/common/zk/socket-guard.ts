import { createRequire } from 'node:module';

/** The part of node-zookeeper-client's ConnectionManager the guard touches. */
export interface SocketDataHandler {
  onSocketData(this: SocketDataOwner, buffer: Buffer): void;
}

/** What a ConnectionManager instance holds that the guard resets. */
export interface SocketDataOwner {
  socket?: { destroy(): void } | null;
  pendingBuffer?: Buffer | null;
}

const guarded = Symbol.for('logrelay.zk.socketDataGuarded');

/**
 * Makes a reply the client cannot parse drop the connection instead of crashing the process.
 *
 * node-zookeeper-client parses replies inside the socket's 'data' handler and throws there on
 * what it does not understand (seen in our ZooKeeper-restart test: `Error: Unknown code:
 * 1009188866` from a misaligned reply). A throw in that handler is an uncaught exception: the
 * collector or agent would die. Destroying the socket is what the library itself does for an
 * unknown reply type: it reconnects (same session when possible), and the requests in flight
 * fail with CONNECTION_LOSS, which our callers retry.
 *
 * `onError` hears of each such reply (for a log line). Idempotent.
 */
export function guardSocketData(
  proto: SocketDataHandler,
  onError: (err: unknown) => void = () => undefined,
): void {
  const marked = proto as SocketDataHandler & { [guarded]?: boolean };
  if (marked[guarded]) return;
  const original = proto.onSocketData;
  proto.onSocketData = function (this: SocketDataOwner, buffer: Buffer): void {
    try {
      original.call(this, buffer);
    } catch (err) {
      this.pendingBuffer = null;
      this.socket?.destroy();
      onError(err);
    }
  };
  marked[guarded] = true;
}

/** The library's ConnectionManager prototype (bound per socket at connect time, so patchable). */
export function connectionManagerPrototype(): SocketDataHandler {
  const require = createRequire(import.meta.url);
  const ctor = require('node-zookeeper-client/lib/ConnectionManager.js') as {
    prototype: SocketDataHandler;
  };
  return ctor.prototype;
}
