/**
 * The consumer's wire helpers, which run once per delivered and per acked
 * message: the ack subject a delivery carries (clients parse it by token)
 * and the in-place parsing of acks, against straightforward versions.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RangeMessage } from '../../src/core/message.js';
import {
  AckReplies,
  ackSubject,
  parseAck,
  parseAckAt,
  parseAckOf,
  parseAckTail,
} from '../../src/jetstream/consumer-wire.js';

describe('consumer wire', () => {
  test('ack subjects carry the time in nanoseconds, as nats-server writes it', () => {
    for (const ms of [0, 1, 1_795_691_237_728, Number.MAX_SAFE_INTEGER, 12.5]) {
      const s = ackSubject('S', 'c', 2, 10, 7, ms, 3);
      const ns = (BigInt(Math.trunc(ms)) * 1_000_000n).toString();
      assert.equal(s, `$JS.ACK.S.c.2.10.7.${ns}.3`);
    }
  });

  test('AckReplies builds what ackSubject builds, its cached pieces following deliveries and time', () => {
    const r = new AckReplies('ORDERS', 'durable');
    // Runs of equal delivery counts and times, and changes back and forth
    // (including back to the initial 1 and 0), as the cached pieces see them.
    const cases: [number, number, number, number, number][] = [
      [1, 1, 1, 0, 5],
      [1, 2, 2, 0, 4],
      [1, 3, 3, 1_795_691_237_728, 3],
      [1, 4, 4, 1_795_691_237_728, 2],
      [2, 1, 5, 1_795_691_237_728, 2],
      [2, 2, 6, 1_795_691_237_729, 1],
      [1, 7, 7, 1_795_691_237_729, 0],
      [1, 8, 8, 0, 0],
      [13, 9, 9, 12.5, 0],
      [1, 10, 10, Number.MAX_SAFE_INTEGER, 7],
      [1, 11, 11, 1, 99],
    ];
    for (const [d, sseq, cseq, ms, pending] of cases) {
      assert.equal(
        r.subject(d, sseq, cseq, ms, pending),
        ackSubject('ORDERS', 'durable', d, sseq, cseq, ms, pending),
      );
    }
    assert.equal(r.prefixLength, '$JS.ACK.ORDERS.durable.'.length);
  });

  test('parseAckAt reads what parseAckTail reads, without splitting', () => {
    const prefix = '$JS.ACK.ORDERS.durable.';
    for (const tail of [
      '1.5.5.1795691237728000000.0',
      '12.987654321.42.0.99',
      '1.2.3.4',
      '1.2.3',
      'x.2.3.4.5',
      '1..3.4.5',
      '1.2.3.4.5.6.7',
      '',
      '1.99999999999999999.3.4.5',
    ]) {
      const subject = prefix + tail;
      const viaSplit = parseAckTail(tail.split('.'));
      const inPlace = parseAckAt(subject, prefix.length);
      // The split version reads an empty token as 0 (Number('')); in place it is refused.
      const empty = tail.split('.').slice(0, 3).includes('');
      if (viaSplit === null || empty || !Number.isSafeInteger(viaSplit.sseq)) {
        assert.equal(inPlace, null, tail);
      } else {
        assert.deepEqual(inPlace, viaSplit, tail);
      }
    }
  });

  test('parseAck: +ACK and empty without decoding; the others as before', () => {
    assert.deepEqual(parseAck(Buffer.from('+ACK')), { kind: 'ack', delayMs: 0 });
    assert.deepEqual(parseAck(Buffer.alloc(0)), { kind: 'ack', delayMs: 0 });
    assert.deepEqual(parseAck(Buffer.from(' +ACK ')), { kind: 'ack', delayMs: 0 });
    assert.deepEqual(parseAck(Buffer.from('-NAK {"delay": 2000000}')), {
      kind: 'nak',
      delayMs: 2,
    });
    assert.deepEqual(parseAck(Buffer.from('+WPI')), { kind: 'wpi', delayMs: 0 });
    assert.deepEqual(parseAck(Buffer.from('+TERM')), { kind: 'term', delayMs: 0 });
    assert.equal(parseAck(Buffer.from('+ACX')), null);
  });

  test('parseAckOf reads a message as parseAck reads its payload, in place for a RangeMessage', () => {
    const bodies = ['+ACK', '', ' +ACK', '+ACKS', '+AC', '-NAK', '+NXT 5', '+TERM', '+WPI', '+ACX'];
    for (const body of bodies) {
      // In a read buffer between other bytes, with and without a header block.
      const hdr = 'NATS/1.0\r\n\r\n';
      for (const headers of [null, hdr]) {
        const wire = Buffer.from(`xx${headers ?? ''}${body}yy`);
        const hlen = headers === null ? -1 : headers.length;
        const m = new RangeMessage('$JS.ACK.S.c.1.1.1.0.0', '', wire, 2, hlen, wire.length - 2);
        assert.equal(m.payload.toString(), body);
        assert.deepEqual(parseAckOf(m), parseAck(Buffer.from(body)), JSON.stringify(body));
      }
      const plain = { subject: 's', reply: '', headers: null, payload: Buffer.from(body) };
      assert.deepEqual(parseAckOf(plain), parseAck(Buffer.from(body)));
    }
  });
});
