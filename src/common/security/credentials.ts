import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { ConfigError, type ConfigIssue } from '../config/index.js';
import type {
  ClientTlsConfig,
  SecretConfig,
  ServerTlsConfig,
  ServiceTlsConfig,
} from './tls-config.js';

/**
 * Reads the files a configuration names. Every unreadable file is reported at once, each by its
 * key path, as a `ConfigError` of `source` — the same shape as a schema failure.
 */
async function readFiles(
  source: string,
  entries: ReadonlyArray<readonly [keyPath: string, file: string | undefined]>,
): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const issues: ConfigIssue[] = [];
  await Promise.all(
    entries.map(async ([keyPath, file]) => {
      if (file === undefined) return;
      try {
        out.set(keyPath, await readFile(file));
      } catch (err) {
        issues.push({ path: keyPath, message: `cannot read ${file}: ${(err as Error).message}` });
      }
    }),
  );
  if (issues.length > 0) throw new ConfigError(source, issues);
  return out;
}

/** The PEM files of a TLS section, read and checked together. */
interface PemSet {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/**
 * Reads a TLS section's files (`caKey` names the CA's key: `ca`, or `clientCa` for a listener)
 * and checks that certificate, key and CA parse and belong together, before any socket opens.
 */
async function readPemSet(
  source: string,
  keyPath: string,
  files: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined },
  caKey = 'ca',
): Promise<PemSet> {
  const read = await readFiles(source, [
    [`${keyPath}.${caKey}`, files.ca],
    [`${keyPath}.cert`, files.cert],
    [`${keyPath}.key`, files.key],
  ]);
  const pems: PemSet = {};
  const ca = read.get(`${keyPath}.${caKey}`);
  const cert = read.get(`${keyPath}.cert`);
  const key = read.get(`${keyPath}.key`);
  if (ca) pems.ca = ca;
  if (cert) pems.cert = cert;
  if (key) pems.key = key;
  try {
    createSecureContext(pems);
  } catch (err) {
    throw new ConfigError(source, [{ path: keyPath, message: (err as Error).message }], err);
  }
  return pems;
}

/**
 * Asks every client for a certificate but lets the handshake finish without a valid one, so the
 * relay server can refuse the agent with a gRPC status (UNAUTHENTICATED) and a log line naming
 * it, instead of a bare TLS alert nobody on the collector side sees. The verification result is
 * still computed by OpenSSL against `ca`: grpc-js reports a peer as authenticated
 * (`getAuthContext().transportSecurityType === 'ssl'`) only when the chain verified.
 */
class ClientCertificateRequestingCredentials extends grpc.ServerCredentials {
  constructor(ca: Buffer, cert: Buffer, key: Buffer) {
    super({ requestCert: true, rejectUnauthorized: false }, { ca, cert, key });
  }

  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

export interface LoadedServerCredentials {
  credentials: grpc.ServerCredentials;
  /** True when clients must present a certificate that chains to `clientCa` (checked per call). */
  requireClientCert: boolean;
}

/** The gRPC server credentials for `listen.tls` (insecure when it is unset). */
export async function loadServerCredentials(
  tls: ServerTlsConfig | undefined,
  keyPath: string,
  source: string,
): Promise<LoadedServerCredentials> {
  if (!tls)
    return { credentials: grpc.ServerCredentials.createInsecure(), requireClientCert: false };
  const pems = await readPemSet(
    source,
    keyPath,
    { ca: tls.clientCa, cert: tls.cert, key: tls.key },
    'clientCa',
  );
  // The schema requires cert and key: both were read.
  const { ca } = pems;
  const cert = pems.cert as Buffer;
  const key = pems.key as Buffer;
  if (!ca) {
    return {
      credentials: grpc.ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }]),
      requireClientCert: false,
    };
  }
  return {
    credentials: new ClientCertificateRequestingCredentials(ca, cert, key),
    requireClientCert: true,
  };
}

export interface LoadedChannelCredentials {
  credentials: grpc.ChannelCredentials;
  /** Channel options that go with them (the expected server name). */
  options: grpc.ChannelOptions;
}

/** The gRPC channel credentials for a client's `tls` section (insecure when it is unset). */
export async function loadChannelCredentials(
  tls: ClientTlsConfig | undefined,
  keyPath: string,
  source: string,
): Promise<LoadedChannelCredentials> {
  if (!tls) return { credentials: grpc.credentials.createInsecure(), options: {} };
  const { ca, cert, key } = await readPemSet(source, keyPath, tls);
  return {
    credentials: grpc.credentials.createSsl(ca ?? null, key ?? null, cert ?? null),
    options: tls.serverName ? { 'grpc.ssl_target_name_override': tls.serverName } : {},
  };
}

/** Node TLS options (what kafkajs, mysql2 and etcd3 take) from a `serviceTlsSchema` entry. */
export interface LoadedServiceTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
}

/** Reads the files of a service's `tls` section, reporting unreadable or mismatched ones by key path. */
export async function loadServiceTls(
  tls: ServiceTlsConfig,
  keyPath: string,
  source: string,
): Promise<LoadedServiceTls> {
  const pems = await readPemSet(source, keyPath, tls);
  return { ...pems, rejectUnauthorized: tls.rejectUnauthorized };
}

/** The secret of a `{ value } | { file }` config entry, at least `minLength` characters. */
export async function loadSecret(
  secret: SecretConfig,
  keyPath: string,
  source: string,
  minLength = 1,
): Promise<string> {
  if (secret.value !== undefined) return secret.value;
  const files = await readFiles(source, [[`${keyPath}.file`, secret.file]]);
  const text = (files.get(`${keyPath}.file`) as Buffer).toString('utf8').trim();
  if (text.length < minLength)
    throw new ConfigError(source, [
      {
        path: `${keyPath}.file`,
        message: `${secret.file} holds fewer than ${minLength} characters`,
      },
    ]);
  return text;
}

/** Compares two secrets in time independent of where they differ (and of their lengths). */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
