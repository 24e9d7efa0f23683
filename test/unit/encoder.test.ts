/**
 * What the server writes: MSG/HMSG heads byte for byte as nats-server sends
 * them, within the room `headMax` promises, and the short fixed lines.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  encodeMsgHead,
  errLine,
  headMax,
  infoLine,
  msgTarget,
  NO_RESPONDERS,
  OK,
  PING,
  PONG,
} from '../../src/protocols/nats/encoder.js';

/** Encodes a head at an offset into a dirty buffer and checks the room it used. */
function head(subject: string, sid: string, reply: string, hdr: number, total: number): string {
  const target = msgTarget(subject, sid);
  const max = headMax(target, reply);
  const dst = Buffer.alloc(max + 20, 0x7e);
  const end = encodeMsgHead(dst, 7, target, reply, hdr, total);
  assert.ok(end - 7 <= max, `wrote ${end - 7} bytes, headMax promised ${max}`);
  assert.ok(
    dst.subarray(0, 7).every((b) => b === 0x7e),
    'wrote before its offset',
  );
  assert.ok(
    dst.subarray(end).every((b) => b === 0x7e),
    'wrote past its end',
  );
  return dst.toString('utf8', 7, end);
}

describe('encoder', () => {
  test('MSG without and with reply', () => {
    assert.equal(head('foo.bar', '1', '', -1, 5), 'MSG foo.bar 1 5\r\n');
    assert.equal(head('foo.bar', '22', '_INBOX.x', -1, 0), 'MSG foo.bar 22 _INBOX.x 0\r\n');
  });

  test('HMSG without and with reply', () => {
    assert.equal(head('foo', '1', '', 12, 17), 'HMSG foo 1 12 17\r\n');
    assert.equal(head('foo', '1', 'r', 0, 0), 'HMSG foo 1 r 0 0\r\n');
  });

  test('sizes in decimal at every width', () => {
    for (const n of [0, 9, 10, 99, 100, 1023, 65536, 1048576, 999_999_999_999_999]) {
      assert.equal(head('s', '1', '', -1, n), `MSG s 1 ${n}\r\n`);
      assert.equal(head('s', '1', '', n, n), `HMSG s 1 ${n} ${n}\r\n`);
    }
  });

  test('UTF-8 subjects and replies', () => {
    assert.equal(head('größe', '1', 'ré.😀', -1, 3), 'MSG größe 1 ré.😀 3\r\n');
    const longReply = '😀'.repeat(100);
    assert.equal(head('a', '1', longReply, 4, 10), `HMSG a 1 ${longReply} 4 10\r\n`);
  });

  test('fixed lines', () => {
    assert.equal(PING, 'PING\r\n');
    assert.equal(PONG, 'PONG\r\n');
    assert.equal(OK, '+OK\r\n');
    assert.equal(errLine('Unknown Protocol Operation'), "-ERR 'Unknown Protocol Operation'\r\n");
    assert.equal(NO_RESPONDERS.toString(), 'NATS/1.0 503\r\n\r\n');
    const info = infoLine({ server_id: 'x', max_payload: 1024 });
    assert.equal(info, 'INFO {"server_id":"x","max_payload":1024}\r\n');
    assert.deepEqual(JSON.parse(info.slice(5, -2)), { server_id: 'x', max_payload: 1024 });
  });
});
