/**
 * The pure parts of TLS on the client port and the monitor: how a failed
 * handshake is named, and the bearer-token check.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyTlsError } from '../../src/connection/tls-accept.js';
import { bearerMatches } from '../../src/monitor/http.js';

const err = (code: string, message = code): NodeJS.ErrnoException =>
  Object.assign(new Error(message), { code });

test('handshake failures are named by reason', () => {
  const cases: [NodeJS.ErrnoException, string | null, string][] = [
    [err('ERR_SSL_HTTPS_PROXY_REQUEST'), null, 'plaintext'],
    [err('ERR_SSL_WRONG_VERSION_NUMBER'), null, 'plaintext'],
    [err('ERR_SSL_HTTP_REQUEST'), null, 'plaintext'],
    [err('ERR_TLS_HANDSHAKE_TIMEOUT'), null, 'timeout'],
    [err('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'), null, 'no_certificate'],
    [err('ECONNRESET', 'socket hang up'), 'CERT_HAS_EXPIRED', 'expired'],
    [err('ECONNRESET', 'socket hang up'), 'CERT_NOT_YET_VALID', 'expired'],
    [err('ECONNRESET', 'socket hang up'), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'untrusted'],
    [err('ECONNRESET', 'socket hang up'), 'SELF_SIGNED_CERT_IN_CHAIN', 'untrusted'],
    [err('ECONNRESET', 'socket hang up'), null, 'closed'],
    [err('ERR_SSL_UNSUPPORTED_PROTOCOL', 'unsupported protocol'), null, 'protocol'],
  ];
  for (const [e, auth, want] of cases) {
    const got = classifyTlsError(e, auth);
    assert.equal(got.reason, want, `${e.code} ${auth}`);
    assert.ok(got.detail.length > 10);
  }
  assert.match(classifyTlsError(err('ERR_X', 'boom'), null).detail, /boom \(ERR_X\)/);
});

test('the bearer token must match exactly', () => {
  assert.equal(bearerMatches('Bearer abc', 'abc'), true);
  assert.equal(bearerMatches('bearer abc', 'abc'), true);
  for (const h of [
    undefined,
    '',
    'abc',
    'Bearer',
    'Bearer ',
    'Bearer abcd',
    'Bearer ab',
    'Basic abc',
    'Bearer abc def',
  ]) {
    assert.equal(bearerMatches(h, 'abc'), false, String(h));
  }
});
