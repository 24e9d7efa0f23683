/**
 * The one reader of NATS header blocks (src/core/headers.ts) that streams,
 * faces and CloudEvents share: pairs in order, repeated names kept, the
 * status line apart, each encoding as documented, and any bytes read
 * without a throw.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { forEachHeader, headerPairs, headerStatus } from '../../src/core/headers.js';
import { parseHeaders } from '../../src/streams/headers.js';

const block = (s: string, enc: BufferEncoding = 'utf8') => Buffer.from(s, enc);

test('pairs in order, repeated names kept, trimmed, lines without a name skipped', () => {
  const b = block('NATS/1.0\r\nA: 1\r\nb:2\r\n: nameless\r\nno colon\r\nA:  3 \r\n\r\n');
  assert.deepEqual(headerPairs(b, 'utf8'), [
    ['A', '1'],
    ['b', '2'],
    ['A', '3'],
  ]);
  const seen: string[] = [];
  forEachHeader(b, 'latin1', (n, v) => seen.push(`${n}=${v}`));
  assert.deepEqual(seen, ['A=1', 'b=2', 'A=3']);
});

test('a value keeps a colon after the first', () => {
  assert.deepEqual(headerPairs(block('NATS/1.0\r\nUrl: http://x:1/\r\n\r\n'), 'utf8'), [
    ['Url', 'http://x:1/'],
  ]);
});

test('no block, an empty one, or one not starting NATS/1.0: no headers, no status', () => {
  for (const b of [null, Buffer.alloc(0), block('HTTP/1.1\r\nA: 1\r\n\r\n')]) {
    assert.deepEqual(headerPairs(b, 'utf8'), []);
  }
  assert.deepEqual(headerStatus(null), { status: 0, description: '' });
  assert.deepEqual(headerStatus(block('HTTP/1.1 503\r\n\r\n')), { status: 0, description: '' });
});

test('the status line: code and text, not a header', () => {
  const b = block('NATS/1.0 503 No Responders\r\n\r\n');
  assert.deepEqual(headerStatus(b), { status: 503, description: 'No Responders' });
  assert.deepEqual(headerPairs(b, 'utf8'), []);
  assert.deepEqual(headerStatus(block('NATS/1.0 408\r\nA: 1\r\n\r\n')), {
    status: 408,
    description: '',
  });
  assert.deepEqual(headerStatus(block('NATS/1.0\r\nA: 1\r\n\r\n')), { status: 0, description: '' });
});

test('utf8 reads text; latin1 keeps each byte as one character', () => {
  const b = block('NATS/1.0\r\nGreeting: grüß 😀\r\n\r\n');
  assert.deepEqual(headerPairs(b, 'utf8'), [['Greeting', 'grüß 😀']]);
  const [[, raw]] = headerPairs(b, 'latin1') as [[string, string]];
  assert.equal(Buffer.from(raw, 'latin1').toString('utf8'), 'grüß 😀');
});

test("the stream layer's view: lower-cased names, the first value wins", () => {
  const m = parseHeaders(block('NATS/1.0\r\nNats-Msg-Id: a\r\nnats-msg-id: b\r\n\r\n'));
  assert.equal(m.get('nats-msg-id'), 'a');
  assert.equal(m.size, 1);
});

test('any bytes: never a throw', () => {
  for (let i = 0; i < 5000; i++) {
    const tail = randomBytes(i % 64);
    const b = i % 2 === 0 ? Buffer.concat([Buffer.from('NATS/1.0'), tail]) : tail;
    for (const enc of ['utf8', 'latin1'] as const) {
      for (const [n, v] of headerPairs(b, enc)) {
        assert.equal(typeof n, 'string');
        assert.ok(n.length > 0);
        assert.equal(typeof v, 'string');
      }
    }
    const s = headerStatus(b);
    assert.ok(s.status === 0 || (s.status >= 100 && s.status <= 999));
  }
});
