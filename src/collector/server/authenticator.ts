import type { PeerCertificate } from 'node:tls';
import { secretsEqual } from '../../common/security/index.js';
import type { Hello } from '../../common/wire/index.js';

/** One accepted agent token; `agent: '*'` accepts it from any agent id. */
export interface AgentToken {
  agent: string;
  token: string;
}

export interface AuthenticatorOptions {
  /** Agents must present a client certificate that chains to the configured CA. */
  requireClientCert: boolean;
  /** Accepted tokens; undefined when token authentication is off. */
  tokens?: readonly AgentToken[];
}

/** What grpc-js's `call.getAuthContext()` returns (its type is not exported). */
export interface PeerAuth {
  transportSecurityType?: string;
  sslPeerCertificate?: PeerCertificate;
}

export type AuthResult =
  | { ok: true; /** Subject of the client certificate, when there is one. */ subject?: string }
  | {
      ok: false;
      reason: 'no_client_cert' | 'no_token' | 'bad_token' | 'cert_mismatch';
      detail: string;
    };

/**
 * The agent ids a client certificate stands for: its subject CN(s) and its DNS
 * subjectAltNames. CN is what `scripts/dev-ca.sh --client ID` writes; a DNS SAN lets a
 * certificate issued the modern way (empty CN, names in the SAN) carry the id as well. Other SAN
 * types (IP, URI, email) are not ids.
 */
export function certificateIds(cert: PeerCertificate): string[] {
  const ids: string[] = [];
  const cn = cert.subject?.CN as string | string[] | undefined;
  if (Array.isArray(cn)) ids.push(...cn);
  else if (cn) ids.push(cn);
  for (const entry of (cert.subjectaltname ?? '').split(',')) {
    const name = entry.trim();
    if (name.startsWith('DNS:')) ids.push(name.slice('DNS:'.length));
  }
  return ids;
}

/**
 * Decides whether an agent's Ship stream may deliver data: by the TLS layer's verdict on its
 * client certificate (mTLS) and/or by the token in its hello. Stateless: the relay server asks
 * once per stream, on the hello.
 *
 * Identity: a token bound to an agent id (`auth.tokens[].agent`) proves that id. Otherwise, with
 * mTLS, the certificate must: the hello's agent id must be its subject CN or one of its DNS
 * subjectAltNames, or a certificate issued for one agent could speak for any other. With neither
 * (no auth, or only `agent: '*'` tokens and no mTLS) any client can claim any id.
 */
export class Authenticator {
  readonly #opts: AuthenticatorOptions;

  constructor(opts: AuthenticatorOptions) {
    this.#opts = opts;
  }

  /** True when a stream must authenticate (its first message must be a hello). */
  get required(): boolean {
    return this.#opts.requireClientCert || this.#opts.tokens !== undefined;
  }

  check(hello: Hello, auth: PeerAuth | null): AuthResult {
    let subject: string | undefined;
    let certIds: string[] | undefined;
    if (this.#opts.requireClientCert) {
      // grpc-js fills the context only for a peer whose chain verified against our CA.
      if (auth?.transportSecurityType !== 'ssl' || !auth.sslPeerCertificate) {
        return {
          ok: false,
          reason: 'no_client_cert',
          detail: 'a client certificate signed by the collector’s client CA is required',
        };
      }
      const cn = auth.sslPeerCertificate.subject?.CN as string | string[] | undefined;
      subject = Array.isArray(cn) ? cn.join(',') : cn;
      certIds = certificateIds(auth.sslPeerCertificate);
    }
    let idProven = false;
    const tokens = this.#opts.tokens;
    if (tokens !== undefined) {
      if (hello.token === '')
        return { ok: false, reason: 'no_token', detail: 'a token is required (ship.token)' };
      // Every candidate is compared, so the time taken does not tell which agent ids exist.
      let accepted = false;
      for (const entry of tokens) {
        const match = secretsEqual(hello.token, entry.token);
        if (match && entry.agent === hello.agentId) idProven = true;
        if (match && (entry.agent === '*' || entry.agent === hello.agentId)) accepted = true;
      }
      if (!accepted)
        return {
          ok: false,
          reason: 'bad_token',
          detail: `the token is not valid for agent ${hello.agentId}`,
        };
    }
    if (certIds !== undefined && !idProven && !certIds.includes(hello.agentId)) {
      return {
        ok: false,
        reason: 'cert_mismatch',
        detail:
          `the client certificate is for ${certIds.join(', ') || 'no agent id'}, not agent ` +
          `${hello.agentId}: its subject CN or a DNS subjectAltName must be the agent id`,
      };
    }
    return subject === undefined ? { ok: true } : { ok: true, subject };
  }
}
