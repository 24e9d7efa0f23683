/**
 * A chain of five, a - b - c - d - e: messages cross up to four hops and
 * arrive exactly once, at every node with interest and nowhere else.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  assertExactly,
  chain,
  linkTo,
  type Mesh,
  publishN,
  type Recorder,
  record,
  settle,
  startMesh,
} from './helpers.js';

const NAMES = ['a', 'b', 'c', 'd', 'e'];

describe('chain of 5', () => {
  let mesh: Mesh;
  before(async () => {
    mesh = await startMesh(chain(5));
  });
  after(() => mesh.stopAll());

  test('routes: distances and next hops along the chain', async () => {
    const z = await mesh.node('a').meshz();
    for (const [i, name] of NAMES.entries()) {
      if (i === 0) continue;
      const v = z.nodes.find((n) => n.name === name);
      assert.ok(v, `a knows ${name}`);
      assert.equal(v.reachable, true);
      assert.equal(v.distance, i, `a -> ${name} distance`);
      assert.equal(v.next_hop, 'b', `a -> ${name} goes through b`);
    }
    const zc = await mesh.node('c').meshz();
    assert.equal(zc.nodes.find((n) => n.name === 'a')?.next_hop, 'b');
    assert.equal(zc.nodes.find((n) => n.name === 'e')?.next_hop, 'd');
  });

  test('a message from a reaches a subscriber on e (4 hops) exactly once, in order', async () => {
    const nc = await mesh.node('e').connect();
    const r = record(nc, 'far.away');
    await nc.flush();
    await mesh.synced();
    const before = await Promise.all(NAMES.map((n) => mesh.node(n).meshz()));

    const pub = await mesh.node('a').connect();
    const N = 500;
    await publishN(pub, 'far.away', N, 'x');
    await settle([r], N);
    assertExactly(r, 'x', N, 'subscriber on e');
    assert.deepEqual(
      r.got,
      Array.from({ length: N }, (_, i) => `x-${i}`),
      'in order',
    );

    // Each hop carried each message once, forward only.
    const afterZ = await Promise.all(NAMES.map((n) => mesh.node(n).meshz()));
    for (let i = 0; i < 4; i++) {
      const from = NAMES[i]!;
      const to = NAMES[i + 1]!;
      const out = (z: (typeof afterZ)[number]) => linkTo(z, to)?.out_msgs ?? Number.NaN;
      const back = (z: (typeof afterZ)[number]) => linkTo(z, from)?.out_msgs ?? Number.NaN;
      assert.equal(out(afterZ[i]!) - out(before[i]!), N, `${from} -> ${to} out_msgs`);
      assert.equal(back(afterZ[i + 1]!) - back(before[i + 1]!), 0, `${to} -> ${from} out_msgs`);
    }
    await nc.close();
  });

  test('subscribers on several nodes at once: each gets each message once', async () => {
    const recs: { who: string; r: Recorder }[] = [];
    for (const who of ['b', 'c', 'e']) {
      const nc = await mesh.node(who).connect();
      recs.push({ who, r: record(nc, 'many.>') });
      recs.push({ who: `${who}(2nd)`, r: record(nc, 'many.x') });
      await nc.flush();
    }
    await mesh.synced();
    const N = 300;
    const pubA = await mesh.node('a').connect();
    const pubD = await mesh.node('d').connect();
    await publishN(pubA, 'many.x', N, 'fromA');
    await publishN(pubD, 'many.x', N, 'fromD');
    await settle(
      recs.map((x) => x.r),
      recs.length * 2 * N,
    );
    for (const { who, r } of recs) {
      assertExactly(r, 'fromA', N, who);
      assertExactly(r, 'fromD', N, who);
      assert.equal(r.got.length, 2 * N, `${who} total`);
    }
  });

  test('a publisher in the middle reaches both ends', async () => {
    const ncA = await mesh.node('a').connect();
    const ncE = await mesh.node('e').connect();
    const ra = record(ncA, 'both.ends');
    const re = record(ncE, 'both.ends');
    await Promise.all([ncA.flush(), ncE.flush()]);
    await mesh.synced();
    const pub = await mesh.node('c').connect();
    await publishN(pub, 'both.ends', 200, 'mid');
    await settle([ra, re], 400);
    assertExactly(ra, 'mid', 200, 'sub on a');
    assertExactly(re, 'mid', 200, 'sub on e');
  });
});
