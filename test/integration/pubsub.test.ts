/**
 * Publish/subscribe with the official `nats` client: delivery, order, the
 * `*` and `>` wildcards, echo, auto-unsubscribe and drain.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Msg, StringCodec } from 'nats';
import { flushAll } from '../helpers/clients.js';
import { useTarget } from '../helpers/harness.js';

const sc = StringCodec();

/** Collects messages on `subject` until one carrying `last` arrives. */
async function collectUntil(
  sub: AsyncIterable<Msg>,
  last: string,
): Promise<{ subject: string; data: string }[]> {
  const got: { subject: string; data: string }[] = [];
  for await (const m of sub) {
    got.push({ subject: m.subject, data: sc.decode(m.data) });
    if (sc.decode(m.data) === last) break;
  }
  return got;
}

describe('pub/sub', () => {
  const ctx = useTarget();

  test('a subscriber receives every message, in order, with subject and data', async () => {
    const sub = await ctx.pool.connect();
    const pub = await ctx.pool.connect();
    const s = sub.subscribe('orders.created');
    await sub.flush();
    for (let i = 0; i < 100; i++) pub.publish('orders.created', sc.encode(`order-${i}`));
    await pub.flush();
    const got = await collectUntil(s, 'order-99');
    assert.deepEqual(
      got.map((m) => m.data),
      Array.from({ length: 100 }, (_, i) => `order-${i}`),
    );
    assert.ok(got.every((m) => m.subject === 'orders.created'));
  });

  test('every plain subscriber gets its own copy', async () => {
    const a = await ctx.pool.connect();
    const b = await ctx.pool.connect();
    const pub = await ctx.pool.connect();
    const sa = a.subscribe('fan.out');
    const sb = b.subscribe('fan.out');
    const sa2 = a.subscribe('fan.out');
    await flushAll(a, b);
    for (let i = 0; i < 20; i++) pub.publish('fan.out', sc.encode(String(i)));
    const [ga, gb, ga2] = await Promise.all([
      collectUntil(sa, '19'),
      collectUntil(sb, '19'),
      collectUntil(sa2, '19'),
    ]);
    assert.equal(ga.length, 20);
    assert.equal(gb.length, 20);
    assert.equal(ga2.length, 20);
  });

  test('* matches exactly one token', async () => {
    const nc = await ctx.pool.connect();
    const s = nc.subscribe('sensors.*.temp');
    await nc.flush();
    for (const subj of [
      'sensors.a.temp',
      'sensors.temp',
      'sensors.a.b.temp',
      'sensors.a.humidity',
      'other.a.temp',
      'sensors.b.temp',
    ]) {
      nc.publish(subj, sc.encode(subj));
    }
    nc.publish('sensors.end.temp', sc.encode('end'));
    const got = await collectUntil(s, 'end');
    assert.deepEqual(
      got.map((m) => m.subject),
      ['sensors.a.temp', 'sensors.b.temp', 'sensors.end.temp'],
    );
  });

  test('> matches one or more trailing tokens', async () => {
    const nc = await ctx.pool.connect();
    const s = nc.subscribe('logs.>');
    const all = nc.subscribe('>');
    await nc.flush();
    for (const subj of ['logs', 'logs.a', 'logs.a.b.c', 'logsx.a', 'x.logs.a']) {
      nc.publish(subj, sc.encode(subj));
    }
    nc.publish('logs.end', sc.encode('end'));
    const got = await collectUntil(s, 'end');
    assert.deepEqual(
      got.map((m) => m.subject),
      ['logs.a', 'logs.a.b.c', 'logs.end'],
    );
    const gotAll = await collectUntil(all, 'end');
    assert.deepEqual(
      gotAll.map((m) => m.subject),
      ['logs', 'logs.a', 'logs.a.b.c', 'logsx.a', 'x.logs.a', 'logs.end'],
    );
  });

  test('overlapping subscriptions on one connection each deliver', async () => {
    const nc = await ctx.pool.connect();
    const a = nc.subscribe('m.*');
    const b = nc.subscribe('m.>');
    const c = nc.subscribe('m.x');
    await nc.flush();
    nc.publish('m.x', sc.encode('end'));
    for (const s of [a, b, c])
      assert.deepEqual(await collectUntil(s, 'end'), [{ subject: 'm.x', data: 'end' }]);
  });

  test('echo is on by default: a connection receives its own messages', async () => {
    const nc = await ctx.pool.connect();
    const s = nc.subscribe('echo.on');
    nc.publish('echo.on', sc.encode('end'));
    assert.equal((await collectUntil(s, 'end')).length, 1);
  });

  test('noEcho: own messages are not received, others are', async () => {
    const quiet = await ctx.pool.connect({ noEcho: true });
    const other = await ctx.pool.connect();
    const s = quiet.subscribe('echo.off');
    await quiet.flush();
    quiet.publish('echo.off', sc.encode('mine'));
    // After the flush, the server has routed "mine" (to nobody); "theirs" is
    // published later, so if "mine" had been echoed it would arrive first.
    await quiet.flush();
    other.publish('echo.off', sc.encode('theirs'));
    const got = await collectUntil(s, 'theirs');
    assert.deepEqual(
      got.map((m) => m.data),
      ['theirs'],
    );
  });

  for (const how of ['{ max: 5 }', 'unsubscribe(5)'] as const) {
    test(`auto-unsubscribe with ${how} delivers exactly 5 messages`, async () => {
      const sub = await ctx.pool.connect();
      const pub = await ctx.pool.connect();
      const subject = `auto.${how === 'unsubscribe(5)' ? 'call' : 'opt'}`;
      const s = how === '{ max: 5 }' ? sub.subscribe(subject, { max: 5 }) : sub.subscribe(subject);
      if (how === 'unsubscribe(5)') s.unsubscribe(5);
      const tail = sub.subscribe(subject);
      await sub.flush();
      for (let i = 0; i < 10; i++) pub.publish(subject, sc.encode(String(i)));
      await pub.flush();
      const got: string[] = [];
      // The iterator ends by itself once the fifth message is in.
      for await (const m of s) got.push(sc.decode(m.data));
      assert.deepEqual(got, ['0', '1', '2', '3', '4']);
      assert.equal(s.getReceived(), 5);
      assert.equal(s.isClosed(), true);
      // The unlimited subscription on the same subject got all ten.
      assert.equal((await collectUntil(tail, '9')).length, 10);
    });
  }

  test('unsubscribe stops delivery', async () => {
    const nc = await ctx.pool.connect();
    const s = nc.subscribe('unsub.now');
    const keep = nc.subscribe('unsub.keep');
    await nc.flush();
    nc.publish('unsub.now', sc.encode('first'));
    await nc.flush();
    s.unsubscribe();
    nc.publish('unsub.now', sc.encode('second'));
    nc.publish('unsub.keep', sc.encode('end'));
    await collectUntil(keep, 'end');
    assert.equal(s.getReceived(), 1);
  });

  test('drain delivers messages already in flight, then closes', async () => {
    const sub = await ctx.pool.connect();
    const pub = await ctx.pool.connect();
    const seen: string[] = [];
    sub.subscribe('drain.me', {
      callback: (_err, m) => {
        seen.push(sc.decode(m.data));
      },
    });
    await sub.flush();
    for (let i = 0; i < 500; i++) pub.publish('drain.me', sc.encode(String(i)));
    // All 500 have been routed to the subscriber's connection, but not
    // necessarily read by it yet: drain must still hand every one over.
    await pub.flush();
    await sub.drain();
    assert.equal(seen.length, 500);
    assert.deepEqual(seen.slice(0, 3), ['0', '1', '2']);
    assert.equal(seen[499], '499');
    assert.equal(sub.isClosed(), true);
  });
});
