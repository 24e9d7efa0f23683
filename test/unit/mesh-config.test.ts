/**
 * Link URLs (`mesh.links`, `--link`): weft://host:port with an optional
 * ?cost=N; anything else is a ConfigError naming the key it came from.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { parseLinkUrl } from '../../src/mesh/dialer.js';

describe('parseLinkUrl', () => {
  test('host and port, cost 1 by default', () => {
    assert.deepEqual(parseLinkUrl('weft://127.0.0.1:7422'), {
      text: 'weft://127.0.0.1:7422',
      host: '127.0.0.1',
      port: 7422,
      cost: 1,
    });
    const named = parseLinkUrl('weft://hub.example:9000');
    assert.equal(named.host, 'hub.example');
    assert.equal(named.port, 9000);
  });

  test('no port: the default mesh port', () => {
    assert.equal(parseLinkUrl('weft://hub.example').port, 7422);
  });

  test('?cost=N', () => {
    assert.equal(parseLinkUrl('weft://10.0.0.9:7422?cost=10').cost, 10);
    assert.equal(parseLinkUrl('weft://10.0.0.9:7422?cost=1').cost, 1);
    assert.equal(parseLinkUrl('weft://10.0.0.9:7422?cost=1000000').cost, 1_000_000);
  });

  test('IPv6 in brackets: the host without them', () => {
    const u = parseLinkUrl('weft://[::1]:7423?cost=3');
    assert.deepEqual([u.host, u.port, u.cost], ['::1', 7423, 3]);
    assert.equal(parseLinkUrl('weft://[fe80::1:2]').host, 'fe80::1:2');
  });

  const refused: Array<[string, RegExp]> = [
    ['nats://127.0.0.1:4222', /scheme must be weft:\/\/ \(got nats:\/\/\)/],
    ['http://127.0.0.1:7422', /scheme must be weft/],
    ['tcp://127.0.0.1:7422', /scheme must be weft/],
    ['127.0.0.1:7422', /./],
    ['', /not a URL/],
    ['garbage', /not a URL/],
    ['weft://', /no host|not a URL/],
    ['weft:h:1', /no host/],
    ['weft://:7422', /not a URL|no host/],
    ['weft://h:99999', /not a URL/],
    ['weft://h:port', /not a URL/],
    ['weft://h:1?cost=0', /cost must be a whole number from 1 to 1000000/],
    ['weft://h:1?cost=-2', /cost must be/],
    ['weft://h:1?cost=1.5', /cost must be/],
    ['weft://h:1?cost=abc', /cost must be/],
    ['weft://h:1?cost=', /cost must be/],
    ['weft://h:1?cost=1000001', /cost must be/],
  ];
  for (const [text, re] of refused) {
    test(`refuses ${JSON.stringify(text)} with a ConfigError naming the key`, () => {
      for (const key of [undefined, 'mesh.links[2]']) {
        assert.throws(
          () => parseLinkUrl(text, key),
          (err: unknown) => {
            assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
            assert.equal(err.key, key ?? 'mesh.links');
            assert.ok(err.message.startsWith(`${key ?? 'mesh.links'}: `), err.message);
            assert.match(err.message, re);
            return true;
          },
        );
      }
    });
  }

  test('refuses port 0: nothing can be dialled there', () => {
    assert.throws(() => parseLinkUrl('weft://h:0', '--link'), ConfigError);
  });
});
