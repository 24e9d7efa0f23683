/**
 * Interest withdrawn: when the last subscriber behind an advertised entry
 * goes (unsubscribe or disconnect), or its whole node dies, the other nodes
 * stop forwarding to it: /meshz shows the interest (or the node) gone and
 * the link counters stop moving.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, type NatsError } from 'nats';
import {
  assertExactly,
  chain,
  checkFor,
  enc,
  linkTotals,
  type Mesh,
  nodeView,
  publishN,
  record,
  settle,
  startMesh,
} from './helpers.js';

type T = { after(fn: () => Promise<void>): void };

async function chain3(t: T): Promise<Mesh> {
  const m = await startMesh(chain(3));
  t.after(() => m.stopAll());
  return m;
}

/** What a sees of c's interest count, by c's current id. */
async function interestSeen(m: Mesh, from: string, of: string): Promise<number | undefined> {
  const [zf, zo] = await Promise.all([m.node(from).meshz(), m.node(of).meshz()]);
  return nodeView(zf, zo.server_id)?.interest;
}

/** Publishes N on `subject` from a and asserts a's links carried none of them. */
async function assertNotForwarded(m: Mesh, subject: string, why: string): Promise<void> {
  const a = m.node('a');
  const before = linkTotals(await a.meshz());
  const pub = await a.connect();
  await publishN(pub, subject, 200, 'late');
  // Something that does travel, published after: once it has arrived at b,
  // anything a had sent to b before it on that link has arrived too.
  const nb = await m.node('b').connect();
  const probe = record(nb, 'probe.after');
  await nb.flush();
  await m.synced();
  await publishN(pub, 'probe.after', 1, 'probe');
  await settle([probe], 1);
  const after = linkTotals(await a.meshz());
  assert.equal(after.out - before.out, 1, `${why}: only the probe left a`);
  await nb.close();
}

describe('interest withdrawn', () => {
  test('subscriber unsubscribes: aggregated entry stays until the last one goes', async (t) => {
    const m = await chain3(t);
    const nc = await m.node('c').connect();
    const r1 = record(nc, 'w.unsub');
    const r2 = record(nc, 'w.unsub');
    await nc.flush();
    await m.synced();
    const seenWithTwo = await interestSeen(m, 'a', 'c');
    const pub = await m.node('a').connect();
    await publishN(pub, 'w.unsub', 100, 'one');
    await settle([r1, r2], 200);

    r1.sub.unsubscribe();
    await nc.flush();
    await m.synced();
    assert.equal(await interestSeen(m, 'a', 'c'), seenWithTwo, 'one entry for two subscriptions');
    await publishN(pub, 'w.unsub', 100, 'two');
    await settle([r1, r2], 300);
    assert.equal(r2.count('two'), 100);
    assert.equal(r1.count('two'), 0);

    r2.sub.unsubscribe();
    await nc.flush();
    await checkFor(async () => (await interestSeen(m, 'a', 'c')) === 0);
    await m.synced();
    await assertNotForwarded(m, 'w.unsub', 'after the last unsubscribe');
  });

  test('subscriber disconnects: its node withdraws the interest everywhere', async (t) => {
    const m = await chain3(t);
    const nc = await m.node('c').connect();
    const r = record(nc, 'w.disc.>');
    await nc.flush();
    await m.synced();
    assert.ok(((await interestSeen(m, 'a', 'c')) ?? 0) >= 1, 'a sees c interest');
    const pub = await m.node('a').connect();
    await publishN(pub, 'w.disc.x', 50, 'x');
    await settle([r], 50);

    await nc.close();
    await checkFor(async () => (await interestSeen(m, 'a', 'c')) === 0);
    await checkFor(async () => (await interestSeen(m, 'b', 'c')) === 0);
    await m.synced();
    await assertNotForwarded(m, 'w.disc.x', 'after the disconnect');
  });

  test('a node dies: unreachable, its interest gone, nothing forwarded towards it', async (t) => {
    const m = await chain3(t);
    const nc = await m.node('c').connect();
    const r = record(nc, 'w.death');
    await nc.flush();
    await m.synced();
    const idC = (await m.node('c').meshz()).server_id;
    const pub = await m.node('a').connect();
    await publishN(pub, 'w.death', 50, 'x');
    await settle([r], 50);
    const remoteBefore = (await m.node('a').meshz()).interest.remote;
    assert.ok(remoteBefore >= 1);

    await m.node('c').close();
    for (const who of ['a', 'b']) {
      await checkFor(async () => {
        const z = await m.node(who).meshz();
        const v = nodeView(z, idC);
        assert.ok(v === undefined || v.reachable === false, `${who} no longer reaches c`);
        assert.equal(z.interest.remote, 0, `${who} holds no remote interest`);
      });
    }
    await assertNotForwarded(m, 'w.death', 'after c died');
    // With c's interest gone, a request to it fails fast with no-responders.
    const req = await m.node('a').connect();
    await assert.rejects(req.request('w.death', enc('x'), { timeout: 2000 }), (err: NatsError) => {
      assert.equal(err.code, ErrorCode.NoResponders);
      return true;
    });
    // b's link to c is gone, not merely idle.
    const zb = await m.node('b').meshz();
    assert.deepEqual(
      zb.links.filter((l) => l.state === 'up').map((l) => l.peer),
      ['a'],
    );
  });
});

describe('interest aggregation', () => {
  test('many subscriptions to one subject are one entry; a covered subject reappears when its wildcard goes', async (t) => {
    const m = await chain3(t);
    const c = m.node('c');
    const conns = await Promise.all([1, 2, 3].map(() => c.connect()));
    const many = conns.flatMap((nc) => Array.from({ length: 300 }, () => record(nc, 'agg.many')));
    await Promise.all(conns.map((nc) => nc.flush()));
    await m.synced();
    assert.equal((await c.meshz()).interest.advertised, 1, '900 subscriptions, one entry');
    assert.equal(await interestSeen(m, 'a', 'c'), 1);

    const nc = await c.connect();
    const wild = record(nc, 'agg.>');
    const plain = record(nc, 'agg.x');
    const queued = record(nc, 'agg.q', 'workers');
    await nc.flush();
    await m.synced();
    // agg.many and agg.x are under agg.>; the queue entry is never covered.
    assert.equal((await c.meshz()).interest.advertised, 2, 'agg.> and the queue entry');

    wild.sub.unsubscribe();
    await nc.flush();
    await m.synced();
    assert.equal((await c.meshz()).interest.advertised, 3, 'agg.many, agg.x and the queue entry');

    const pub = await m.node('a').connect();
    const before = linkTotals(await m.node('a').meshz()).out;
    await publishN(pub, 'agg.x', 50, 'x');
    await publishN(pub, 'agg.y', 50, 'y');
    await publishN(pub, 'agg.q', 50, 'q');
    await publishN(pub, 'agg.many', 10, 'm');
    await settle([plain, queued, ...many], 50 + 50 + 900 * 10);
    assertExactly(plain, 'x', 50, 'agg.x after its covering wildcard went');
    assertExactly(queued, 'q', 50, 'the queue member');
    for (const r of many) assertExactly(r, 'm', 10, 'an agg.many subscriber');
    assert.equal(plain.count('y'), 0);
    const after = linkTotals(await m.node('a').meshz()).out;
    assert.equal(after - before, 50 + 50 + 10, 'agg.y, wanted by nobody now, was not forwarded');
    assert.equal(wild.got.length, 0);
  });
});

describe('interest churn', () => {
  test('hundreds of subscribe/unsubscribe changes converge to exactly the final interest', async (t) => {
    const m = await chain3(t);
    const ncs = await Promise.all([m.node('b').connect(), m.node('c').connect()]);
    // A seeded sequence of changes on b and c: subjects come and go, some twice.
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const live = new Map<string, ReturnType<typeof record>>();
    for (let i = 0; i < 600; i++) {
      const who = rnd(2);
      const subject = `churn.s${rnd(40)}`;
      const key = `${who}:${subject}`;
      const have = live.get(key);
      if (have !== undefined) {
        have.sub.unsubscribe();
        live.delete(key);
      } else {
        live.set(key, record(ncs[who]!, subject));
      }
      // Yield now and then so changes spread over many batches.
      if (i % 50 === 0) await ncs[who]!.flush();
    }
    await Promise.all(ncs.map((nc) => nc.flush()));
    await m.synced();
    const pub = await m.node('a').connect();
    for (let s = 0; s < 40; s++) await publishN(pub, `churn.s${s}`, 5, `s${s}`);
    await settle([...live.values()], live.size * 5);
    for (const [key, r] of live) {
      const subject = key.slice(2);
      assertExactly(r, subject.slice('churn.'.length), 5, `${key}`);
      assert.equal(r.got.length, 5, `${key}: only its own subject`);
    }
    // Nothing went where nobody listens: one copy per message someone wants.
    const wanted = new Set([...live.keys()].map((k) => k.slice(2)));
    assert.ok(wanted.size < 40, 'some subjects ended with no subscriber');
    const za = await m.node('a').meshz();
    assert.equal(linkTotals(za).out, wanted.size * 5, 'only subjects someone wants crossed a -> b');
  });
});
