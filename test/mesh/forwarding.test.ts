/**
 * Interest-only forwarding with no loops: a message crosses a link only when
 * someone beyond it wants it, and each destination is in exactly one copy.
 * Checked on the link counters of /meshz (data messages in and out), which
 * the routing fixes exactly once the mesh is stable.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  assertExactly,
  CONVERGE_MS,
  checkFor,
  fullMesh,
  linkTo,
  linkTotals,
  type Mesh,
  type Meshz,
  publishN,
  QUIET_MS,
  type Recorder,
  record,
  ring,
  settle,
  startMesh,
} from './helpers.js';

type T = { after(fn: () => Promise<void>): void };

async function mesh(t: T, spec: Parameters<typeof startMesh>[0]): Promise<Mesh> {
  const m = await startMesh(spec);
  t.after(() => m.stopAll());
  return m;
}

async function snapshot(m: Mesh): Promise<Map<string, Meshz>> {
  const out = new Map<string, Meshz>();
  for (const n of m.running()) out.set(n.name, await n.meshz());
  return out;
}

/** out_msgs per directed link `from>to` between two snapshots. */
function outDeltas(before: Map<string, Meshz>, after: Map<string, Meshz>): Map<string, number> {
  const d = new Map<string, number>();
  for (const [name, z] of after) {
    for (const l of z.links) {
      const prev = linkTo(before.get(name)!, l.peer)?.out_msgs ?? 0;
      d.set(`${name}>${l.peer}`, l.out_msgs - prev);
    }
  }
  return d;
}

/** Waits until no link counter anywhere moves (everything in flight landed). */
async function linksQuiet(m: Mesh): Promise<void> {
  let prev = -1;
  let since = 0;
  await checkFor(
    async () => {
      const zs = await snapshot(m);
      const sum = [...zs.values()].reduce((s, z) => s + linkTotals(z).in + linkTotals(z).out, 0);
      if (sum !== prev) {
        prev = sum;
        since = Date.now();
        return false;
      }
      return Date.now() - since >= QUIET_MS;
    },
    CONVERGE_MS,
    20,
  );
}

function nonZero(d: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...d].filter(([, v]) => v !== 0).sort());
}

describe('interest-only forwarding, no loops, no duplicates', () => {
  test('full mesh of 3: a node without subscribers receives no data messages', async (t) => {
    const m = await mesh(t, fullMesh(3));
    const nc = await m.node('b').connect();
    const r = record(nc, 'only.b');
    await nc.flush();
    await m.synced();
    const before = await snapshot(m);
    const pub = await m.node('a').connect();
    const N = 500;
    await publishN(pub, 'only.b', N, 'x');
    await publishN(pub, 'nobody.wants.this', N, 'y');
    await settle([r], N);
    await linksQuiet(m);
    assertExactly(r, 'x', N, 'sub on b');
    assert.equal(r.got.length, N);
    const after = await snapshot(m);
    assert.deepEqual(nonZero(outDeltas(before, after)), { 'a>b': N }, 'only a -> b carried data');
    const c0 = linkTotals(before.get('c')!);
    const c1 = linkTotals(after.get('c')!);
    assert.equal(c1.in - c0.in, 0, 'c, with no subscriber, received no data message');
    assert.equal(c1.out - c0.out, 0);
    const b0 = linkTo(before.get('b')!, 'a')!.in_msgs;
    assert.equal(linkTo(after.get('b')!, 'a')!.in_msgs - b0, N, 'b counted them in');
  });

  test('full mesh of 4, everyone subscribed: one copy per neighbour, nothing relayed', async (t) => {
    const m = await mesh(t, fullMesh(4));
    const recs: [string, Recorder][] = [];
    for (const name of ['b', 'c', 'd']) {
      const nc = await m.node(name).connect();
      recs.push([name, record(nc, 'fan.out')]);
      await nc.flush();
    }
    await m.synced();
    const before = await snapshot(m);
    const pub = await m.node('a').connect();
    const N = 300;
    await publishN(pub, 'fan.out', N, 'f');
    await settle(
      recs.map(([, r]) => r),
      3 * N,
    );
    await linksQuiet(m);
    for (const [who, r] of recs) assertExactly(r, 'f', N, `sub on ${who}`);
    const after = await snapshot(m);
    assert.deepEqual(nonZero(outDeltas(before, after)), { 'a>b': N, 'a>c': N, 'a>d': N });
  });

  test('ring of 4: a message crosses only links on shortest paths to interested nodes', async (t) => {
    const m = await mesh(t, ring(4));
    // Subscriber on c only: two equal paths from a (via b or via d); exactly
    // one is used for every message, and nothing reaches the other side.
    const ncC = await m.node('c').connect();
    const rc = record(ncC, 'ring.only.c');
    await ncC.flush();
    await m.synced();
    const before = await snapshot(m);
    const pub = await m.node('a').connect();
    const N = 400;
    await publishN(pub, 'ring.only.c', N, 'r');
    await settle([rc], N);
    await linksQuiet(m);
    assertExactly(rc, 'r', N, 'sub on c');
    const d = nonZero(outDeltas(before, await snapshot(m)));
    const viaB = { 'a>b': N, 'b>c': N };
    const viaD = { 'a>d': N, 'd>c': N };
    assert.ok(
      JSON.stringify(d) === JSON.stringify(viaB) || JSON.stringify(d) === JSON.stringify(viaD),
      `one path carries all, each link once: ${JSON.stringify(d)}`,
    );
    // Ties are broken by node name: b before d.
    assert.deepEqual(d, viaB);
  });

  test('ring of 4, subscribers everywhere: 3 link crossings per message, each sub once', async (t) => {
    const m = await mesh(t, ring(4));
    const recs: [string, Recorder][] = [];
    for (const name of ['a', 'b', 'c', 'd']) {
      const nc = await m.node(name).connect();
      recs.push([name, record(nc, 'ring.all')]);
      await nc.flush();
    }
    await m.synced();
    const before = await snapshot(m);
    const N = 300;
    const pub = await m.node('a').connect();
    await publishN(pub, 'ring.all', N, 'q');
    await settle(
      recs.map(([, r]) => r),
      4 * N,
    );
    await linksQuiet(m);
    for (const [who, r] of recs) {
      assertExactly(r, 'q', N, `sub on ${who}`);
      assert.equal(r.got.length, N, `sub on ${who}: total`);
    }
    const d = outDeltas(before, await snapshot(m));
    const crossings = [...d.values()].reduce((s, v) => s + v, 0);
    assert.equal(
      crossings,
      3 * N,
      `a spanning tree of 3 links per message: ${JSON.stringify(nonZero(d))}`,
    );
    assert.equal(d.get('c>d') ?? 0, 0, 'no copy goes round the ring');
    assert.equal(d.get('d>c') ?? 0, 0);
  });

  test('ring of 5, publishers on every node: every subscriber gets each message once', async (t) => {
    const m = await mesh(t, ring(5));
    const names = ['a', 'b', 'c', 'd', 'e'];
    const recs: [string, Recorder][] = [];
    for (const name of names) {
      const nc = await m.node(name).connect();
      recs.push([name, record(nc, 'ring5.*')]);
      await nc.flush();
    }
    await m.synced();
    const N = 100;
    for (const name of names) {
      const pub = await m.node(name).connect();
      await publishN(pub, `ring5.${name}`, N, name);
    }
    await settle(
      recs.map(([, r]) => r),
      5 * 5 * N,
    );
    for (const [who, r] of recs) {
      for (const from of names) assertExactly(r, from, N, `sub on ${who}, from ${from}`);
      assert.equal(r.got.length, 5 * N);
    }
  });
});

describe('link costs', () => {
  test('a triangle with one expensive link: traffic takes the cheap way round, until it is gone', async (t) => {
    const m = await mesh(t, [
      { name: 'a', dials: [] },
      { name: 'b', dials: ['a'] },
      { name: 'c', dials: ['b', 'a'], costs: { a: 10 } },
    ]);
    const za = await m.node('a').meshz();
    assert.equal(linkTo(za, 'c')?.cost, 10, 'the listener takes the cost the dialler set');
    const vc = za.nodes.find((n) => n.name === 'c');
    assert.equal(vc?.distance, 2);
    assert.equal(vc?.next_hop, 'b');

    const ncC = await m.node('c').connect();
    const r = record(ncC, 'cost.x');
    await ncC.flush();
    await m.synced();
    const before = await snapshot(m);
    const pub = await m.node('a').connect();
    await publishN(pub, 'cost.x', 200, 'cheap');
    await settle([r], 200);
    await linksQuiet(m);
    assertExactly(r, 'cheap', 200, 'sub on c');
    assert.deepEqual(nonZero(outDeltas(before, await snapshot(m))), { 'a>b': 200, 'b>c': 200 });

    await m.node('b').close();
    await checkFor(async () => {
      const v = (await m.node('a').meshz()).nodes.find((n) => n.name === 'c');
      assert.equal(v?.distance, 10);
      assert.equal(v?.next_hop, 'c');
    });
    const before2 = await snapshot(m);
    await publishN(pub, 'cost.x', 200, 'dear');
    await settle([r], 400);
    assertExactly(r, 'dear', 200, 'sub on c, over the expensive link');
    const d = outDeltas(before2, await snapshot(m));
    assert.equal(d.get('a>c'), 200);
  });
});
