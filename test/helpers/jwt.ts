/**
 * Mints nats JWTs at test time with @nats-io/jwt, as `nsc` would: an
 * operator (with a signing key), accounts issued by it, users issued by an
 * account or one of its signing keys, and the `.creds` file a client reads.
 */
import {
  type Account,
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
  type User,
} from '@nats-io/jwt';
import { createAccount, createOperator, createUser, type KeyPair } from '@nats-io/nkeys';
import type { Credentials } from '../../src/auth/types.js';

export interface Minted {
  kp: KeyPair;
  pub: string;
  jwt: string;
}

export interface TestOperator extends Minted {
  /** The operator's signing key: accounts in these tests are issued by it. */
  signer: KeyPair;
}

export async function mintOperator(systemAccount?: string): Promise<TestOperator> {
  const kp = createOperator();
  const signer = createOperator();
  const jwt = await encodeOperator('OP', kp, {
    signing_keys: [signer.getPublicKey()],
    ...(systemAccount === undefined ? {} : { system_account: systemAccount }),
  });
  return { kp, pub: kp.getPublicKey(), jwt, signer };
}

/** An account's limits as `nsc` writes them by default (a missing one is 0 for nats-server). */
export const UNLIMITED = Object.freeze({
  conn: -1,
  subs: -1,
  payload: -1,
  data: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  leaf: -1,
});

/** An account issued by the operator's signing key (or `signer`). */
export async function mintAccount(
  op: TestOperator,
  nats: Partial<Account> = {},
  opts: { exp?: number; nbf?: number; signer?: KeyPair; kp?: KeyPair; name?: string } = {},
): Promise<Minted> {
  const kp = opts.kp ?? createAccount();
  const jwt = await encodeAccount(
    opts.name ?? 'ACC',
    kp,
    { limits: UNLIMITED, ...nats },
    { signer: opts.signer ?? op.signer, exp: opts.exp, nbf: opts.nbf },
  );
  return { kp, pub: kp.getPublicKey(), jwt };
}

/** A user issued by the account, or by `signer` (one of its signing keys). */
export async function mintUser(
  account: Minted,
  nats: Partial<User> = {},
  opts: { exp?: number; nbf?: number; signer?: KeyPair; scoped?: boolean } = {},
): Promise<Minted> {
  const kp = createUser();
  const jwt = await encodeUser(
    'U',
    kp,
    opts.signer === undefined ? account.kp : account.pub,
    nats,
    {
      signer: opts.signer,
      scopedUser: opts.scoped,
      exp: opts.exp,
      nbf: opts.nbf,
    },
  );
  return { kp, pub: kp.getPublicKey(), jwt };
}

/** The `.creds` file text (the JWT and the seed between nats's markers). */
export function credsText(user: Minted): string {
  return new TextDecoder().decode(fmtCreds(user.jwt, user.kp));
}

export function signNonce(kp: KeyPair, nonce: string): string {
  return Buffer.from(kp.sign(new TextEncoder().encode(nonce))).toString('base64url');
}

/** What a NATS client presents in CONNECT for `user` (signing `nonce` with `signer`). */
export function jwtCredentials(
  user: Minted,
  nonce = 'test-nonce-1',
  signer: KeyPair = user.kp,
  remoteAddress = '127.0.0.1',
): Credentials {
  return {
    face: 'nats',
    remoteAddress,
    user: '',
    pass: '',
    token: '',
    nkey: '',
    sig: signNonce(signer, nonce),
    jwt: user.jwt,
    nonce,
    cert: null,
  };
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
