/**
 * HTTP credentials: the `Authorization` header as the security model's
 * `Credentials` (docs/security.md), so the same users, tokens and JWTs log
 * in on every face. Pure: no socket.
 *
 * - `Basic base64(user:pass)` (RFC 7617): a user and password;
 * - `Bearer <jwt>`: a user JWT (three base64url parts, as nats-server's
 *   bearer JWTs: no nonce is signed, so the account must allow bearer
 *   tokens — the JWT's `bearer_token` claim);
 * - `Bearer <token>`: anything else, the `authorization.token`.
 * - no header: no credentials (the node's no-auth or `no_auth_user` identity).
 */
import type { PeerCertificate } from 'node:tls';
import type { Credentials } from '../../auth/types.js';

/** The challenge of a 401 (RFC 9110 §11.6.1): both schemes the API takes. */
export const WWW_AUTHENTICATE = 'Basic realm="weft", charset="UTF-8", Bearer realm="weft"';

const JWT = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * The credentials of an `Authorization` header, or a string saying why it
 * cannot be read (answered 401).
 */
export function credentialsOf(
  header: string | undefined,
  remoteAddress: string,
  cert: PeerCertificate | null,
): Credentials | string {
  const base: Credentials = {
    face: 'http',
    remoteAddress,
    user: '',
    pass: '',
    token: '',
    nkey: '',
    sig: '',
    jwt: '',
    nonce: '',
    cert,
  };
  if (header === undefined || header === '') return base;
  const sp = header.indexOf(' ');
  const scheme = (sp < 0 ? header : header.slice(0, sp)).toLowerCase();
  const value = sp < 0 ? '' : header.slice(sp + 1).trim();
  if (value === '') return `the Authorization header has no ${scheme} credentials`;
  if (scheme === 'basic') {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return 'Basic credentials are not base64';
    const text = Buffer.from(value, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon <= 0) return 'Basic credentials must be user:password';
    return { ...base, user: text.slice(0, colon), pass: text.slice(colon + 1) };
  }
  if (scheme === 'bearer') {
    return JWT.test(value) ? { ...base, jwt: value } : { ...base, token: value };
  }
  return `the Authorization scheme ${JSON.stringify(scheme)} is not Basic or Bearer`;
}
