/**
 * What a Redis connection presents to the node's security (auth/): a user
 * and password (`AUTH`, `HELLO AUTH`), a token (a node with a token alone:
 * Redis's requirepass), or only its TLS client certificate at connect.
 */
import type { Credentials } from '../../auth/types.js';
import type { TlsSessionInfo } from '../../connection/tls-accept.js';

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
