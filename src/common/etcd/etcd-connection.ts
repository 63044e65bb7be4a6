import { rootCertificates } from 'node:tls';
import type { IOptions } from 'etcd3';
import { z } from 'zod';
import { loadSecret, loadServiceTls, passwordSchema, serviceTlsSchema } from '../security/index.js';

/** How to reach etcd: endpoints, and optionally TLS and user/password authentication. */
export const etcdConnectionFields = {
  /** etcd endpoints (`host:port` or URLs). */
  endpoints: z.array(z.string().min(1)).min(1).describe('etcd endpoints.'),
  /** TLS to etcd (endpoints become https). Default: unset (plaintext). */
  tls: serviceTlsSchema.optional().describe('TLS to etcd {ca, cert, key}. Default: unset.'),
  /** etcd user authentication. Default: unset. */
  auth: z
    .strictObject({
      username: z.string().min(1).describe('etcd user.'),
      password: passwordSchema.describe('Its password: { value } or { file }.'),
    })
    .optional()
    .describe('etcd user and password. Default: unset.'),
};

export interface EtcdConnection {
  endpoints: readonly string[];
  tls?: z.output<typeof serviceTlsSchema>;
  auth?: { username: string; password: z.output<typeof passwordSchema> };
}

/** etcd3 client options for a connection section at `keyPath`, with its files read. */
export async function etcdClientOptions(
  conn: EtcdConnection,
  keyPath: string,
  source: string,
): Promise<IOptions> {
  const scheme = conn.tls ? 'https' : 'http';
  const options: IOptions = {
    hosts: conn.endpoints.map((e) => (e.includes('://') ? e : `${scheme}://${e}`)),
    dialTimeout: 3000,
  };
  if (conn.tls) {
    const tls = await loadServiceTls(conn.tls, `${keyPath}.tls`, source);
    // etcd3 hands these to grpc's createSsl, which needs the roots spelled out.
    options.credentials = {
      rootCertificate: tls.ca ?? Buffer.from(rootCertificates.join('\n')),
      ...(tls.key ? { privateKey: tls.key } : {}),
      ...(tls.cert ? { certChain: tls.cert } : {}),
    };
  }
  if (conn.auth) {
    options.auth = {
      username: conn.auth.username,
      password: await loadSecret(conn.auth.password, `${keyPath}.auth.password`, source),
    };
  }
  return options;
}
