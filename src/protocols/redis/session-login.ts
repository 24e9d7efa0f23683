/**
 * Logging a Redis connection in (session.ts): credentials checked by the
 * node's security, at connect (no credentials, or the TLS certificate's
 * name) or on AUTH / HELLO AUTH; the identity admitted (max connections),
 * a failure counted and answered with Redis's WRONGPASS, a failure at
 * connect closing the connection.
 */
import type { ConnectionIdentity } from '../../auth/connection-identity.js';
import type { AuthResult, Credentials } from '../../auth/types.js';
import { CloseReason } from '../../errors.js';
import { WRONGPASS } from './credentials.js';
import { R, type Reply } from './encoder.js';
import type { RedisHost } from './host.js';

/** What logging in reaches of the session. */
export interface LoginSession {
  readonly host: RedisHost;
  readonly who: ConnectionIdentity;
  readonly closed: boolean;
  credentials: Credentials | null;
  authenticated: boolean;
  close(reason: CloseReason): void;
  /** Logged in again: what the old identity held goes (its subscriptions, its place). */
  loggedOut(): void;
  /** Logged in (`first`: for the first time on this connection). */
  loggedIn(first: boolean): void;
}

/** Logs `s` in with `creds`: null when done, else the error reply (`asked`: by AUTH or HELLO). */
export function loginWith(
  s: LoginSession,
  creds: Credentials,
  asked: boolean,
): Reply | null | Promise<Reply | null> {
  let r: AuthResult | Promise<AuthResult>;
  try {
    r = s.host.node.security.login(creds);
  } catch (err) {
    r = { ok: false, why: (err as Error).message };
  }
  if (r instanceof Promise) {
    return r.then(
      (x) => settleLogin(s, creds, x, asked),
      (err: unknown) => settleLogin(s, creds, { ok: false, why: String(err) }, asked),
    );
  }
  return settleLogin(s, creds, r, asked);
}

function settleLogin(
  s: LoginSession,
  creds: Credentials,
  r: AuthResult,
  asked: boolean,
): Reply | null {
  if (s.closed) return null;
  if (!r.ok) {
    s.host.counters.authFailures++;
    if (!asked) s.close(CloseReason.AuthViolation);
    return R.error(WRONGPASS);
  }
  if (s.who.identity !== null) s.loggedOut();
  const refused = s.who.admit(r.identity, () => s.close(CloseReason.AuthExpired));
  if (refused !== null) {
    s.authenticated = false;
    return R.error('ERR max number of clients reached');
  }
  s.credentials = creds;
  const first = !s.authenticated;
  s.authenticated = true;
  s.loggedIn(first);
  return null;
}
