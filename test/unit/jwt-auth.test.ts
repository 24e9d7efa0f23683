/**
 * The JWT verifier (operator mode): every refusal with its reason, and what
 * an accepted user's claims become (account named by its public key,
 * permissions, limits, expiry). JWTs are minted at test time.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { encodeUser, newScopedSigner } from '@nats-io/jwt';
import { createAccount, createOperator, createUser, fromPublic } from '@nats-io/nkeys';
import { Authenticator } from '../../src/auth/authenticator.js';
import { parseSecurity } from '../../src/auth/config.js';
import { VERIFY_KEY_CACHE_MAX, verifySignature } from '../../src/auth/jwt.js';
import { JwtAuthenticator, USER_JWT_CACHE_MAX } from '../../src/auth/jwt-auth.js';
import { ACCOUNT_JWT_CACHE_MAX } from '../../src/auth/jwt-resolver.js';
import type { AuthResult, Credentials, OperatorConfig } from '../../src/auth/types.js';
import { Accounts } from '../../src/core/account.js';
import { ConfigError } from '../../src/errors.js';
import {
  jwtCredentials,
  type Minted,
  mintAccount,
  mintOperator,
  mintUser,
  nowSeconds,
  type TestOperator,
  UNLIMITED,
} from '../helpers/jwt.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'weft-jwt-'));
  dirs.push(d);
  return d;
}

function memory(op: TestOperator, ...accounts: Minted[]): OperatorConfig {
  return {
    jwts: [op.jwt],
    resolver: { kind: 'memory' },
    preload: Object.fromEntries(accounts.map((a) => [a.pub, a.jwt])),
  };
}

async function auth(a: JwtAuthenticator, c: Credentials): Promise<AuthResult> {
  return await a.authenticate(c);
}

async function refused(a: JwtAuthenticator, c: Credentials, why: RegExp): Promise<void> {
  const r = await auth(a, c);
  assert.equal(r.ok, false, 'expected a refusal');
  if (!r.ok) assert.match(r.why, why);
}

async function accepted(a: JwtAuthenticator, c: Credentials) {
  const r = await auth(a, c);
  if (!r.ok) assert.fail(`refused: ${r.why}`);
  return r.identity;
}

describe('JWT authentication: accepted users', () => {
  test('a user issued by its account: account named by its public key, user by its', async () => {
    const op = await mintOperator();
    const acc = await mintAccount(op);
    const user = await mintUser(acc);
    const accounts = new Accounts();
    const a = new JwtAuthenticator(memory(op, acc), accounts);
    const id = await accepted(a, jwtCredentials(user));
    assert.equal(id.user, user.pub);
    assert.equal(id.account.name, acc.pub);
    assert.equal(id.account, accounts.get(acc.pub));
    assert.equal(id.method, 'jwt');
    assert.equal(id.permissions, null);
    assert.equal(id.expiresAt, 0);
    assert.equal(id.limits.maxSubscriptions, 0);
  });

  test('an account issued by the operator identity key itself is trusted too', async () => {
    const op = await mintOperator();
    const acc = await mintAccount(op, {}, { signer: op.kp });
    const user = await mintUser(acc);
    await accepted(new JwtAuthenticator(memory(op, acc), new Accounts()), jwtCredentials(user));
  });

  test('strict signing key usage: an account issued by the operator identity key is untrusted', async () => {
    const { encodeOperator } = await import('@nats-io/jwt');
    const op = await mintOperator();
    const strictJwt = await encodeOperator('OP', op.kp, {
      signing_keys: [op.signer.getPublicKey()],
      strict_signing_key_usage: true,
    } as Record<string, unknown>);
    const strict = { ...op, jwt: strictJwt };
    const bySigner = await mintAccount(strict);
    const byIdentity = await mintAccount(strict, {}, { signer: op.kp });
    const a = new JwtAuthenticator(memory(strict, bySigner), new Accounts());
    await accepted(a, jwtCredentials(await mintUser(bySigner)));
    assert.throws(
      () => new JwtAuthenticator(memory(strict, byIdentity), new Accounts()),
      (err: unknown) => err instanceof ConfigError && /untrusted issuer/.test(err.message),
    );
  });

  test('a user issued by an account signing key, with issuer_account', async () => {
    const op = await mintOperator();
    const sk = createAccount();
    const acc = await mintAccount(op, { signing_keys: [sk.getPublicKey()] });
    const user = await mintUser(acc, { pub: { allow: ['a.>'] } }, { signer: sk });
    const id = await accepted(
      new JwtAuthenticator(memory(op, acc), new Accounts()),
      jwtCredentials(user),
    );
    assert.equal(id.account.name, acc.pub);
    assert.ok(id.permissions?.canPublish('a.b'));
    assert.equal(id.permissions?.canPublish('b'), false);
  });

  test('a scoped signing key: its template gives the permissions and limits', async () => {
    const op = await mintOperator();
    const sk = createAccount();
    const scope = newScopedSigner(sk, 'ro', { sub: { allow: ['ro.>'], deny: [] }, subs: 5 });
    const acc = await mintAccount(op, { signing_keys: [scope] });
    const user = await mintUser(acc, {}, { signer: sk, scoped: true });
    const id = await accepted(
      new JwtAuthenticator(memory(op, acc), new Accounts()),
      jwtCredentials(user),
    );
    assert.ok(id.permissions?.canSubscribe('ro.x', ''));
    assert.equal(id.permissions?.canSubscribe('rw.x', ''), false);
    assert.equal(id.limits.maxSubscriptions, 5);
  });

  test('permissions: pub/sub allow and deny, resp (ttl in ns) → allow_responses', async () => {
    const op = await mintOperator();
    const acc = await mintAccount(op);
    const user = await mintUser(acc, {
      pub: { allow: ['orders.>'], deny: ['orders.secret'] },
      sub: { allow: ['events.*', 'jobs.> workers'], deny: [] },
      resp: { max: 3, ttl: 5_000_000_000 },
    });
    const id = await accepted(
      new JwtAuthenticator(memory(op, acc), new Accounts()),
      jwtCredentials(user),
    );
    const p = id.permissions;
    assert.ok(p !== null);
    assert.ok(p.canPublish('orders.new'));
    assert.equal(p.canPublish('orders.secret'), false);
    assert.ok(p.canSubscribe('events.x', ''));
    assert.equal(p.canSubscribe('jobs.a', ''), false);
    assert.ok(p.canSubscribe('jobs.a', 'workers'));
    assert.deepEqual(p.responses, { max: 3, expiresMs: 5000 });
  });

  test("the account's default_permissions apply to a user that sets none", async () => {
    const op = await mintOperator();
    const acc = await mintAccount(op, {
      default_permissions: { pub: { allow: ['d.>'], deny: [] } },
    });
    const plain = await mintUser(acc);
    const own = await mintUser(acc, { pub: { allow: ['own'] } });
    const a = new JwtAuthenticator(memory(op, acc), new Accounts());
    const p1 = (await accepted(a, jwtCredentials(plain))).permissions;
    assert.ok(p1?.canPublish('d.x'));
    assert.equal(p1?.canPublish('own'), false);
    const p2 = (await accepted(a, jwtCredentials(own))).permissions;
    assert.ok(p2?.canPublish('own'));
    assert.equal(p2?.canPublish('d.x'), false);
  });

  test('limits: subs and payload are the tighter of user and account; conn and JetStream on the account', async () => {
    const op = await mintOperator();
    const acc = await mintAccount(op, {
      limits: {
        ...UNLIMITED,
        conn: 7,
        subs: 10,
        payload: 1000,
        data: -1,
        mem_storage: 1 << 20,
        disk_storage: -1,
        streams: 3,
        consumer: 4,
      },
    });
    const user = await mintUser(acc, { subs: 20, payload: 500 });
    const accounts = new Accounts();
    const a = new JwtAuthenticator(memory(op, acc), accounts);
    const id = await accepted(a, jwtCredentials(user));
    assert.equal(id.limits.maxSubscriptions, 10);
    assert.equal(id.limits.maxPayload, 500);
    const cfg = a.accountConfig(acc.pub);
    assert.equal(cfg?.limits.maxConnections, 7);
    assert.deepEqual(cfg?.jetstream, {
      enabled: true,
      maxStreams: 3,
      maxConsumers: 4,
      maxStore: -1,
      maxMemory: 1 << 20,
    });
    // The Authenticator asks the operator about accounts it does not configure itself.
    const security = parseSecurity({ operator: op.jwt }).security;
    const authn = new Authenticator(security, accounts, a);
    assert.equal(authn.required, true);
    assert.equal(authn.nonceNeeded, true);
    assert.equal(authn.accountLimits(id.account).maxConnections, 7);
    assert.equal(authn.accountConfig(acc.pub)?.name, acc.pub);
    const viaAuthn = await authn.authenticate(jwtCredentials(user));
    assert.equal(viaAuthn.ok, true);
  });

  test('expiresAt is the earlier of the user and account exp', async () => {
    const op = await mintOperator();
    const acc = await mintAccount(op, {}, { exp: nowSeconds() + 100 });
    const user = await mintUser(acc, {}, { exp: nowSeconds() + 50 });
    const id = await accepted(
      new JwtAuthenticator(memory(op, acc), new Accounts()),
      jwtCredentials(user),
    );
    assert.ok(id.expiresAt > Date.now() && id.expiresAt <= Date.now() + 51_000);
  });

  test('a bearer user needs no signature, unless the account disallows bearer tokens', async () => {
    const op = await mintOperator();
    const acc = await mintAccount(op);
    const strict = await mintAccount(op, {
      limits: { ...UNLIMITED, disallow_bearer: true },
    });
    const a = new JwtAuthenticator(memory(op, acc, strict), new Accounts());
    const bearer = await mintUser(acc, { bearer_token: true });
    await accepted(a, { ...jwtCredentials(bearer), sig: '', nonce: '' });
    const refusedBearer = await mintUser(strict, { bearer_token: true });
    await refused(a, { ...jwtCredentials(refusedBearer), sig: '' }, /bearer tokens are disallowed/);
  });

  test('the system account: the config names it, else the operator JWT does', async () => {
    const sys = createAccount().getPublicKey();
    const op = await mintOperator(sys);
    assert.equal(new JwtAuthenticator(memory(op), new Accounts()).systemAccount, sys);
    const other = createAccount().getPublicKey();
    assert.equal(new JwtAuthenticator(memory(op), new Accounts(), other).systemAccount, other);
  });
});

describe('signature checks', () => {
  test('verifySignature (node:crypto) agrees with @nats-io/nkeys on good, altered and foreign signatures', () => {
    const kinds = [createUser, createAccount, createOperator];
    for (let i = 0; i < 60; i++) {
      const kp = kinds[i % 3]();
      const other = kinds[i % 3]();
      const data = randomBytes(1 + (i % 40)).toString('base64url');
      const sig = kp.sign(Buffer.from(data));
      const altered = Buffer.from(sig);
      altered[i % 64] ^= 1 << (i % 8);
      const pub = kp.getPublicKey();
      for (const [key, s] of [
        [pub, sig],
        [pub, altered],
        [other.getPublicKey(), sig],
      ] as const) {
        const b64 = Buffer.from(s).toString('base64url');
        const expected = fromPublic(key).verify(Buffer.from(data), s);
        assert.equal(verifySignature(key, data, b64), expected, `case ${i}`);
      }
      assert.equal(verifySignature(pub, data, Buffer.from(sig).toString('base64url')), true);
    }
    // A key with a broken checksum or a truncated signature verifies nothing.
    const kp = createUser();
    const sig = Buffer.from(kp.sign(Buffer.from('x'))).toString('base64url');
    const pub = kp.getPublicKey();
    const broken = `${pub.slice(0, 10)}${pub[10] === 'A' ? 'B' : 'A'}${pub.slice(11)}`;
    assert.equal(verifySignature(broken, 'x', sig), false);
    assert.equal(verifySignature(pub, 'x', sig.slice(0, 40)), false);
    assert.equal(VERIFY_KEY_CACHE_MAX, 4096);
  });
});

describe('JWT authentication: refusals', () => {
  test('no JWT, a malformed JWT, a JWT of the wrong type', async () => {
    const op = await mintOperator();
    const acc = await mintAccount(op);
    const user = await mintUser(acc);
    const a = new JwtAuthenticator(memory(op, acc), new Accounts());
    await refused(a, { ...jwtCredentials(user), jwt: '' }, /no user JWT presented/);
    await refused(a, { ...jwtCredentials(user), jwt: 'not.a-jwt' }, /malformed/);
    await refused(a, { ...jwtCredentials(user), jwt: 'e30.e30.e30' }, /only v2 nats JWTs/);
    await refused(a, { ...jwtCredentials(user), jwt: acc.jwt }, /user JWT is of type "account"/);
  });

  test('a user JWT whose claims were altered: bad signature', async () => {
    const op = await mintOperator();
    const acc = await mintAccount(op);
    const user = await mintUser(acc, { pub: { allow: ['a'] } });
    const [h, c, s] = user.jwt.split('.');
    const claims = JSON.parse(Buffer.from(c, 'base64url').toString());
    claims.nats.pub.allow = ['>'];
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    const a = new JwtAuthenticator(memory(op, acc), new Accounts());
    await refused(a, { ...jwtCredentials(user), jwt: forged }, /user JWT U\w+: bad signature/);
  });

  test('the nonce signed by another key, or not signed', async () => {
    const op = await mintOperator();
    const acc = await mintAccount(op);
    const user = await mintUser(acc);
    const a = new JwtAuthenticator(memory(op, acc), new Accounts());
    await refused(a, jwtCredentials(user, 'n1', createUser()), /bad signature of the nonce/);
    await refused(a, { ...jwtCredentials(user), sig: '' }, /no signature of the nonce/);
    // A signature of another nonce (a replay) is refused as well.
    await refused(
      a,
      { ...jwtCredentials(user, 'old'), nonce: 'new' },
      /bad signature of the nonce/,
    );
  });

  test('an expired user, a user not yet valid, an expired account', async () => {
    const op = await mintOperator();
    const acc = await mintAccount(op);
    const old = await mintAccount(op, {}, { exp: nowSeconds() - 10 });
    const a = new JwtAuthenticator(memory(op, acc, old), new Accounts());
    const expired = await mintUser(acc, {}, { exp: nowSeconds() - 5 });
    await refused(a, jwtCredentials(expired), /user U\w+ JWT expired at/);
    const early = await mintUser(acc, {}, { nbf: nowSeconds() + 3600 });
    await refused(a, jwtCredentials(early), /JWT is not valid before/);
    const ofOld = await mintUser(old);
    await refused(a, jwtCredentials(ofOld), new RegExp(`account ${old.pub} JWT expired`));
  });

  test('an unknown account (memory resolver)', async () => {
    const op = await mintOperator();
    const acc = await mintAccount(op);
    const stranger = await mintAccount(op);
    const a = new JwtAuthenticator(memory(op, acc), new Accounts());
    await refused(
      a,
      jwtCredentials(await mintUser(stranger)),
      new RegExp(`unknown account ${stranger.pub} \\(not in resolver_preload\\)`),
    );
  });

  test('an account issued by another operator: untrusted issuer', async () => {
    const op = await mintOperator();
    const rogue = await mintOperator();
    const acc = await mintAccount(rogue);
    // In resolver_preload, it stops the start with the key named.
    assert.throws(
      () => new JwtAuthenticator(memory(op, acc), new Accounts()),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.key === `resolver_preload.${acc.pub}` &&
        /untrusted issuer/.test(err.message),
    );
    // In a directory, the user is refused.
    const dir = tempDir();
    writeFileSync(join(dir, `${acc.pub}.jwt`), acc.jwt);
    const a = new JwtAuthenticator(
      { jwts: [op.jwt], resolver: { kind: 'dir', dir }, preload: {} },
      new Accounts(),
    );
    await refused(a, jwtCredentials(await mintUser(acc)), /untrusted issuer/);
  });

  test('a user issued by a key that is neither the account nor its signing key', async () => {
    const op = await mintOperator();
    const acc = await mintAccount(op);
    const rogueSigner = createAccount();
    const ukp = createUser();
    const jwt = await encodeUser('U', ukp, acc.pub, {}, { signer: rogueSigner });
    const user = { kp: ukp, pub: ukp.getPublicKey(), jwt };
    const a = new JwtAuthenticator(memory(op, acc), new Accounts());
    await refused(a, jwtCredentials(user), /is neither account A\w+ nor one of its signing keys/);
    // Issued by another account, naming this one in issuer_account: same refusal.
    const other = await mintAccount(op);
    const jwt2 = await encodeUser('U', ukp, acc.pub, {}, { signer: other.kp });
    await refused(a, { ...jwtCredentials(user), jwt: jwt2 }, /neither account/);
  });

  test('a user issued by a scoped signing key that sets its own permissions', async () => {
    const op = await mintOperator();
    const sk = createAccount();
    const acc = await mintAccount(op, { signing_keys: [newScopedSigner(sk, 'r', {})] });
    const user = await mintUser(acc, { pub: { allow: ['>'] } }, { signer: sk, scoped: true });
    const a = new JwtAuthenticator(memory(op, acc), new Accounts());
    await refused(a, jwtCredentials(user), /scoped signing key, yet sets its own permissions/);
  });

  test('revocations: a user issued at or before the revocation is refused; after, accepted', async () => {
    const op = await mintOperator();
    const akp = createAccount();
    // Users are minted before the account JWT that revokes them.
    const probe = { kp: akp, pub: akp.getPublicKey(), jwt: '' };
    const early = await mintUser(probe);
    const acc = await mintAccount(
      op,
      { revocations: { [early.pub]: nowSeconds() + 5 } },
      { kp: akp },
    );
    const a = new JwtAuthenticator(memory(op, acc), new Accounts());
    await refused(a, jwtCredentials(early), /revoked by account/);
    // Revoked before it was issued: still valid.
    const later = await mintUser(probe);
    const acc2 = await mintAccount(
      op,
      { revocations: { [later.pub]: nowSeconds() - 60 } },
      { kp: akp },
    );
    await accepted(new JwtAuthenticator(memory(op, acc2), new Accounts()), jwtCredentials(later));
    // `*` revokes every user issued at or before it.
    const all = await mintAccount(op, { revocations: { '*': nowSeconds() + 5 } }, { kp: akp });
    await refused(
      new JwtAuthenticator(memory(op, all), new Accounts()),
      jwtCredentials(later),
      /revoked by account .* all users/,
    );
  });

  test('connection types and source addresses', async () => {
    const op = await mintOperator();
    const acc = await mintAccount(op);
    const a = new JwtAuthenticator(memory(op, acc), new Accounts());
    const wsOnly = await mintUser(acc, { allowed_connection_types: ['WEBSOCKET'] });
    await refused(a, jwtCredentials(wsOnly), /connection type STANDARD is not allowed/);
    const std = await mintUser(acc, { allowed_connection_types: ['STANDARD'] });
    await accepted(a, jwtCredentials(std));
    const lan = await mintUser(acc, { src: ['10.0.0.0/8'] });
    await refused(a, jwtCredentials(lan), /source address 127.0.0.1 is not allowed/);
    await accepted(a, jwtCredentials(lan, 'n', lan.kp, '::ffff:10.1.2.3'));
    // Claims that cannot be read refuse, with the reason; nothing throws.
    const bad = await mintUser(acc, { src: ['10.0.0.0/99'] });
    await refused(a, jwtCredentials(bad), /user U\w+: invalid JWT claims: RangeError/);
    const badRule = await mintUser(acc, { pub: { allow: ['a..b'] } });
    await refused(a, jwtCredentials(badRule), /user U\w+\.pub\.allow "a\.\.b"/);
  });

  test('what Weft does not support is refused, never ignored: times, subs 0, conn 0', async () => {
    const op = await mintOperator();
    const acc = await mintAccount(op);
    const closed = await mintAccount(op, { limits: { ...UNLIMITED, conn: 0 } });
    const a = new JwtAuthenticator(memory(op, acc, closed), new Accounts());
    const timed = await mintUser(acc, { times: [{ start: '08:00:00', end: '17:00:00' }] });
    await refused(a, jwtCredentials(timed), /time-restricted users/);
    await refused(
      a,
      jwtCredentials(await mintUser(acc, { subs: 0 })),
      /limit of 0 \(or an account.s absent one\) is not supported/,
    );
    await refused(a, jwtCredentials(await mintUser(closed)), /allows no connections/);
    // As nats-server reads them, an account's missing limits are 0: no limits, no connections;
    // more exports (or imports) than its limits allow refuses its users.
    const bare = await mintAccount(op, { limits: undefined });
    const noExports = await mintAccount(op, {
      limits: { conn: -1, subs: -1, payload: -1, data: -1 },
      exports: [{ name: 'n', subject: 'news.>', type: 'stream' }],
    });
    const b = new JwtAuthenticator(memory(op, bare, noExports), new Accounts());
    await refused(
      b,
      jwtCredentials(await mintUser(bare)),
      /allows no connections \(limits.conn 0 or absent\)/,
    );
    await refused(
      b,
      jwtCredentials(await mintUser(noExports)),
      /is refused: it has 1 exports, more than its limits.exports 0/,
    );
  });
});

describe('JWT authentication: operator and resolver configuration', () => {
  test('operator from a file (bare or between markers), or inline; an expired operator stops the start', async () => {
    const op = await mintOperator();
    const acc = await mintAccount(op);
    const user = await mintUser(acc);
    const dir = tempDir();
    const bare = join(dir, 'op.jwt');
    writeFileSync(bare, `${op.jwt}\n`);
    const decorated = join(dir, 'op-decorated.jwt');
    writeFileSync(
      decorated,
      `-----BEGIN NATS OPERATOR JWT-----\n${op.jwt}\n------END NATS OPERATOR JWT------\n`,
    );
    for (const entry of [bare, decorated, op.jwt]) {
      const a = new JwtAuthenticator({ ...memory(op, acc), jwts: [entry] }, new Accounts());
      await accepted(a, jwtCredentials(user));
    }
    assert.throws(
      () =>
        new JwtAuthenticator(
          { ...memory(op, acc), jwts: [join(dir, 'missing.jwt')] },
          new Accounts(),
        ),
      (err: unknown) =>
        err instanceof ConfigError && err.key === 'operator[0]' && /cannot read/.test(err.message),
    );
    const { encodeOperator } = await import('@nats-io/jwt');
    const expired = await encodeOperator('OLD', createOperator(), {}, { exp: nowSeconds() - 1 });
    assert.throws(
      () => new JwtAuthenticator({ ...memory(op), jwts: [expired] }, new Accounts()),
      (err: unknown) => err instanceof ConfigError && /operator JWT expired/.test(err.message),
    );
  });

  test('dir resolver: read on demand, unknown file refused, re-read after reload', async () => {
    const op = await mintOperator();
    const akp = createAccount();
    const acc = await mintAccount(op, {}, { kp: akp });
    const user = await mintUser(acc);
    const dir = tempDir();
    const a = new JwtAuthenticator(
      { jwts: [op.jwt], resolver: { kind: 'dir', dir }, preload: {} },
      new Accounts(),
    );
    await refused(
      a,
      jwtCredentials(user),
      new RegExp(`unknown account ${acc.pub} \\(no .*${acc.pub}\\.jwt\\)`),
    );
    writeFileSync(join(dir, `${acc.pub}.jwt`), acc.jwt);
    await accepted(a, jwtCredentials(user));
    await accepted(a, jwtCredentials(user));
    assert.equal(a.resolver.reads, 2, 'the second connection used the cache');
    // A revocation written to the file takes effect after reload (SIGHUP).
    const revoked = await mintAccount(
      op,
      { revocations: { [user.pub]: nowSeconds() + 5 } },
      { kp: akp },
    );
    writeFileSync(join(dir, `${acc.pub}.jwt`), revoked.jwt);
    await accepted(a, jwtCredentials(user));
    a.reload();
    await refused(a, jwtCredentials(user), /revoked/);
  });

  test('dir resolver: the account cache is bounded and evictions are counted', async () => {
    assert.equal(ACCOUNT_JWT_CACHE_MAX, 1000);
    assert.equal(USER_JWT_CACHE_MAX, 1024);
    const op = await mintOperator();
    const dir = tempDir();
    const { AccountResolver } = await import('../../src/auth/jwt-resolver.js');
    const trusted = new Set([op.pub, op.signer.getPublicKey()]);
    const r = new AccountResolver(
      { jwts: [], resolver: { kind: 'dir', dir }, preload: {} },
      trusted,
      2,
    );
    const accs = [await mintAccount(op), await mintAccount(op), await mintAccount(op)];
    for (const x of accs) writeFileSync(join(dir, `${x.pub}.jwt`), x.jwt);
    for (const x of accs) await r.lookup(x.pub);
    assert.equal(r.evictions, 1);
    assert.equal(r.cached(accs[0].pub), null, 'the least recently used was dropped');
    assert.ok(r.cached(accs[2].pub) !== null);
  });

  test("config: nats-server's full resolver block; limit bounds the account cache", async () => {
    const op = await mintOperator();
    const s = parseSecurity({
      operator: op.jwt,
      resolver: {
        type: 'full',
        dir: '/srv/jwt',
        allow_delete: false,
        interval: '2m',
        timeout: '1.9s',
        limit: 5,
      },
    }).security;
    assert.deepEqual(s.operator?.resolver, { kind: 'dir', dir: '/srv/jwt', limit: 5 });
    assert.ok(s.operator !== null);
    assert.equal(new JwtAuthenticator(s.operator, new Accounts()).resolver.cacheMax, 5);
    assert.throws(
      () => parseSecurity({ operator: op.jwt, resolver: { type: 'full', dir: '/d', limit: 0 } }),
      (err: unknown) => err instanceof ConfigError && err.key === 'resolver.limit',
    );
    assert.throws(
      () =>
        parseSecurity({
          operator: op.jwt,
          resolver: 'URL(http://localhost:9090/jwt/v1/accounts/)',
        }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.key === 'resolver' &&
        /URL resolvers are not supported/.test(err.message),
    );
  });

  test('config: operator with resolver MEMORY and resolver_preload, as nats-server writes it', async () => {
    const op = await mintOperator();
    const acc = await mintAccount(op);
    const s = parseSecurity({
      operator: op.jwt,
      resolver: 'MEMORY',
      resolver_preload: { [acc.pub]: acc.jwt },
    }).security;
    assert.ok(s.operator !== null);
    const a = new JwtAuthenticator(s.operator, new Accounts(), s.systemAccount);
    await accepted(a, jwtCredentials(await mintUser(acc)));
  });
});
