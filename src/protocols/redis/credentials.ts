/**
 * What a Redis connection presents to the node's security (auth/): a user
 * and password (`AUTH`, `HELLO AUTH`), a token (a node with a token alone:
 * Redis's requirepass), or only its TLS client certificate at connect.
 */
import type { Security } from '../../auth/security.js';
import type { Credentials } from '../../auth/types.js';
import type { TlsSessionInfo } from '../../connection/tls-accept.js';
import { R, type Reply } from './encoder.js';

export const NOAUTH = 'NOAUTH Authentication required.';
export const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';

export function redisCredentials(
  remoteAddress: string,
  user: string,
  pass: string,
  token: string,
  cert: TlsSessionInfo['cert'] = null,
): Credentials {
  return {
    face: 'redis',
    remoteAddress,
    user,
    pass,
    token,
    nkey: '',
    sig: '',
    jwt: '',
    nonce: '',
    cert,
  };
}

/**
 * What `AUTH [user] <password>` (or HELLO AUTH) presents: the credentials to
 * check, null when there is nothing to check (Redis's default user without a
 * password, already logged in: any password will do), or the error reply.
 */
export function authCredentials(
  sec: Security,
  conn: { readonly remoteAddress: string; readonly authenticated: boolean },
  user: string | null,
  pass: string,
): Credentials | Reply | null {
  if (!sec.required && user === null) {
    return R.error(
      'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
    );
  }
  if (!sec.required && user === 'default' && conn.authenticated) return null;
  // A node with a token alone: the password is the token (Redis's requirepass); else
  // `AUTH <password>` is the user "default", as in Redis 6+.
  const tokenOnly = sec.config.token !== '' && sec.config.users.length === 0;
  return tokenOnly
    ? redisCredentials(conn.remoteAddress, '', '', pass)
    : redisCredentials(conn.remoteAddress, user ?? 'default', pass, '');
}
