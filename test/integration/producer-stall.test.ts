/**
 * Fast-producer stall (src/connection/producer-stall.ts): a publisher that
 * outruns its subscriber is slowed to the subscriber's pace, and the
 * subscriber gets everything, where without the stall it was pushed past
 * max_pending and closed with what it held lost (the 64 KiB pub/sub bench
 * row did that under load). A subscriber that reads nothing is still closed,
 * and the publisher is not held by it. Runs against nats-server too
 * (WEFT_TEST_TARGET=nats-server), whose producers stall the same way.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkFor, monitorJson, onlyOn, startTargetFor, TARGET } from '../helpers/harness.js';
import { rawSubscriber, slowSubscriber } from '../helpers/slow-reader.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZE = 16 * KiB;
/** 24 MiB in all: more than the loopback sockets' kernel buffers and max_pending together. */
const COUNT = 1536;

/** One PUB per message, all in one buffer, then a PING: the client writes as fast as the socket takes. */
function flood(subject: string): Buffer {
  const payload = Buffer.alloc(SIZE, 120);
  const head = Buffer.from(`PUB ${subject} ${SIZE}\r\n`);
  const parts: Buffer[] = [];
  for (let i = 0; i < COUNT; i++) parts.push(head, payload, Buffer.from('\r\n'));
  parts.push(Buffer.from('PING\r\n'));
  return Buffer.concat(parts);
}

describe('fast-producer stall', () => {
  test('a publisher faster than its subscriber is slowed; the subscriber gets every message', async (t) => {
    const { srv, raw } = await startTargetFor(t, {
      maxPending: 4 * MiB,
      maxPayload: 64 * KiB,
      writeDeadlineMs: 30_000,
      referenceWriteDeadlineMs: 30_000,
    });
    const open = () => raw.handshake(srv.port);
    const { sub, want, reading } = await slowSubscriber(open, 'flow', SIZE, COUNT);

    const pub = await raw.handshake(srv.port);
    pub.send(flood('flow'));
    await pub.expectLine(/^PONG$/, 60_000);
    const got = await reading;
    assert.equal(got, want, 'every message reached the slow subscriber');
    assert.equal(sub.isClosed, false);
    const varz = await monitorJson<{ slow_consumers: number; weft?: { producer_stalls: number } }>(
      srv,
      '/varz',
    );
    assert.equal(varz.slow_consumers, 0);
    if (TARGET === 'weft') assert.ok(varz.weft!.producer_stalls > 0, 'the publisher was stalled');
  });

  test('a subscriber that reads nothing is still closed, and does not hold the publisher', async (t) => {
    const { srv, raw } = await startTargetFor(t, {
      maxPending: 2 * MiB,
      maxPayload: 64 * KiB,
      writeDeadlineMs: 30_000,
      referenceWriteDeadlineMs: 500,
    });
    const open = () => raw.handshake(srv.port);
    const stuck = await rawSubscriber(open, 'flow');
    stuck.pause();
    const healthy = await rawSubscriber(open, 'other');

    const pub = await raw.handshake(srv.port);
    const began = Date.now();
    pub.send(flood('flow'));
    await pub.expectLine(/^PONG$/, 30_000);
    const took = Date.now() - began;
    await stuck.discardUntilClosed(10_000);
    const varz = await monitorJson<{ slow_consumers: number }>(srv, '/varz');
    assert.equal(varz.slow_consumers, 1);
    // Others were served throughout.
    await healthy.ping();
    assert.ok(took < 20_000, `the publisher took ${took} ms`);
  });

  test(
    'the stall is counted, and ends at its time when the subscriber is stuck',
    onlyOn('weft', 'producer_stalls and producer_stall_timeouts are /varz fields of Weft'),
    async (t) => {
      const { srv, raw } = await startTargetFor(t, { maxPending: 2 * MiB, maxPayload: 64 * KiB });
      const stuck = await rawSubscriber(() => raw.handshake(srv.port), 'flow');
      stuck.pause();
      const pub = await raw.handshake(srv.port);
      pub.send(flood('flow'));
      await pub.expectLine(/^PONG$/, 30_000);
      const w = await checkFor(async () => {
        const v = await monitorJson<{
          weft: { producer_stalls: number; producer_stall_timeouts: number };
        }>(srv, '/varz');
        return v.weft.producer_stall_timeouts > 0 ? v.weft : false;
      }, 5000);
      assert.ok(w.producer_stalls >= w.producer_stall_timeouts);
      await stuck.discardUntilClosed(10_000);
    },
  );
});
