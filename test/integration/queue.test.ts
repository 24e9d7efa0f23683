/**
 * Queue groups with the official `nats` client: each message goes to exactly
 * one member of each group, members share the load, and plain subscribers on
 * the same subject still see everything.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type NatsConnection, StringCodec, type Subscription } from 'nats';
import { flushAll } from '../helpers/clients.js';
import { useTarget } from '../helpers/harness.js';

const sc = StringCodec();

/** A subscription whose payloads are recorded as they arrive. */
function recorder(nc: NatsConnection, subject: string, queue?: string) {
  const got: string[] = [];
  const sub: Subscription = nc.subscribe(subject, {
    ...(queue ? { queue } : {}),
    callback: (_err, m) => {
      got.push(sc.decode(m.data));
    },
  });
  return { got, sub };
}

describe('queue groups', () => {
  const ctx = useTarget();

  test('1000 messages over 4 members: each delivered once, spread fairly', async () => {
    const N = 1000;
    const conns = await Promise.all([1, 2, 3, 4].map(() => ctx.pool.connect()));
    const members = conns.map((nc) => recorder(nc, 'work.items', 'workers'));
    const plainConn = await ctx.pool.connect();
    const plain = recorder(plainConn, 'work.items');
    await flushAll(...conns, plainConn);

    const pub = await ctx.pool.connect();
    for (let i = 0; i < N; i++) pub.publish('work.items', sc.encode(String(i)));
    // Once the publisher's PING is answered every message has been routed;
    // each subscriber's own PONG then arrives after everything routed to it.
    await pub.flush();
    await flushAll(...conns, plainConn);

    const all = members.flatMap((m) => m.got);
    assert.equal(all.length, N, 'exactly N deliveries across the group');
    assert.equal(new Set(all).size, N, 'no message delivered twice');
    // Fair share: 250 expected each. A random pick gives a standard deviation
    // of ~14; 150 is seven of those away, so this only fails on a real skew.
    for (const [i, m] of members.entries()) {
      assert.ok(m.got.length >= 150, `member ${i} got only ${m.got.length} of ${N}`);
    }
    assert.equal(plain.got.length, N, 'a plain subscriber gets every message');
    assert.deepEqual(plain.got.slice(0, 3), ['0', '1', '2']);
  });

  test('two groups on one subject each get every message once', async () => {
    const nc1 = await ctx.pool.connect();
    const nc2 = await ctx.pool.connect();
    const a = [recorder(nc1, 'jobs', 'a'), recorder(nc2, 'jobs', 'a')];
    const b = [recorder(nc1, 'jobs', 'b'), recorder(nc2, 'jobs', 'b')];
    await flushAll(nc1, nc2);
    const pub = await ctx.pool.connect();
    for (let i = 0; i < 100; i++) pub.publish('jobs', sc.encode(String(i)));
    await pub.flush();
    await flushAll(nc1, nc2);
    for (const group of [a, b]) {
      const all = group.flatMap((m) => m.got);
      assert.equal(all.length, 100);
      assert.equal(new Set(all).size, 100);
    }
  });

  test('queue members on a wildcard subject share messages of many subjects', async () => {
    const nc1 = await ctx.pool.connect();
    const nc2 = await ctx.pool.connect();
    const members = [recorder(nc1, 'region.*.event', 'g'), recorder(nc2, 'region.>', 'g')];
    await flushAll(nc1, nc2);
    const pub = await ctx.pool.connect();
    for (let i = 0; i < 200; i++) pub.publish(`region.r${i % 7}.event`, sc.encode(String(i)));
    await pub.flush();
    await flushAll(nc1, nc2);
    const all = members.flatMap((m) => m.got);
    assert.equal(all.length, 200);
    assert.equal(new Set(all).size, 200);
  });

  test('a single member gets everything; after it leaves, the next member does', async () => {
    const nc1 = await ctx.pool.connect();
    const nc2 = await ctx.pool.connect();
    const first = recorder(nc1, 'solo', 'q');
    await nc1.flush();
    const pub = await ctx.pool.connect();
    for (let i = 0; i < 50; i++) pub.publish('solo', sc.encode(String(i)));
    await pub.flush();
    await nc1.flush();
    assert.equal(first.got.length, 50);

    const second = recorder(nc2, 'solo', 'q');
    await nc2.flush();
    first.sub.unsubscribe();
    await nc1.flush();
    for (let i = 0; i < 50; i++) pub.publish('solo', sc.encode(String(i)));
    await pub.flush();
    await flushAll(nc1, nc2);
    assert.equal(first.got.length, 50);
    assert.equal(second.got.length, 50);
  });

  test('a queue member that closes its connection stops receiving', async () => {
    const leaving = await ctx.pool.connect();
    const staying = await ctx.pool.connect();
    recorder(leaving, 'churn', 'q');
    const stay = recorder(staying, 'churn', 'q');
    await flushAll(leaving, staying);
    await leaving.close();
    const pub = await ctx.pool.connect();
    // The server learns of the close asynchronously; a round trip on a new
    // connection made after the close returned is not an ordering guarantee,
    // so publish until the remaining member has had a full batch.
    for (let round = 0; round < 50 && stay.got.length < 100; round++) {
      stay.got.length = 0;
      for (let i = 0; i < 100; i++) pub.publish('churn', sc.encode(String(i)));
      await pub.flush();
      await staying.flush();
    }
    assert.equal(stay.got.length, 100);
  });
});
