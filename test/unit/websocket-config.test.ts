/**
 * The `websocket` settings: YAML keys, their checks (errors name the key),
 * and nats-server's `websocket { … }` block read from a .conf file.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { optionsFromDocument, parseConfigText, validateOptions } from '../../src/config/config.js';
import { natsConfTextToDocument } from '../../src/config/natsconf-map.js';
import { withDefaults } from '../../src/config/options.js';
import { originAllowed, originOf } from '../../src/connection/websocket-origin.js';
import { ConfigError } from '../../src/errors.js';

function throwsConfig(fn: () => unknown, key: string, why: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
    assert.equal(err.key, key, err.message);
    assert.match(err.message, why);
    return true;
  });
}

describe('websocket settings', () => {
  test('off by default', () => {
    const o = withDefaults();
    assert.equal(o.websocketPort, -1);
    assert.equal(o.websocketCompression, false);
    assert.deepEqual(o.websocketAllowedOrigins, []);
    assert.equal(o.websocketHandshakeTimeoutMs, 2000);
    assert.equal(o.websocketMaxMessage, 0);
  });

  test('the YAML section', () => {
    const o = parseConfigText(`
websocket:
  port: 8080
  host: 127.0.0.1
  allowed_origins: [https://App.Example.com:443, "http://localhost:3000"]
  compression: true
  handshake_timeout: 3s
  max_message: 2MiB
`);
    assert.deepEqual(o, {
      websocketPort: 8080,
      websocketHost: '127.0.0.1',
      websocketAllowedOrigins: ['https://app.example.com', 'http://localhost:3000'],
      websocketCompression: true,
      websocketHandshakeTimeoutMs: 3000,
      websocketMaxMessage: 2 * 1024 * 1024,
    });
  });

  test('bad values name their key', () => {
    throwsConfig(
      () => parseConfigText('websocket: {allowed_origins: [example.com]}'),
      'websocket.allowed_origins',
      /"example.com" is not an http\(s\) origin/,
    );
    throwsConfig(
      () => parseConfigText('websocket: {port: -2}'),
      'websocket.port',
      /from -1 to 65535/,
    );
    throwsConfig(
      () => parseConfigText('websocket: {max_message: 100}'),
      'websocket.max_message',
      /at least 1024 bytes/,
    );
    throwsConfig(
      () => parseConfigText('websocket: {tls: {cert_file: /nope.pem, key_file: /nope-key.pem}}'),
      'websocket.tls.cert_file',
      /cannot read \/nope.pem/,
    );
    throwsConfig(
      () => validateOptions(withDefaults({ websocketAllowedOrigins: ['ftp://x'] })),
      'websocket.allowed_origins',
      /http\(s\) origins/,
    );
  });

  test('cookie names: tokens only; jwt_cookie needs operator mode (as nats-server)', () => {
    const o = parseConfigText(
      'websocket: {token_cookie: nats_token, user_cookie: u, pass_cookie: p}',
    );
    assert.deepEqual(o, {
      websocketTokenCookie: 'nats_token',
      websocketUserCookie: 'u',
      websocketPassCookie: 'p',
    });
    assert.equal(withDefaults().websocketJwtCookie, '');
    throwsConfig(
      () => validateOptions(withDefaults(parseConfigText('websocket: {token_cookie: "a b"}'))),
      'websocket.token_cookie',
      /must be a cookie name/,
    );
    throwsConfig(
      () => validateOptions(withDefaults(parseConfigText('websocket: {no_auth_user: nobody}'))),
      'websocket.no_auth_user',
      /must name a user with a password/,
    );
    throwsConfig(
      () => validateOptions(withDefaults(parseConfigText('websocket: {jwt_cookie: jwt}'))),
      'websocket.jwt_cookie',
      /needs operator mode \(operator and resolver\)/,
    );
  });

  test('origins compare by scheme, host and port, default ports implied', () => {
    assert.equal(originOf('https://a.example:443/path'), 'https://a.example');
    assert.equal(originOf('http://A.example:8080'), 'http://a.example:8080');
    assert.equal(originOf('file:///x'), null);
    const allowed = new Set(['https://a.example']);
    assert.equal(originAllowed(allowed, 'https://a.example'), true);
    assert.equal(originAllowed(allowed, 'http://a.example'), false);
    assert.equal(originAllowed(allowed, 'https://a.example:8443'), false);
    assert.equal(originAllowed(allowed, undefined), true, 'no Origin: not a browser');
    assert.equal(originAllowed(new Set(), 'https://any.example'), true, 'empty list: any');
  });
});

describe("nats-server's websocket block", () => {
  const read = (text: string) =>
    optionsFromDocument(natsConfTextToDocument(text, 'ws.conf', {}), 'ws.conf');

  test('maps to websocket.* (port -1 is any free port; ws is an alias)', () => {
    const o = read(`
websocket {
  listen: "127.0.0.1:-1"
  no_tls: true
  compression: true
  allowed_origins: ["https://app.example.com"]
  handshake_timeout: "5s"
}
`);
    assert.equal(o.websocketPort, 0);
    assert.equal(o.websocketHost, '127.0.0.1');
    assert.equal(o.websocketCompression, true);
    assert.deepEqual(o.websocketAllowedOrigins, ['https://app.example.com']);
    assert.equal(o.websocketHandshakeTimeoutMs, 5000);
    assert.equal(read('ws { port: 8080, no_tls: true }').websocketPort, 8080);
  });

  test('as nats-server: TLS unless no_tls; its other keys are named', () => {
    throwsConfig(
      () => read('websocket { port: 8080 }'),
      'websocket',
      /needs a tls block, or no_tls: true/,
    );
    throwsConfig(
      () => read('websocket { port: 8080, no_tls: true, same_origin: true, authorization: {} }'),
      'ws.conf',
      /2 settings Weft does not support: websocket\.same_origin, websocket\.authorization/,
    );
  });

  test('the cookie names map to websocket.*_cookie', () => {
    const o = read(
      'websocket { port: 8080, no_tls: true, user_cookie: u, pass_cookie: "p", token_cookie: tok, no_auth_user: g }',
    );
    assert.equal(o.websocketNoAuthUser, 'g');
    assert.equal(o.websocketUserCookie, 'u');
    assert.equal(o.websocketPassCookie, 'p');
    assert.equal(o.websocketTokenCookie, 'tok');
    throwsConfig(
      () =>
        validateOptions(
          withDefaults(read('websocket { port: 8080, no_tls: true, jwt_cookie: jwt }')),
        ),
      'websocket.jwt_cookie',
      /needs operator mode/,
    );
  });
});
