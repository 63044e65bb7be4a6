import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { guardSocketData, type SocketDataHandler } from '../../../../src/common/zk/socket-guard.js';

/** A fresh copy of the library's ConnectionManager prototype, never guarded yet. */
function freshPrototype(): SocketDataHandler {
  const require = createRequire(import.meta.url);
  const path = require.resolve('node-zookeeper-client/lib/ConnectionManager.js');
  delete require.cache[path];
  return (require(path) as { prototype: SocketDataHandler }).prototype;
}

/** A reply to request `xid` carrying an error code the library does not know. */
function garbledReply(xid: number): Buffer {
  const reply = Buffer.alloc(4 + 16);
  reply.writeInt32BE(16, 0); // length of what follows
  reply.writeInt32BE(xid, 4); // ReplyHeader.xid
  reply.writeBigInt64BE(7n, 8); // ReplyHeader.zxid
  reply.writeInt32BE(1009188866, 16); // ReplyHeader.err: seen in CI after a ZooKeeper restart
  return reply;
}

/** The state of a connected ConnectionManager that onSocketData reads, with one request pending. */
function connectedManager() {
  let destroyed = 0;
  return {
    state: 3, // anything but CONNECTING: a normal reply is expected
    pendingBuffer: Buffer.alloc(0) as Buffer | null,
    pendingQueue: [{ request: { header: { xid: 5 } }, callback: () => undefined }],
    socket: { destroy: () => void destroyed++ },
    get destroyed() {
      return destroyed;
    },
  };
}

describe('guardSocketData', () => {
  it('turns the library throwing on a garbled reply into a dropped connection', () => {
    const proto = freshPrototype();
    // Unguarded, the real parser throws from inside the socket's data handler.
    expect(() => proto.onSocketData.call(connectedManager(), garbledReply(5))).toThrow(
      /Unknown code: 1009188866/,
    );

    const errors: unknown[] = [];
    guardSocketData(proto, (err) => errors.push(err));
    guardSocketData(proto, (err) => errors.push(err)); // idempotent: not wrapped twice
    const manager = connectedManager();
    expect(() => proto.onSocketData.call(manager, garbledReply(5))).not.toThrow();
    expect(manager.destroyed).toBe(1);
    expect(manager.pendingBuffer).toBeNull();
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain('Unknown code');
  });

  it('leaves good replies alone', () => {
    const proto = freshPrototype();
    guardSocketData(proto);
    const manager = connectedManager();
    const answered: unknown[] = [];
    manager.pendingQueue[0]!.callback = (...args: unknown[]) => void answered.push(args);
    const ping = Buffer.alloc(4 + 16);
    ping.writeInt32BE(16, 0);
    ping.writeInt32BE(-2, 4); // XID_PING: nothing to do
    expect(() => proto.onSocketData.call(manager, ping)).not.toThrow();
    expect(manager.destroyed).toBe(0);
    expect(answered).toEqual([]);
  });
});
