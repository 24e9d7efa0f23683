/**
 * RangeMessage (src/core/message.ts): a message over one range of bytes
 * read looks to every receiver like the plain `Message` made before: the
 * same header and payload bytes, null headers when there are none, an
 * empty header block kept as one, and the same view each time it is read.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { messageSize, RangeMessage } from '../../src/core/message.js';

describe('RangeMessage', () => {
  const buf = Buffer.from('xxNATS/1.0\r\nA: b\r\n\r\nhello-yy');
  const hstart = 2;
  const hlen = 'NATS/1.0\r\nA: b\r\n\r\n'.length;
  const end = buf.length - 3;

  test('headers and payload are views of the range; the same view each time', () => {
    const m = new RangeMessage('s', 'r', buf, hstart, hlen, end);
    assert.equal(m.headers?.toString(), 'NATS/1.0\r\nA: b\r\n\r\n');
    assert.equal(m.payload.toString(), 'hello');
    assert.equal(m.headers, m.headers);
    assert.equal(m.payload, m.payload);
    assert.equal(m.payload.buffer, buf.buffer, 'a view, not a copy');
    assert.equal(messageSize(m), end - hstart);
    assert.equal(m.to, '');
  });

  test('no header block (hlen -1): headers null, the payload from hstart', () => {
    const m = new RangeMessage('s', '', buf, 20, -1, end, 'inbox');
    assert.equal(m.headers, null);
    assert.equal(m.payload.toString(), 'hello');
    assert.equal(m.to, 'inbox');
  });

  test('an empty header block (hlen 0) stays a header block, as the views made before', () => {
    const m = new RangeMessage('s', '', buf, 20, 0, end);
    assert.notEqual(m.headers, null);
    assert.equal(m.headers?.length, 0);
    assert.equal(m.payload.toString(), 'hello');
  });
});
