/**
 * A hub and edge nodes that listen for no links and only dial out: once up,
 * a link is symmetric, so edges reach each other through the hub, and the
 * hub never needs (or uses) an edge's address.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  assertExactly,
  checkFor,
  linkTo,
  type Mesh,
  nodeView,
  publishN,
  type Recorder,
  record,
  settle,
  star,
  startMesh,
} from './helpers.js';

describe('star: hub and 3 dial-out edges', () => {
  let mesh: Mesh;
  before(async () => {
    mesh = await startMesh(star(3));
  });
  after(() => mesh.stopAll());

  test('edges listen for nothing; the hub only accepts, never dials', async () => {
    for (const e of ['e1', 'e2', 'e3']) {
      assert.equal(mesh.node(e).meshPort, -1, `${e} has no mesh listener`);
      const z = await mesh.node(e).meshz();
      assert.deepEqual(
        z.links.map((l) => [l.peer, l.direction, l.state]),
        [['hub', 'out', 'up']],
        `${e}'s only link is the one it dialled`,
      );
      const other = e === 'e1' ? 'e2' : 'e1';
      const v = z.nodes.find((n) => n.name === other);
      assert.equal(v?.reachable, true, `${e} reaches ${other}`);
      assert.equal(v?.distance, 2);
      assert.equal(v?.next_hop, 'hub');
    }
    const hub = await mesh.node('hub').meshz();
    assert.equal(hub.links.length, 3);
    for (const l of hub.links)
      assert.equal(l.direction, 'in', `hub's link to ${l.peer} was dialled to it`);
  });

  test('edge to edge pub/sub through the hub, exactly once', async () => {
    const recs: [string, Recorder][] = [];
    for (const e of ['e2', 'e3', 'hub']) {
      const nc = await mesh.node(e).connect();
      recs.push([e, record(nc, 'edge.events')]);
      await nc.flush();
    }
    await mesh.synced();
    const pub = await mesh.node('e1').connect();
    const N = 500;
    await publishN(pub, 'edge.events', N, 'e1');
    await settle(
      recs.map(([, r]) => r),
      3 * N,
    );
    for (const [who, r] of recs) assertExactly(r, 'e1', N, `sub on ${who}`);
    const z = await mesh.node('e1').meshz();
    assert.equal(linkTo(z, 'hub')!.out_msgs, N, 'e1 sends each message once, to the hub');
  });

  test('an edge that leaves is withdrawn; one that comes back is found again', async () => {
    const nc3 = await mesh.node('e3').connect();
    const r3 = record(nc3, 'edge.back');
    await nc3.flush();
    await mesh.synced();
    const oldId = (await mesh.node('e3').meshz()).server_id;
    await mesh.node('e3').close();
    await checkFor(async () => {
      const v = nodeView(await mesh.node('e1').meshz(), oldId);
      assert.ok(v === undefined || !v.reachable, 'e1 no longer reaches the closed e3');
    });
    const e3 = await mesh.add({ name: 'e3', dials: ['hub'], edge: true });
    const nc = await e3.connect();
    const r = record(nc, 'edge.back');
    await nc.flush();
    await mesh.converged();
    await mesh.synced();
    const pub = await mesh.node('e1').connect();
    await publishN(pub, 'edge.back', 100, 'again');
    await settle([r], 100);
    assertExactly(r, 'again', 100, 'sub on the new e3');
    assert.equal(r3.got.length, 0);
  });
});
