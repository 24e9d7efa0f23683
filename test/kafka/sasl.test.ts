/**
 * The pure SASL part (src/protocols/kafka/sasl.ts): PLAIN's message (RFC
 * 4616 §2) and SCRAM's server side checked against RFC 7677 §3's
 * SCRAM-SHA-256 example byte for byte, then a SCRAM-SHA-512 conversation
 * with an independent client written here from RFC 5802 §3, and the
 * refusals (wrong password, unknown user, bcrypt user, replayed or
 * tampered messages).
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  parsePlain,
  type SaslMechanism,
  ScramCredentials,
  ScramServer,
  scramCredential,
} from '../../src/protocols/kafka/sasl.js';

function b(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

/** A SCRAM client from RFC 5802 §3 (independent of the server's code). */
function client(mech: SaslMechanism, user: string, password: string, cnonce: string) {
  const alg = mech === 'SCRAM-SHA-512' ? 'sha512' : 'sha256';
  const size = alg === 'sha512' ? 64 : 32;
  const bare = `n=${user},r=${cnonce}`;
  return {
    first: `n,,${bare}`,
    final(serverFirst: string): { msg: string; expectServer: string } {
      const a = Object.fromEntries(serverFirst.split(',').map((p) => [p[0], p.slice(2)]));
      const salted = pbkdf2Sync(password, Buffer.from(a.s!, 'base64'), Number(a.i), size, alg);
      const clientKey = createHmac(alg, salted).update('Client Key').digest();
      const storedKey = createHash(alg).update(clientKey).digest();
      const noProof = `c=biws,r=${a.r}`;
      const authMessage = `${bare},${serverFirst},${noProof}`;
      const sig = createHmac(alg, storedKey).update(authMessage).digest();
      const proof = Buffer.from(clientKey.map((x, i) => x ^ sig[i]!));
      const serverKey = createHmac(alg, salted).update('Server Key').digest();
      const expectServer = `v=${createHmac(alg, serverKey).update(authMessage).digest('base64')}`;
      return { msg: `${noProof},p=${proof.toString('base64')}`, expectServer };
    },
  };
}

describe('kafka SASL', () => {
  test('PLAIN: authzid, user and password; malformed messages refused', () => {
    assert.deepEqual(parsePlain(b('\0alice\0secret')), {
      authzid: '',
      user: 'alice',
      pass: 'secret',
    });
    assert.deepEqual(parsePlain(b('admin\0alice\0s3')), {
      authzid: 'admin',
      user: 'alice',
      pass: 's3',
    });
    assert.equal(parsePlain(b('alice secret')), null);
    assert.equal(parsePlain(b('\0alice')), null);
    assert.equal(parsePlain(b('\0\0secret')), null, 'an empty user');
    assert.equal(parsePlain(b('\0alice\0')), null, 'an empty password');
    assert.equal(parsePlain(b('\0a\0b\0c')), null, 'a third NUL');
  });

  test('SCRAM-SHA-256: RFC 7677 §3 example, byte for byte', () => {
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const cred = scramCredential('SCRAM-SHA-256', 'pencil', salt, 4096);
    const s = new ScramServer(
      'SCRAM-SHA-256',
      (u) => (u === 'user' ? cred : null),
      () => Buffer.alloc(16),
      () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
    );
    const first = s.step(b('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'));
    assert.ok(first.ok);
    assert.equal(
      first.response.toString(),
      'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    );
    const fin = s.step(
      b(
        'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
      ),
    );
    assert.ok(fin.ok);
    assert.equal(fin.done, true);
    assert.equal(fin.user, 'user');
    assert.equal(fin.response.toString(), 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  });

  for (const mech of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
    test(`${mech}: a conversation with an independent client; wrong password, unknown and bcrypt users fail alike`, () => {
      const creds = new ScramCredentials();
      const users: Record<string, string> = {
        alice: 'wonderland',
        bob: '$2a$11$abcdefghijklmnopqrstuv',
      };
      const server = () =>
        new ScramServer(
          mech,
          (u) => creds.get(mech, u, users[u] ?? null),
          (u) => creds.salt(mech, u),
        );
      const run = (user: string, pass: string) => {
        const s = server();
        const c = client(mech, user, pass, 'fyko+d2lbbFgONRv9qkxdawL');
        const f = s.step(b(c.first));
        assert.ok(f.ok, 'the first message is always answered (no user enumeration)');
        const { msg, expectServer } = c.final(f.response.toString());
        const r = s.step(b(msg));
        return { r, expectServer };
      };
      const good = run('alice', 'wonderland');
      assert.ok(good.r.ok);
      assert.equal(
        good.r.response.toString(),
        good.expectServer,
        'the server proves it knows the key',
      );
      for (const [u, p] of [
        ['alice', 'nope'],
        ['mallory', 'x'],
        ['bob', '$2a$11$abcdefghijklmnopqrstuv'],
      ] as const) {
        const bad = run(u, p);
        assert.equal(bad.r.ok, false, `${u} must fail`);
        if (!bad.r.ok) assert.equal(bad.r.user, u);
      }
      // The cache holds one entry per (mechanism, user, password).
      assert.equal(creds.cacheClears, 0);
    });
  }

  test('SCRAM refusals: bad first message, channel binding, a nonce that is not ours, a third message', () => {
    const creds = new ScramCredentials();
    const mk = () =>
      new ScramServer(
        'SCRAM-SHA-256',
        (u) => creds.get('SCRAM-SHA-256', u, u === 'a' ? 'pw' : null),
        (u) => creds.salt('SCRAM-SHA-256', u),
      );
    assert.equal(mk().step(b('garbage')).ok, false);
    assert.equal(mk().step(b('p=tls-unique,,n=a,r=x')).ok, false, 'channel binding is not offered');
    assert.equal(mk().step(b('n,,n=a')).ok, false, 'no nonce');
    assert.equal(mk().step(b('n,,n=a=2,r=x')).ok, false, 'a bad saslname escape');
    const s = mk();
    const c = client('SCRAM-SHA-256', 'a', 'pw', 'abc');
    const f = s.step(b(c.first));
    assert.ok(f.ok);
    const { msg } = c.final(f.response.toString());
    assert.equal(s.step(b(msg.replace(/r=abc/, 'r=abd'))).ok, false, 'a nonce that is not ours');
    assert.equal(s.step(b(msg)).ok, false, 'the conversation is over after a failure');
  });
});
