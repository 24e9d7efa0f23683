/**
 * CONNECT options: nats-server's defaults for what a client leaves out
 * (verbose, pedantic and echo on), type checks with a message naming the
 * field, and unknown fields ignored (clients send jwt, sig, nkey and more).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ConnectOptions, parseConnect } from '../../src/protocols/nats/connect.js';

function parsed(json: string): ConnectOptions {
  const r = parseConnect(json);
  assert.equal(typeof r, 'object', `parseConnect(${json}) failed: ${String(r)}`);
  return r as ConnectOptions;
}

describe('parseConnect', () => {
  test("an empty object gives nats-server's defaults", () => {
    assert.deepEqual(parsed('{}'), {
      verbose: true,
      pedantic: true,
      echo: true,
      headers: false,
      no_responders: false,
      tls_required: false,
      name: '',
      lang: '',
      version: '',
      protocol: 0,
      user: '',
      pass: '',
      auth_token: '',
      nkey: '',
      sig: '',
      jwt: '',
    });
  });

  test('what a real client sends is taken as sent', () => {
    const json = JSON.stringify({
      verbose: false,
      pedantic: false,
      tls_required: false,
      name: 'svc a',
      lang: 'nats.js',
      version: '2.29.3',
      protocol: 1,
      echo: false,
      headers: true,
      no_responders: true,
      user: 'u',
      pass: 'p',
      auth_token: 't',
      nkey: 'UABC',
      sig: 'c2ln',
      jwt: 'eyJ0',
    });
    assert.deepEqual(parsed(json), {
      verbose: false,
      pedantic: false,
      echo: false,
      headers: true,
      no_responders: true,
      tls_required: false,
      name: 'svc a',
      lang: 'nats.js',
      version: '2.29.3',
      protocol: 1,
      user: 'u',
      pass: 'p',
      auth_token: 't',
      nkey: 'UABC',
      sig: 'c2ln',
      jwt: 'eyJ0',
    });
  });

  test('spaces and newlines inside the JSON are fine', () => {
    const o = parsed('{ "verbose" : false ,\t"name":"a b" }');
    assert.equal(o.verbose, false);
    assert.equal(o.name, 'a b');
  });

  test('unknown fields are ignored', () => {
    const o = parsed('{"sig_algo":"x","extra":{"deep":[1]},"echo":false}');
    assert.equal(o.echo, false);
    assert.equal('extra' in o, false);
    assert.equal('sig_algo' in o, false);
  });

  test('null counts as absent', () => {
    const o = parsed('{"verbose":null,"name":null,"protocol":null}');
    assert.equal(o.verbose, true);
    assert.equal(o.name, '');
    assert.equal(o.protocol, 0);
  });

  test('a later duplicate key wins, as in JSON.parse', () => {
    assert.equal(parsed('{"echo":true,"echo":false}').echo, false);
  });

  test('text that is not JSON is refused', () => {
    for (const bad of ['', '{', '{"a":}', "{'a':1}", 'CONNECT {}', '{"a":1}x']) {
      assert.equal(parseConnect(bad), 'not valid JSON', JSON.stringify(bad));
    }
  });

  test('JSON that is not an object is refused', () => {
    for (const bad of ['null', '[]', '[{}]', '1', '"s"', 'true']) {
      assert.equal(parseConnect(bad), 'not a JSON object', bad);
    }
  });

  test('a wrong type is refused with the field named', () => {
    const cases: [string, string][] = [
      ['{"verbose":"yes"}', '"verbose" must be a boolean'],
      ['{"echo":1}', '"echo" must be a boolean'],
      ['{"headers":"true"}', '"headers" must be a boolean'],
      ['{"no_responders":0}', '"no_responders" must be a boolean'],
      ['{"name":1}', '"name" must be a string'],
      ['{"user":{}}', '"user" must be a string'],
      ['{"auth_token":["t"]}', '"auth_token" must be a string'],
      ['{"protocol":"1"}', '"protocol" must be an integer'],
      ['{"protocol":1.5}', '"protocol" must be an integer'],
      ['{"protocol":true}', '"protocol" must be an integer'],
    ];
    for (const [json, why] of cases) assert.equal(parseConnect(json), why, json);
  });
});
