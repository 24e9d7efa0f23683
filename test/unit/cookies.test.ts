/**
 * The Cookie header reader (src/connection/cookies.ts): RFC 6265's syntax as
 * browsers send it, read leniently as nats-server (Go's net/http) does, and
 * random headers that must never throw nor yield a value with a forbidden byte.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cookieValues, isCookieName } from '../../src/connection/cookies.js';

const want = (...names: string[]) => new Set(names);
const read = (header: string | string[] | undefined, ...names: string[]) =>
  Object.fromEntries(cookieValues(header, want(...names)));

describe('cookieValues', () => {
  test('reads the cookies asked for, in a browser header', () => {
    assert.deepEqual(read('a=1; jwt=eyJ.x-y_z; b=2', 'jwt', 'b'), { jwt: 'eyJ.x-y_z', b: '2' });
    assert.deepEqual(read('a=1', 'jwt'), {});
    assert.deepEqual(read(undefined, 'jwt'), {});
    assert.deepEqual(read('', 'jwt'), {});
    assert.deepEqual(read('jwt=abc', ...[]), {});
  });

  test('spaces and tabs around pairs, names and values are ignored; an empty value is a value', () => {
    assert.deepEqual(read('  a = 1 ;\tb=2\t;c=', 'a', 'b', 'c'), { a: '1', b: '2', c: '' });
    assert.deepEqual(read(';;; a=1;;', 'a'), { a: '1' });
  });

  test('one pair of surrounding double quotes is removed; a lone or inner quote skips the pair', () => {
    assert.deepEqual(read('t="s3cret"', 't'), { t: 's3cret' });
    assert.deepEqual(read('t=""', 't'), { t: '' });
    assert.deepEqual(read('t="abc', 't'), {});
    assert.deepEqual(read('t=a"b', 't'), {});
    assert.deepEqual(read('t=""x""', 't'), {});
  });

  test('a value with a byte outside 0x20-0x7E, or \\ is skipped; a later good one still counts', () => {
    assert.deepEqual(read('t=a\\b', 't'), {});
    assert.deepEqual(read('t=caf\u00e9', 't'), {});
    assert.deepEqual(read('t=a\u0000b', 't'), {});
    assert.deepEqual(read('t=a\u007fb; u=ok', 't', 'u'), { u: 'ok' });
    // Space and comma inside a value: Go accepts them, so does this reader.
    assert.deepEqual(read('t=a b,c', 't'), { t: 'a b,c' });
  });

  test('a pair without = or with a name that is not a token is skipped', () => {
    assert.deepEqual(read('jwt; a=1', 'jwt', 'a'), { a: '1' });
    assert.deepEqual(read('j(w)t=1', 'j(w)t'), {});
    assert.deepEqual(read('=1', ''), {});
  });

  test('names are case-sensitive; the last of duplicates wins (as nats-server)', () => {
    assert.deepEqual(read('JWT=1; jwt=2', 'jwt'), { jwt: '2' });
    assert.deepEqual(read('jwt=1; jwt=2', 'jwt'), { jwt: '2' });
    assert.deepEqual(read(['jwt=1', 'jwt=3; x=1'], 'jwt'), { jwt: '3' });
  });

  test('a value may hold =', () => {
    assert.deepEqual(read('t=a=b==', 't'), { t: 'a=b==' });
  });

  test('a huge header (1 MiB of pairs) is read, the wanted cookie found at its end', () => {
    const pairs: string[] = [];
    for (let i = 0, size = 0; size < 1024 * 1024; i++) {
      pairs.push(`c${i}=${'v'.repeat(40)}`);
      size += pairs[i]!.length + 2;
    }
    pairs.push('jwt=last');
    assert.deepEqual(read(pairs.join('; '), 'jwt'), { jwt: 'last' });
    // One huge value is a value like any other.
    const big = 'x'.repeat(1024 * 1024);
    assert.equal(cookieValues(`t=${big}`, want('t')).get('t')?.length, big.length);
  });

  test('fuzz: random headers never throw, and every value found has only allowed bytes', () => {
    const alphabet = 'ab=; "\t\\,\u0000\u00e9\u007f=t';
    let seed = 13;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let k = 0; k < 5000; k++) {
      let h = '';
      const len = rnd(40);
      for (let i = 0; i < len; i++) h += alphabet[rnd(alphabet.length)];
      const got = cookieValues(h, want('t', 'a', 'ab'));
      for (const v of got.values()) {
        assert.match(v, /^[\x20-\x7e]*$/, JSON.stringify(h));
        assert.doesNotMatch(v, /[";\\]/, JSON.stringify(h));
      }
    }
  });
});

describe('isCookieName', () => {
  test('tokens only', () => {
    assert.ok(isCookieName('nats_jwt'));
    assert.ok(isCookieName("a!#$%&'*+-.^_`|~9"));
    for (const bad of ['', 'a b', 'a=b', 'a;b', 'a,b', '(a)', 'é', 'a"b']) {
      assert.equal(isCookieName(bad), false, bad);
    }
  });
});
