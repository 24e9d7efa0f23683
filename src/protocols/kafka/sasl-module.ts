/**
 * SASL on the wire: SaslHandshake (17, v0–v1) and SaslAuthenticate (36,
 * v0–v2), served before authentication (api.ts: the SASL gate). The
 * mechanisms are sasl.ts's: PLAIN logs in with the user and password it
 * carries; SCRAM-SHA-256/512 proves the password without sending it, then
 * logs in as the user it proved (through the node's Security, so admission,
 * limits, advisories and the throttle of failed logins are the same as on
 * every face).
 *
 * As a Kafka broker does: a handshake when the connection needs no SASL (no
 * authentication on the node, or already authenticated) or a second one
 * gets ILLEGAL_SASL_STATE; an unknown mechanism gets
 * UNSUPPORTED_SASL_MECHANISM with the list, then the connection is closed;
 * SaslAuthenticate before a handshake gets ILLEGAL_SASL_STATE and a close; a
 * failed exchange gets SASL_AUTHENTICATION_FAILED with Kafka's message,
 * then a close. After a v0 handshake Kafka expects the tokens as bare
 * length-prefixed frames (kafka-python does this): `SaslState.raw` serves
 * them when the session hands such frames over.
 */
import type { Credentials } from '../../auth/types.js';
import { CloseReason } from '../../errors.js';
import {
  type ApiHandler,
  Close,
  type KafkaContext,
  type KafkaModule,
  type KafkaShared,
} from './api.js';
import { KafkaCode } from './groups/codes.js';
import {
  authFailedMessage,
  parsePlain,
  SASL_MECHANISMS,
  type SaslMechanism,
  ScramCredentials,
  ScramServer,
  saslMechanism,
} from './sasl.js';

type Req = Record<string, unknown>;
type Res = Record<string, unknown>;

/** One connection's SASL exchange (`ctx.sasl`). */
export interface SaslState {
  readonly mechanism: SaslMechanism;
  /** The handshake's version: 0 means bare tokens follow, not SaslAuthenticate requests. */
  readonly handshakeVersion: number;
  scram: ScramServer | null;
  done: boolean;
  /**
   * For a v0 handshake: one bare token in, the bare token to answer, or a
   * Close (after a failure). The session calls it for each frame while
   * `done` is false.
   */
  raw(token: Buffer): Promise<Buffer | Close>;
}

export interface SaslCounters {
  /** Exchanges that ended in an authenticated connection. */
  authenticated: number;
  /** Exchanges that failed (bad token, bad password or proof). */
  failed: number;
  /** Handshakes refused (unknown mechanism, wrong state). */
  refused: number;
}

function noCreds(user: string, pass: string): Omit<Credentials, 'face' | 'remoteAddress'> {
  return { user, pass, token: '', nkey: '', sig: '', jwt: '', nonce: '', cert: null };
}

export function saslModule(shared: KafkaShared): KafkaModule {
  const scram = new ScramCredentials();
  const counters: SaslCounters = { authenticated: 0, failed: 0, refused: 0 };
  const security = shared.host.security;

  /** The plain password of a configured user, null when none (bcrypt, nkey, unknown). */
  const plainPassword = (user: string): string | null => {
    const u = security.config.users.find((x) => x.user === user && x.nkey === '');
    if (u === undefined || u.password === '' || u.password.startsWith('$2')) return null;
    return u.password;
  };

  /** A failure proven here (a SCRAM proof): counted and throttled as a failed login. */
  const proofFailed = (ctx: KafkaContext, user: string, why: string): void => {
    security.counters.authFailures++;
    security.throttle.failed(ctx.remoteAddress, Date.now());
    shared.host.log.warn(
      `kafka ${ctx.remoteAddress} user "${user}" - authentication failed: ${why}`,
    );
    security.listener.authFailed?.(
      { face: 'kafka', remoteAddress: ctx.remoteAddress, ...noCreds(user, '') },
      why,
    );
  };

  type Step = { ok: true; bytes: Buffer } | { ok: false; message: string };

  /** One token of the exchange. */
  const step = async (ctx: KafkaContext, st: SaslState, token: Buffer): Promise<Step> => {
    const failed = (message: string): Step => {
      counters.failed++;
      st.done = true;
      return { ok: false, message };
    };
    if (st.mechanism === 'PLAIN') {
      const p = parsePlain(token);
      if (p === null) return failed('Authentication failed: Invalid username or password');
      const why = await ctx.authenticate(noCreds(p.user, p.pass));
      if (why !== null) return failed('Authentication failed: Invalid username or password');
      st.done = true;
      counters.authenticated++;
      return { ok: true, bytes: Buffer.alloc(0) };
    }
    if (st.scram === null) {
      const mech = st.mechanism;
      st.scram = new ScramServer(
        mech,
        (user) => scram.get(mech, user, plainPassword(user)),
        (user) => scram.salt(mech, user),
      );
    }
    const r = st.scram.step(token);
    if (!r.ok) {
      proofFailed(ctx, r.user, r.error);
      return failed(authFailedMessage(st.mechanism));
    }
    if (!r.done) return { ok: true, bytes: r.response };
    // Proven: log in as that user through the node's security (admission, limits, advisories).
    const why = await ctx.authenticate(noCreds(r.user ?? '', plainPassword(r.user ?? '') ?? ''));
    if (why !== null) return failed(authFailedMessage(st.mechanism));
    st.done = true;
    counters.authenticated++;
    return { ok: true, bytes: r.response };
  };

  const handshake: ApiHandler<Req, Res> = {
    key: 17,
    name: 'SaslHandshake',
    minVersion: 0,
    maxVersion: 1,
    preAuth: true,
    handle(ctx, req, version) {
      const mechanisms = [...SASL_MECHANISMS];
      if (!ctx.saslRequired || ctx.authenticated || (ctx.sasl !== undefined && ctx.sasl !== null)) {
        counters.refused++;
        return { errorCode: KafkaCode.ILLEGAL_SASL_STATE, mechanisms };
      }
      const mechanism = saslMechanism(str(req.mechanism));
      if (mechanism === null) {
        counters.refused++;
        return new Close(
          CloseReason.AuthViolation,
          `SASL mechanism ${JSON.stringify(str(req.mechanism))} is not enabled`,
          { errorCode: KafkaCode.UNSUPPORTED_SASL_MECHANISM, mechanisms },
        );
      }
      const st: SaslState = {
        mechanism,
        handshakeVersion: version,
        scram: null,
        done: false,
        async raw(token) {
          const r = await step(ctx, st, token);
          return r.ok ? r.bytes : new Close(CloseReason.AuthViolation, r.message);
        },
      };
      ctx.sasl = st;
      return { errorCode: KafkaCode.NONE, mechanisms };
    },
  };

  const authenticate: ApiHandler<Req, Res> = {
    key: 36,
    name: 'SaslAuthenticate',
    minVersion: 0,
    maxVersion: 2,
    preAuth: true,
    async handle(ctx, req) {
      const st = ctx.sasl as SaslState | null | undefined;
      const answer = (
        errorCode: number,
        errorMessage: string | null,
        bytes: Buffer = Buffer.alloc(0),
      ) => ({
        errorCode,
        errorMessage,
        authBytes: bytes,
        sessionLifetimeMs: 0n,
      });
      if (st === null || st === undefined || st.done || st.handshakeVersion === 0) {
        counters.refused++;
        const msg = 'Unexpected SaslAuthenticate: no SaslHandshake v1 in progress';
        return new Close(CloseReason.AuthViolation, msg, answer(KafkaCode.ILLEGAL_SASL_STATE, msg));
      }
      const token = Buffer.isBuffer(req.authBytes) ? Buffer.from(req.authBytes) : Buffer.alloc(0);
      const r = await step(ctx, st, token);
      if (!r.ok) {
        return new Close(
          CloseReason.AuthViolation,
          r.message,
          answer(KafkaCode.SASL_AUTHENTICATION_FAILED, r.message),
        );
      }
      return answer(KafkaCode.NONE, null, r.bytes);
    },
  };

  return {
    name: 'sasl',
    handlers: [handshake, authenticate],
    varz() {
      return {
        sasl_authenticated: counters.authenticated,
        sasl_failed: counters.failed,
        sasl_refused: counters.refused,
        sasl_scram_cache_clears: scram.cacheClears,
      };
    },
  };
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
