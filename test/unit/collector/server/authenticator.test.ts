import { describe, expect, it } from 'vitest';
import { Authenticator } from '../../../../src/collector/server/authenticator.js';

const hello = (agentId: string, token = '') => ({ agentId, host: 'h', version: 'v', token });
const verified = {
  transportSecurityType: 'ssl',
  sslPeerCertificate: { subject: { CN: 'web-1' } },
} as never;

describe('Authenticator', () => {
  it('lets everyone in when neither mTLS nor tokens are configured', () => {
    const auth = new Authenticator({ requireClientCert: false });
    expect(auth.required).toBe(false);
    expect(auth.check(hello('a'), null)).toEqual({ ok: true });
  });

  it('with mTLS, wants a verified peer certificate and reports its subject', () => {
    const auth = new Authenticator({ requireClientCert: true });
    expect(auth.required).toBe(true);
    expect(auth.check(hello('web-1'), {})).toMatchObject({ ok: false, reason: 'no_client_cert' });
    expect(auth.check(hello('web-1'), null)).toMatchObject({ ok: false, reason: 'no_client_cert' });
    expect(auth.check(hello('web-1'), verified)).toEqual({ ok: true, subject: 'web-1' });
  });

  it('with tokens, binds each token to its agent id; * accepts any id', () => {
    const auth = new Authenticator({
      requireClientCert: false,
      tokens: [
        { agent: 'web-1', token: 'token-of-web-1-xxxx' },
        { agent: '*', token: 'fleet-token-yyyyyyy' },
      ],
    });
    expect(auth.check(hello('web-1'), null)).toMatchObject({ ok: false, reason: 'no_token' });
    expect(auth.check(hello('web-1', 'token-of-web-1-xxxx'), null)).toEqual({ ok: true });
    expect(auth.check(hello('web-2', 'token-of-web-1-xxxx'), null)).toMatchObject({
      ok: false,
      reason: 'bad_token',
    });
    expect(auth.check(hello('web-2', 'fleet-token-yyyyyyy'), null)).toEqual({ ok: true });
    expect(auth.check(hello('web-2', 'token-of-web-1-xxx'), null)).toMatchObject({ ok: false });
  });

  it('needs both when both are configured', () => {
    const auth = new Authenticator({
      requireClientCert: true,
      tokens: [{ agent: 'web-1', token: 'token-of-web-1-xxxx' }],
    });
    expect(auth.check(hello('web-1', 'token-of-web-1-xxxx'), {})).toMatchObject({ ok: false });
    expect(auth.check(hello('web-1'), verified)).toMatchObject({ ok: false });
    expect(auth.check(hello('web-1', 'token-of-web-1-xxxx'), verified)).toMatchObject({ ok: true });
  });

  it('with mTLS and no per-agent token, the agent id must be the certificate’s CN or a DNS SAN', () => {
    const auth = new Authenticator({ requireClientCert: true });
    const san = {
      transportSecurityType: 'ssl',
      sslPeerCertificate: {
        subject: {},
        subjectaltname: 'IP Address:10.0.0.1, DNS:web-2.example, DNS:web-2',
      },
    } as never;
    expect(auth.check(hello('web-1'), verified)).toEqual({ ok: true, subject: 'web-1' });
    expect(auth.check(hello('web-2'), verified)).toMatchObject({
      ok: false,
      reason: 'cert_mismatch',
      detail: expect.stringContaining('certificate is for web-1, not agent web-2') as string,
    });
    expect(auth.check(hello('web-2'), san)).toMatchObject({ ok: true });
    expect(auth.check(hello('web-2.example'), san)).toMatchObject({ ok: true });
    // An IP SAN is not an id.
    expect(auth.check(hello('10.0.0.1'), san)).toMatchObject({ reason: 'cert_mismatch' });
  });

  it('a per-agent token proves the id; a fleet token (*) leaves it to the certificate', () => {
    const auth = new Authenticator({
      requireClientCert: true,
      tokens: [
        { agent: 'web-2', token: 'token-of-web-2-xxxx' },
        { agent: '*', token: 'fleet-token-yyyyyyy' },
      ],
    });
    // A shared fleet certificate (CN web-1) with web-2's own token: the token binds the id.
    expect(auth.check(hello('web-2', 'token-of-web-2-xxxx'), verified)).toMatchObject({
      ok: true,
    });
    expect(auth.check(hello('web-2', 'fleet-token-yyyyyyy'), verified)).toMatchObject({
      ok: false,
      reason: 'cert_mismatch',
    });
    expect(auth.check(hello('web-1', 'fleet-token-yyyyyyy'), verified)).toMatchObject({
      ok: true,
    });
  });
});
