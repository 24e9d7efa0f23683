/**
 * Queue groups mesh-wide: each message goes to exactly one member across the
 * mesh; a member on the publisher's node is preferred, then the nearest node
 * with members (round robin among equals); when local members go, work flows
 * to remote ones.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  chain,
  checkFor,
  fullMesh,
  type Mesh,
  publishN,
  type Recorder,
  record,
  ring,
  settle,
  startMesh,
} from './helpers.js';

type T = { after(fn: () => Promise<void>): void };

async function mesh3(t: T, spec = fullMesh(3)): Promise<Mesh> {
  const mesh = await startMesh(spec);
  t.after(() => mesh.stopAll());
  return mesh;
}

/** `perNode` members of group `q` on each named node. */
async function members(
  mesh: Mesh,
  names: string[],
  subject: string,
  perNode = 1,
): Promise<Map<string, Recorder[]>> {
  const out = new Map<string, Recorder[]>();
  for (const name of names) {
    const nc = await mesh.node(name).connect();
    const rs = Array.from({ length: perNode }, () => record(nc, subject, 'q'));
    await nc.flush();
    out.set(name, rs);
  }
  return out;
}

const total = (rs: Recorder[]) => rs.reduce((s, r) => s + r.got.length, 0);
const all = (m: Map<string, Recorder[]>) => [...m.values()].flat();

/** Exactly-once across the whole group: every tag-i delivered once somewhere. */
function assertOncePerGroup(rs: Recorder[], tag: string, n: number): void {
  const seen = new Map<string, number>();
  for (const r of rs) {
    for (const g of r.got) if (g.startsWith(`${tag}-`)) seen.set(g, (seen.get(g) ?? 0) + 1);
  }
  const twice = [...seen].filter(([, c]) => c > 1).map(([g]) => g);
  assert.deepEqual(twice.slice(0, 10), [], 'delivered to more than one member');
  assert.equal(seen.size, n, `${seen.size} of ${n} distinct messages delivered to the group`);
}

describe('queue groups across nodes', () => {
  test('members on two remote nodes: each message to exactly one, shared round robin', async (t) => {
    const mesh = await mesh3(t);
    const m = await members(mesh, ['b', 'c'], 'work', 2);
    await mesh.synced();
    const pub = await mesh.node('a').connect();
    const N = 1000;
    await publishN(pub, 'work', N, 'w');
    await settle(all(m), N);
    assertOncePerGroup(all(m), 'w', N);
    assert.equal(total(all(m)), N, 'total deliveries == published');
    const [b, c] = [total(m.get('b')!), total(m.get('c')!)];
    t.diagnostic(`b got ${b}, c got ${c}`);
    // b and c are equally near: round robin between them, so neither starves.
    assert.ok(b >= N / 4 && c >= N / 4, `shared between equals: b ${b}, c ${c}`);
  });

  test('a member on the publishing node gets all; removed, work flows to remote members', async (t) => {
    const mesh = await mesh3(t);
    const m = await members(mesh, ['a', 'b', 'c'], 'jobs');
    await mesh.synced();
    const pub = await mesh.node('a').connect();
    const N = 300;
    await publishN(pub, 'jobs', N, 'local');
    await settle(all(m), N);
    assertOncePerGroup(all(m), 'local', N);
    assert.equal(total(m.get('a')!), N, 'the local member gets every message');
    assert.equal(total(m.get('b')!) + total(m.get('c')!), 0, 'remote members get none');

    m.get('a')![0]!.sub.unsubscribe();
    // The UNSUB is in effect on a once its connection's PING is answered.
    await m.get('a')![0]!.nc.flush();
    await mesh.synced();
    await publishN(pub, 'jobs', N, 'remote');
    const remote = [...m.get('b')!, ...m.get('c')!];
    await settle(remote, N);
    assertOncePerGroup(remote, 'remote', N);
    assert.equal(total(remote), N);
    assert.equal(m.get('a')![0]!.count('remote'), 0);
  });

  test('the local member leaving by disconnect: work flows to remote members', async (t) => {
    const mesh = await mesh3(t);
    const ncA = await mesh.node('a').connect();
    const local = record(ncA, 'jobs2', 'q');
    await ncA.flush();
    const m = await members(mesh, ['c'], 'jobs2');
    await mesh.synced();
    await ncA.close();
    // The server sees the close asynchronously: wait until a has dropped it.
    await checkFor(async () => (await mesh.node('a').meshz()).interest.local === 0);
    await mesh.synced();
    const pub = await mesh.node('a').connect();
    await publishN(pub, 'jobs2', 200, 'x');
    await settle(all(m), 200);
    assertOncePerGroup(all(m), 'x', 200);
    assert.equal(total(all(m)), 200);
    assert.equal(local.got.length, 0);
  });

  test('chain a - b - c, members on b and c, publisher on a: the nearest (b) gets them', async (t) => {
    const mesh = await mesh3(t, chain(3));
    const m = await members(mesh, ['b', 'c'], 'near', 2);
    await mesh.synced();
    const pub = await mesh.node('a').connect();
    const N = 300;
    await publishN(pub, 'near', N, 'n');
    await settle(all(m), N);
    assertOncePerGroup(all(m), 'n', N);
    assert.equal(total(m.get('b')!), N, 'b, one hop away, gets all');
    assert.equal(total(m.get('c')!), 0, 'c, two hops away, gets none');
    // Both of b's local members share them.
    for (const r of m.get('b')!) assert.ok(r.got.length > 0, 'b shares among its own members');

    // Once b has no member, c is the nearest.
    for (const r of m.get('b')!) r.sub.unsubscribe();
    await m.get('b')![0]!.nc.flush();
    await mesh.synced();
    await publishN(pub, 'near', N, 'far');
    await settle(m.get('c')!, N);
    assertOncePerGroup(m.get('c')!, 'far', N);
    assert.equal(total(m.get('c')!), N);
  });

  test('two groups and a plain subscriber on one subject: each group once, plain all', async (t) => {
    const mesh = await mesh3(t);
    const g1: Recorder[] = [];
    const g2: Recorder[] = [];
    for (const name of ['b', 'c']) {
      const nc = await mesh.node(name).connect();
      g1.push(record(nc, 'mixed.>', 'g1'));
      g2.push(record(nc, 'mixed.x', 'g2'));
      await nc.flush();
    }
    const ncC = await mesh.node('c').connect();
    const plain = record(ncC, 'mixed.x');
    await ncC.flush();
    await mesh.synced();
    const pub = await mesh.node('a').connect();
    const N = 400;
    await publishN(pub, 'mixed.x', N, 'm');
    await settle([...g1, ...g2, plain], 3 * N);
    assertOncePerGroup(g1, 'm', N);
    assertOncePerGroup(g2, 'm', N);
    assert.equal(total(g1), N);
    assert.equal(total(g2), N);
    assert.equal(plain.got.length, N);
    assert.deepEqual(plain.dupes(), []);
  });

  test('ring a-b-c-d: the nearest node with members dies, the next nearest takes the work', async (t) => {
    const mesh = await mesh3(t, ring(4));
    const m = await members(mesh, ['b', 'c'], 'die');
    await mesh.synced();
    const pub = await mesh.node('a').connect();
    await publishN(pub, 'die', 100, 'before');
    await settle(all(m), 100);
    assertOncePerGroup(all(m), 'before', 100);
    assert.equal(total(m.get('b')!), 100, 'b (1 hop) is nearer than c (2 hops)');

    await mesh.node('b').close();
    await mesh.synced();
    await publishN(pub, 'die', 100, 'after');
    await settle(m.get('c')!, 100);
    assertOncePerGroup(m.get('c')!, 'after', 100);
    assert.equal(total(m.get('c')!), 100, 'c, reached through d, gets all');
  });
});
