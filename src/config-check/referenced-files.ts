import type { AgentConfig } from '../agent/config.js';
import type { CollectorConfig } from '../collector/config.js';
import { ConfigError, type ConfigIssue } from '../common/config/index.js';
import { etcdClientOptions } from '../common/etcd/index.js';
import {
  loadChannelCredentials,
  loadServerCredentials,
  loadServiceTls,
  loadSecret,
  TOKEN_MIN_LENGTH,
} from '../common/security/index.js';

/**
 * Reads every file a configuration names (certificates, keys, token and password files) with
 * the loaders the processes use at start, so a check reports exactly what a start would. Every
 * problem is collected; the start stops at the first component that fails.
 */
async function collect(checks: readonly (() => Promise<unknown>)[]): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  for (const check of checks) {
    try {
      await check();
    } catch (err) {
      if (err instanceof ConfigError) issues.push(...err.issues);
      else throw err;
    }
  }
  return issues;
}

/** The file problems of a valid collector configuration. */
export function collectorFileIssues(
  config: CollectorConfig,
  source: string,
): Promise<ConfigIssue[]> {
  const checks: (() => Promise<unknown>)[] = [];
  const { tls } = config.listen;
  if (tls) checks.push(() => loadServerCredentials(tls, 'listen.tls', source));
  config.auth?.tokens.forEach((entry, i) =>
    checks.push(() => loadSecret(entry.token, `auth.tokens[${i}].token`, source, TOKEN_MIN_LENGTH)),
  );
  const zkAuth = config.cluster?.zookeeper.auth;
  if (zkAuth) {
    checks.push(() => loadSecret(zkAuth.password, 'cluster.zookeeper.auth.password', source));
  }
  config.sinks.forEach((sink, i) => {
    if (sink.type === 'kafka' && typeof sink.ssl === 'object') {
      const ssl = sink.ssl;
      checks.push(() => loadServiceTls(ssl, `sinks[${i}].ssl`, source));
    }
    if (sink.type === 'mysql' && sink.tls) {
      const mysqlTls = sink.tls;
      checks.push(() => loadServiceTls(mysqlTls, `sinks[${i}].tls`, source));
    }
    if (sink.type === 'mongodb' || sink.type === 'hbase') {
      const { tls, auth } = sink;
      if (tls) checks.push(() => loadServiceTls(tls, `sinks[${i}].tls`, source));
      if (auth) checks.push(() => loadSecret(auth.password, `sinks[${i}].auth.password`, source));
    }
  });
  return collect(checks);
}

/** The file problems of a valid agent configuration. */
export function agentFileIssues(config: AgentConfig, source: string): Promise<ConfigIssue[]> {
  const checks: (() => Promise<unknown>)[] = [];
  const { tls, token } = config.ship;
  if (tls) checks.push(() => loadChannelCredentials(tls, 'ship.tls', source));
  if (token) checks.push(() => loadSecret(token, 'ship.token', source, TOKEN_MIN_LENGTH));
  const zkAuth = config.cluster?.zookeeper.auth;
  if (zkAuth) {
    checks.push(() => loadSecret(zkAuth.password, 'cluster.zookeeper.auth.password', source));
  }
  const etcd = config.remote?.etcd;
  // Builds the client options only (reads the TLS and password files); nothing connects.
  if (etcd) checks.push(() => etcdClientOptions(etcd, 'remote.etcd', source));
  return collect(checks);
}
