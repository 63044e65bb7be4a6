import { loadSecret } from '../security/index.js';
import type { ZookeeperConfig } from './zk-config.js';
import { ZkSession } from './zk-session.js';

/** A connected session for a `zookeeper` config section (its password file read). */
export async function openZkSession(
  config: ZookeeperConfig,
  keyPath: string,
  source: string,
  connectTimeoutMs = 5000,
): Promise<ZkSession> {
  const auth = config.auth
    ? {
        username: config.auth.username,
        password: await loadSecret(config.auth.password, `${keyPath}.auth.password`, source),
      }
    : undefined;
  const session = new ZkSession(config.connect, {
    sessionTimeoutMs: config.sessionTimeoutMs,
    connectTimeoutMs,
    ...(auth ? { auth } : {}),
  });
  await session.connect();
  return session;
}
