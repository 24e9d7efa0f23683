/**
 * Healing: a restarted node (new id, same name) re-syncs and is routed to
 * again; dialers redial a node that comes back on its port; a partition
 * that heals routes correctly again within 2 s, including interest that
 * changed on either side while it lasted.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  assertExactly,
  chain,
  checkFor,
  highest,
  linkTotals,
  type Mesh,
  nodeView,
  publishN,
  pump,
  record,
  settle,
  startMesh,
} from './helpers.js';

type T = { after(fn: () => Promise<void>): void };

async function start(t: T, spec: Parameters<typeof startMesh>[0]): Promise<Mesh> {
  const m = await startMesh(spec);
  t.after(() => m.stopAll());
  return m;
}

describe('restart and re-sync', () => {
  test('a leaf restarted under the same name (new port, new id) gets messages again', async (t) => {
    const m = await start(t, chain(3));
    const oldC = m.node('c');
    const ncOld = await oldC.connect();
    record(ncOld, 'rs.leaf');
    record(ncOld, 'rs.only.old');
    await ncOld.flush();
    await m.synced();
    const oldId = (await oldC.meshz()).server_id;
    await oldC.close();

    const c = await m.add({ name: 'c', dials: ['b'] });
    const newId = (await c.meshz()).server_id;
    assert.notEqual(newId, oldId, 'a new incarnation has a new id');
    const nc = await c.connect();
    const r = record(nc, 'rs.leaf');
    await nc.flush();
    await m.converged();
    await m.synced();
    const za = await m.node('a').meshz();
    assert.equal(nodeView(za, newId)?.reachable, true);
    const old = nodeView(za, oldId);
    assert.ok(old === undefined || !old.reachable, 'the old incarnation is not routed to');

    const pub = await m.node('a').connect();
    const out0 = linkTotals(await m.node('a').meshz()).out;
    await publishN(pub, 'rs.leaf', 300, 'x');
    await settle([r], 300);
    assertExactly(r, 'x', 300, 'sub on the restarted c');
    // The old incarnation's interest went with it.
    await publishN(pub, 'rs.only.old', 100, 'old');
    await publishN(pub, 'rs.leaf', 1, 'fence');
    await settle([r], 301);
    assert.equal(
      linkTotals(await m.node('a').meshz()).out - out0,
      301,
      'rs.only.old not forwarded',
    );
    // And the other way: c's publishes reach a.
    const ncA = await m.node('a').connect();
    const ra = record(ncA, 'rs.back');
    await ncA.flush();
    await m.synced();
    await publishN(nc, 'rs.back', 100, 'y');
    await settle([ra], 100);
    assertExactly(ra, 'y', 100, 'sub on a');
  });

  test('a middle node restarted on its old mesh port: its dialler redials, traffic resumes', async (t) => {
    const m = await start(t, chain(3));
    const oldB = m.node('b');
    const port = oldB.meshPort;
    const ncC = await m.node('c').connect();
    const r = record(ncC, 'rs.mid');
    await ncC.flush();
    await m.synced();
    await oldB.close();
    await checkFor(async () => {
      const z = await m.node('a').meshz();
      assert.ok(!z.nodes.some((n) => n.name === 'c' && n.reachable), 'a lost c');
    });

    const b = await m.add({ name: 'b', dials: ['a'] }, { meshPort: port });
    assert.equal(b.meshPort, port);
    // c dialled b's old address; it must redial it (backoff capped at 200 ms).
    await m.converged();
    const ncB = await b.connect();
    const rb = record(ncB, 'rs.mid');
    await ncB.flush();
    await m.synced();
    const pub = await m.node('a').connect();
    await publishN(pub, 'rs.mid', 300, 'z');
    await settle([r, rb], 600);
    assertExactly(r, 'z', 300, 'sub on c (subscribed before b restarted)');
    assertExactly(rb, 'z', 300, 'sub on the new b');
    const zc = await m.node('c').meshz();
    const link = zc.links.find((l) => l.peer === 'b');
    assert.ok(link !== undefined && link.state === 'up');
    assert.ok(link.reconnects >= 1, `c counts the redial (reconnects ${link.reconnects})`);
  });
});

describe('partition heals', () => {
  test('a | b: withdrawn while cut; within 2 s of the heal, messages flow again', async (t) => {
    const m = await start(t, [
      { name: 'a', dials: [] },
      { name: 'b', dials: ['a'], proxied: ['a'] },
    ]);
    const [a, b] = [m.node('a'), m.node('b')];
    const ncB = await b.connect();
    const r = record(ncB, 'part.x');
    await ncB.flush();
    await m.synced();
    const idB = (await b.meshz()).server_id;

    m.proxy('b', 'a').cut();
    await checkFor(async () => {
      const z = await a.meshz();
      const v = nodeView(z, idB);
      assert.ok(v === undefined || !v.reachable, 'a no longer reaches b');
      assert.equal(z.interest.remote, 0, 'b interest withdrawn on a');
    }, 3000);
    // Interest changes on b while cut off: one more subject.
    const during = record(ncB, 'part.during');
    await ncB.flush();
    const pubA = await a.connect();
    const out0 = linkTotals(await a.meshz()).out;
    await publishN(pubA, 'part.x', 100, 'cut');
    assert.equal(linkTotals(await a.meshz()).out, out0, 'nothing sent while partitioned');

    const p = pump(pubA, 'part.x', 'pump');
    const healedAt = Date.now();
    const firstAfter = p.sent;
    m.proxy('b', 'a').heal();
    try {
      await checkFor(() => highest(r, 'pump') >= firstAfter, 2000, 5);
    } finally {
      await p.stop();
    }
    t.diagnostic(`messages flow again ${Date.now() - healedAt} ms after the heal`);
    await checkFor(
      async () => {
        await m.synced(100);
      },
      2000 - (Date.now() - healedAt),
    );
    await publishN(pubA, 'part.during', 100, 'd');
    await settle([during], 100);
    assertExactly(during, 'd', 100, 'subscription made during the partition');
    assert.deepEqual(r.dupes(), []);
  });

  test('two halves a-b | c-d: interest changed on both sides is exact after the heal', async (t) => {
    const m = await start(t, [
      { name: 'a', dials: [] },
      { name: 'b', dials: ['a'] },
      { name: 'c', dials: ['b'], proxied: ['b'] },
      { name: 'd', dials: ['c'] },
    ]);
    const ncA = await m.node('a').connect();
    const ncD = await m.node('d').connect();
    const gone = record(ncD, 'halves.gone');
    await Promise.all([ncA.flush(), ncD.flush()]);
    await m.synced();

    m.proxy('c', 'b').cut();
    await checkFor(async () => {
      const z = await m.node('a').meshz();
      assert.ok(!z.nodes.some((n) => n.name === 'd' && n.reachable), 'a lost d');
    }, 3000);
    // While apart: d drops one subject and adds another; a adds one.
    gone.sub.unsubscribe();
    const onD = record(ncD, 'halves.new');
    const onA = record(ncA, 'halves.back');
    await Promise.all([ncA.flush(), ncD.flush()]);

    const healedAt = Date.now();
    m.proxy('c', 'b').heal();
    await m.synced(2000);
    t.diagnostic(`converged ${Date.now() - healedAt} ms after the heal`);
    const pubB = await m.node('b').connect();
    const pubC = await m.node('c').connect();
    const before = linkTotals(await m.node('b').meshz());
    await publishN(pubB, 'halves.gone', 100, 'g');
    await publishN(pubB, 'halves.new', 100, 'n');
    await publishN(pubC, 'halves.back', 100, 'b');
    await settle([onD, onA], 200);
    assertExactly(onD, 'n', 100, 'sub made on d during the partition');
    assertExactly(onA, 'b', 100, 'sub made on a during the partition');
    assert.equal(gone.got.length, 0);
    const after = linkTotals(await m.node('b').meshz());
    // b sent: 100 to c (halves.new for d) and 100 to a (halves.back from c);
    // halves.gone went nowhere.
    assert.equal(after.out - before.out, 200, 'withdrawn interest is not forwarded to');
  });
});
