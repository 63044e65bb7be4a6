import zookeeper from 'node-zookeeper-client';
import type { ZkSession } from '../../src/common/zk/zk-session.js';
import { endpoint } from './services.js';

/** Joins `session` from a second client (its id and password) and closes it there. */
async function closeFromTwin(session: ZkSession): Promise<void> {
  const { id, password } = session.credentials;
  const twin = zookeeper.createClient(endpoint('zookeeper'), {
    sessionTimeout: 4000,
    retries: 0,
    ...({ sessionId: id, sessionPassword: password } as object),
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('could not join the session to expire it')),
      5000,
    );
    twin.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    twin.connect();
  });
  twin.close();
}

/**
 * Expires `session` on the server, the way ZooKeeper's own tests do: a second client joins the
 * same session (its id and password) and closes it. Call it while the session's own client is
 * cut off (a TcpProxy down), or that client may win the session back by reconnecting first.
 */
export async function expireSession(session: ZkSession): Promise<void> {
  await closeFromTwin(session);
}
