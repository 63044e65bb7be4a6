import { z } from 'zod';

const pemFile = z.string().min(1);

/** A client certificate is useless without its key, and the other way round. */
function certAndKeyTogether(tls: { cert?: string; key?: string }, ctx: z.RefinementCtx): void {
  if ((tls.cert === undefined) !== (tls.key === undefined))
    ctx.addIssue({
      code: 'custom',
      path: [tls.cert === undefined ? 'cert' : 'key'],
      message: 'cert and key go together',
    });
}

/**
 * TLS of a gRPC listener (`listen.tls` of the collector). With `clientCa` set, every agent must
 * present a certificate signed by that CA (mutual TLS); without it, TLS only encrypts.
 */
export const serverTlsConfigSchema = z
  .strictObject({
    /** PEM certificate chain of this server (leaf first). */
    cert: pemFile.describe('PEM certificate chain of this server.'),
    /** PEM private key of `cert`. */
    key: pemFile.describe('PEM private key of cert.'),
    /** PEM CA bundle client certificates must chain to; set it to require mTLS. Default: unset (no client certificates). */
    clientCa: pemFile
      .optional()
      .describe('PEM CA that client certificates must chain to (mTLS). Default: unset.'),
  })
  .describe('TLS for the gRPC listener.');

export type ServerTlsConfig = z.output<typeof serverTlsConfigSchema>;

/** TLS of a gRPC client (`ship.tls` of the agent). */
export const clientTlsConfigSchema = z
  .strictObject({
    /** PEM CA bundle the server certificate must chain to. Default: the system's roots. */
    ca: pemFile.optional().describe('PEM CA for the server certificate. Default: system roots.'),
    /** PEM client certificate chain, for collectors that require mTLS. Default: none. */
    cert: pemFile.optional().describe('PEM client certificate (mTLS). Default: none.'),
    /** PEM private key of `cert`. Default: none. */
    key: pemFile.optional().describe('PEM private key of cert. Default: none.'),
    /** Name expected in the server certificate when it differs from the dialled host. Default: the host. */
    serverName: z
      .string()
      .min(1)
      .optional()
      .describe('Name to verify in the server certificate. Default: the dialled host.'),
  })
  .superRefine(certAndKeyTogether)
  .describe('TLS towards collectors.');

export type ClientTlsConfig = z.output<typeof clientTlsConfigSchema>;

/**
 * A secret given inline or, better, in a file (kept out of configs that get shared); exactly one
 * of the two. A file's surrounding whitespace is ignored; `loadSecret` checks its length.
 */
function secretSchemaOf(minLength: number) {
  return z
    .strictObject({
      value: z
        .string()
        .min(minLength, `use at least ${minLength} characters`)
        .optional()
        .describe('The secret.'),
      file: z.string().min(1).optional().describe('File holding the secret.'),
    })
    .superRefine((s, ctx) => {
      if ((s.value === undefined) === (s.file === undefined))
        ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of value and file' });
    });
}

/** Shortest token accepted: guessing must stay out of reach. */
export const TOKEN_MIN_LENGTH = 16;

/** A token this product issues (agent tokens): at least 16 characters. */
export const secretSchema = secretSchemaOf(TOKEN_MIN_LENGTH);

/** A password of another system (etcd, ...): whatever that system accepts. */
export const passwordSchema = secretSchemaOf(1);

export type SecretConfig = z.output<typeof secretSchema>;

/**
 * TLS towards a backing service (Kafka, MySQL, etcd): PEM files handed to its client library.
 * Every file is optional: with none, the system's roots verify the server.
 */
export const serviceTlsSchema = z
  .strictObject({
    /** PEM CA bundle the server certificate must chain to. Default: the system's roots. */
    ca: pemFile.optional().describe('PEM CA for the server certificate. Default: system roots.'),
    /** PEM client certificate, when the service wants one. Default: none. */
    cert: pemFile.optional().describe('PEM client certificate. Default: none.'),
    /** PEM private key of `cert`. Default: none. */
    key: pemFile.optional().describe('PEM private key of cert. Default: none.'),
    /** Verify the server certificate. Turn off only for testing. Default: true. */
    rejectUnauthorized: z
      .boolean()
      .default(true)
      .describe('Verify the server certificate. Default: true.'),
  })
  .superRefine(certAndKeyTogether)
  .describe('TLS towards the service.');

export type ServiceTlsConfig = z.output<typeof serviceTlsSchema>;
