/**
 * `NatsParser.pause()`: the session's read slices. A pause requested during
 * an operation stops `feed` right after it, says where (`pausedAt`), and
 * feeding the rest from there gives the same operations as one whole feed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NatsParser, type NatsServerHandler, pubPayload } from '../../src/protocols/nats/parser.js';

const LIMITS = { maxPayload: 1024 * 1024, maxControlLine: 4096 };

function recording(pauseOn: (n: number) => boolean) {
  const ops: string[] = [];
  let parser: NatsParser;
  const note = (op: string) => {
    ops.push(op);
    if (pauseOn(ops.length)) parser.pause();
  };
  const handler: NatsServerHandler = {
    onConnect: () => note('CONNECT'),
    onPub: (s, _r, h, b, start, end) => note(`PUB ${s} ${pubPayload(h, b, start, end).toString()}`),
    onSub: (s, _q, sid) => note(`SUB ${s} ${sid}`),
    onUnsub: (sid) => note(`UNSUB ${sid}`),
    onPing: () => note('PING'),
    onPong: () => note('PONG'),
    onRefused: (wire) => note(`REFUSED ${wire}`),
  };
  parser = new NatsParser(handler, LIMITS);
  return { ops, parser };
}

const INPUT = Buffer.from(
  'CONNECT {}\r\nSUB a 1\r\nPUB a 3\r\nabc\r\nPUB a 2\r\nxy\r\nPING\r\nUNSUB 1\r\n',
);

test('feed stops after the operation that asked for a pause, and resumes where it stopped', () => {
  const whole = recording(() => false);
  assert.equal(whole.parser.feed(INPUT), null);
  assert.equal(whole.parser.pausedAt, -1);

  // Pause after every operation: one operation per feed, in order.
  const sliced = recording(() => true);
  let rest = INPUT;
  let feeds = 0;
  for (;;) {
    assert.equal(sliced.parser.feed(rest), null);
    feeds++;
    if (sliced.parser.pausedAt < 0) break;
    assert.equal(sliced.ops.length, feeds);
    rest = rest.subarray(sliced.parser.pausedAt);
  }
  assert.deepEqual(sliced.ops, whole.ops);
  assert.equal(whole.ops.length, 6);
});

test('a pause asked for by the last operation of a buffer does not carry over', () => {
  const r = recording((n) => n === 2);
  assert.equal(r.parser.feed(Buffer.from('PING\r\nPING\r\n')), null);
  assert.equal(r.parser.pausedAt, -1);
  assert.equal(r.parser.feed(Buffer.from('PING\r\nPONG\r\n')), null);
  assert.equal(r.parser.pausedAt, -1);
  assert.deepEqual(r.ops, ['PING', 'PING', 'PING', 'PONG']);
});
