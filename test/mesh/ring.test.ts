/**
 * Rings: when a link is cut (by a relay in front of it, both nodes still
 * running) or a node dies, traffic takes the other way round within a
 * deadline, never twice; when the link heals, the short way is used again
 * within 2 s.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  assertExactly,
  checkFor,
  FAST_DEAD_AFTER_MS,
  highest,
  linkTo,
  type Mesh,
  type MeshNode,
  nodeView,
  publishN,
  pump,
  type Recorder,
  record,
  ring,
  settle,
  startMesh,
} from './helpers.js';

type T = { after(fn: () => Promise<void>): void };

/** a - b - c - d - a, the d - a link through a relay. */
async function ring4(t: T, deadAfterMs?: number): Promise<Mesh> {
  const spec = ring(4);
  spec[3]!.proxied = ['a'];
  const mesh = await startMesh(spec, deadAfterMs !== undefined ? { deadAfterMs } : {});
  t.after(() => mesh.stopAll());
  return mesh;
}

async function route(from: MeshNode, to: MeshNode): Promise<{ distance: number; next: string }> {
  const [zf, zt] = await Promise.all([from.meshz(), to.meshz()]);
  const v = nodeView(zf, zt.server_id);
  if (v === undefined || !v.reachable) throw new Error(`${from.name} cannot reach ${to.name}`);
  return { distance: v.distance, next: v.next_hop };
}

/**
 * Pumps messages from `pub` while `disrupt` runs, and returns how long after
 * it the first message published after it arrived (ms).
 */
async function recoveryAfter(
  pubConn: Awaited<ReturnType<MeshNode['connect']>>,
  subject: string,
  r: Recorder,
  disrupt: () => unknown,
  deadlineMs: number,
): Promise<number> {
  const p = pump(pubConn, subject, 'pump');
  await checkFor(() => highest(r, 'pump') >= 20, 3000);
  await disrupt();
  const t0 = Date.now();
  const firstAfter = p.sent;
  try {
    await checkFor(() => highest(r, 'pump') >= firstAfter, deadlineMs, 5);
  } finally {
    await p.stop();
  }
  return Date.now() - t0;
}

describe('ring of 4', () => {
  test('a cut link: traffic goes the other way round, never twice; heals within 2 s', async (t) => {
    const mesh = await ring4(t);
    const [a, d] = [mesh.node('a'), mesh.node('d')];
    const nc = await d.connect();
    const r = record(nc, 'ring.t');
    await nc.flush();
    await mesh.synced();
    assert.deepEqual(await route(a, d), { distance: 1, next: 'd' });

    const pub = await a.connect();
    const took = await recoveryAfter(pub, 'ring.t', r, () => mesh.proxy('d', 'a').cut(), 2000);
    t.diagnostic(`traffic resumed ${took} ms after the cut`);
    await checkFor(async () =>
      assert.deepEqual(await route(a, d), { distance: 3, next: 'b' }, 'a reaches d via b and c'),
    );
    await settle([r], 0);
    assert.deepEqual(r.dupes(), [], 'no message delivered twice while routes changed');

    await publishN(pub, 'ring.t', 300, 'cut');
    await settle([r], r.got.length + 300);
    assertExactly(r, 'cut', 300, 'sub on d after the cut');

    mesh.proxy('d', 'a').heal();
    const t0 = Date.now();
    await checkFor(async () => (await route(a, d)).distance === 1, 2000, 20);
    t.diagnostic(`direct route back ${Date.now() - t0} ms after the heal`);
    await mesh.converged();
    const z0 = await a.meshz();
    const [beforeD, beforeB] = [linkTo(z0, 'd')!.out_msgs, linkTo(z0, 'b')!.out_msgs];
    await publishN(pub, 'ring.t', 300, 'healed');
    await settle([r], r.got.length + 300);
    assertExactly(r, 'healed', 300, 'sub on d after the heal');
    assert.deepEqual(r.dupes(), []);
    const z = await a.meshz();
    assert.equal(linkTo(z, 'd')!.out_msgs - beforeD, 300, 'the healed direct link carries them');
    assert.equal(linkTo(z, 'b')!.out_msgs - beforeB, 0, 'and the long way carries none');
  });

  test('a silent link (no bytes, socket open) is found dead by heartbeats and bypassed', async (t) => {
    const mesh = await ring4(t, FAST_DEAD_AFTER_MS);
    const [a, d] = [mesh.node('a'), mesh.node('d')];
    const nc = await d.connect();
    const r = record(nc, 'ring.silent');
    await nc.flush();
    await mesh.synced();
    const pub = await a.connect();
    const took = await recoveryAfter(
      pub,
      'ring.silent',
      r,
      () => mesh.proxy('d', 'a').freeze(),
      FAST_DEAD_AFTER_MS + 2000,
    );
    t.diagnostic(`traffic resumed ${took} ms after the link went silent`);
    await checkFor(async () => assert.deepEqual(await route(a, d), { distance: 3, next: 'b' }));
    await settle([r], 0);
    assert.deepEqual(r.dupes(), []);
    await publishN(pub, 'ring.silent', 200, 'after');
    await settle([r], r.got.length + 200);
    assertExactly(r, 'after', 200, 'sub on d');
  });

  test('node b closed: a still reaches c through d, exactly once', async (t) => {
    const mesh = await startMesh(ring(4));
    t.after(() => mesh.stopAll());
    const [a, b, c] = [mesh.node('a'), mesh.node('b'), mesh.node('c')];
    const nc = await c.connect();
    const r = record(nc, 'ring.b');
    await nc.flush();
    await mesh.synced();
    assert.equal((await route(a, c)).distance, 2);

    const pub = await a.connect();
    const took = await recoveryAfter(pub, 'ring.b', r, () => b.close(), 2000);
    t.diagnostic(`traffic resumed ${took} ms after b closed`);
    await checkFor(async () => assert.deepEqual(await route(a, c), { distance: 2, next: 'd' }));
    await settle([r], 0);
    assert.deepEqual(r.dupes(), []);
    await publishN(pub, 'ring.b', 300, 'after');
    await settle([r], r.got.length + 300);
    assertExactly(r, 'after', 300, 'sub on c');
  });
});

describe('ring of 5', () => {
  test('node c closed: every other node still gets every message once, the long way', async (t) => {
    const mesh = await startMesh(ring(5));
    t.after(() => mesh.stopAll());
    const recs = new Map<string, Recorder>();
    for (const name of ['a', 'b', 'd', 'e']) {
      const nc = await mesh.node(name).connect();
      recs.set(name, record(nc, 'ring5.>'));
      await nc.flush();
    }
    await mesh.synced();
    assert.equal((await route(mesh.node('d'), mesh.node('b'))).next, 'c');

    await mesh.node('c').close();
    await mesh.synced();
    await checkFor(async () => {
      assert.deepEqual(await route(mesh.node('d'), mesh.node('b')), { distance: 3, next: 'e' });
    });

    const N = 200;
    for (const from of ['b', 'd']) {
      const pub = await mesh.node(from).connect();
      await publishN(pub, `ring5.${from}`, N, from);
    }
    await settle([...recs.values()], 4 * 2 * N);
    for (const [who, r] of recs) {
      assertExactly(r, 'b', N, `sub on ${who}`);
      assertExactly(r, 'd', N, `sub on ${who}`);
      assert.equal(r.got.length, 2 * N);
    }
  });
});
