/**
 * Three nodes, every pair linked: a client on any node sees every other
 * node's subscribers as if they were local, each message exactly once.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { headers } from 'nats';
import {
  assertExactly,
  checkFor,
  enc,
  fullMesh,
  type Mesh,
  publishN,
  quiet,
  record,
  settle,
  startMesh,
} from './helpers.js';

async function withMesh(t: { after(fn: () => Promise<void>): void }, n: number): Promise<Mesh> {
  const mesh = await startMesh(fullMesh(n));
  t.after(() => mesh.stopAll());
  return mesh;
}

describe('full mesh of 3', () => {
  test('every node sees the two others reachable at distance 1', async (t) => {
    const mesh = await withMesh(t, 3);
    for (const n of mesh.running()) {
      const z = await n.meshz();
      assert.equal(z.name, n.name);
      const up = z.links.filter((l) => l.state === 'up').map((l) => l.peer);
      assert.deepEqual(
        up.sort(),
        ['a', 'b', 'c'].filter((x) => x !== n.name),
        `${n.name} links: ${JSON.stringify(z.links)}`,
      );
      for (const other of z.nodes.filter((v) => v.name !== n.name)) {
        assert.equal(other.reachable, true, `${n.name} -> ${other.name} reachable`);
        assert.equal(other.distance, 1, `${n.name} -> ${other.name} distance`);
        assert.equal(other.next_hop, other.name, `${n.name} -> ${other.name} next hop`);
      }
    }
  });

  test('pub on A, subs on B and C: each gets every message exactly once', async (t) => {
    const mesh = await withMesh(t, 3);
    const [a, b, c] = ['a', 'b', 'c'].map((x) => mesh.node(x));
    const ncB = await b!.connect();
    const ncC = await c!.connect();
    const rb = record(ncB, 'orders.new');
    const rc = record(ncC, 'orders.new');
    await Promise.all([ncB.flush(), ncC.flush()]);
    await mesh.synced();

    const pub = await a!.connect();
    const N = 1000;
    await publishN(pub, 'orders.new', N, 'm');
    await settle([rb, rc], 2 * N);
    assertExactly(rb, 'm', N, 'subscriber on B');
    assertExactly(rc, 'm', N, 'subscriber on C');
    // One publisher, one stable path: NATS keeps its order.
    assert.deepEqual(
      rb.got,
      Array.from({ length: N }, (_, i) => `m-${i}`),
      'order on B',
    );
    assert.deepEqual(
      rc.got,
      Array.from({ length: N }, (_, i) => `m-${i}`),
      'order on C',
    );
  });

  test('a subscriber on the publishing node and remote ones: each once', async (t) => {
    const mesh = await withMesh(t, 3);
    const recs = [];
    for (const n of mesh.running()) {
      const nc = await n.connect();
      recs.push({ who: n.name, r: record(nc, 'all.hands') });
      await nc.flush();
    }
    await mesh.synced();
    // Every node publishes its own batch.
    const N = 200;
    for (const n of mesh.running()) {
      const pub = await n.connect();
      await publishN(pub, 'all.hands', N, `from-${n.name}`);
    }
    await settle(
      recs.map((x) => x.r),
      3 * 3 * N,
    );
    for (const { who, r } of recs) {
      for (const from of ['a', 'b', 'c']) assertExactly(r, `from-${from}`, N, `sub on ${who}`);
      assert.equal(r.got.length, 3 * N, `sub on ${who}: total`);
    }
  });

  test('wildcards * and > across nodes match as locally', async (t) => {
    const mesh = await withMesh(t, 3);
    const ncB = await mesh.node('b').connect();
    const ncC = await mesh.node('c').connect();
    const star = record(ncB, 'sensor.*.temp');
    const full = record(ncC, 'sensor.>');
    const exact = record(ncC, 'sensor.x.temp');
    await Promise.all([ncB.flush(), ncC.flush()]);
    await mesh.synced();

    const pub = await mesh.node('a').connect();
    const subjects = ['sensor.x.temp', 'sensor.y.temp', 'sensor.x.humidity', 'sensor.z.temp.raw'];
    const N = 50;
    for (let i = 0; i < N; i++) {
      for (const s of subjects) pub.publish(s, enc(`${s}#${i}`));
    }
    pub.publish('other.x.temp', enc('nobody'));
    await pub.flush();
    // star: 2 subjects; full: 4; exact: 1.
    await settle([star, full, exact], 7 * N);
    const count = (r: typeof star, s: string) => r.got.filter((g) => g.startsWith(`${s}#`)).length;
    assert.deepEqual(star.dupes(), []);
    assert.deepEqual(full.dupes(), []);
    assert.deepEqual(exact.dupes(), []);
    assert.equal(count(star, 'sensor.x.temp'), N);
    assert.equal(count(star, 'sensor.y.temp'), N);
    assert.equal(star.got.length, 2 * N, 'sensor.*.temp gets only its two subjects');
    for (const s of subjects) assert.equal(count(full, s), N, `sensor.> gets ${s}`);
    assert.equal(full.got.length, 4 * N);
    assert.equal(count(exact, 'sensor.x.temp'), N);
    assert.equal(exact.got.length, N, 'a plain and a wildcard subscriber on one node: each once');
    assert.ok(full.subjects.includes('sensor.z.temp.raw'), 'the subject arrives unchanged');
  });
});

describe('full mesh of 3: message content', () => {
  test('headers, reply subjects and large payloads cross a link unchanged', async (t) => {
    const mesh = await withMesh(t, 3);
    const ncB = await mesh.node('b').connect();
    const got: { data: Uint8Array; reply: string; hdr: string | undefined; n: number }[] = [];
    ncB.subscribe('content.>', {
      callback: (_e, m) => {
        got.push({
          data: m.data,
          reply: m.reply ?? '',
          hdr: m.headers?.get('X-Trace'),
          n: m.headers?.values('X-Multi').length ?? 0,
        });
      },
    });
    await ncB.flush();
    await mesh.synced();
    const pub = await mesh.node('a').connect();
    const h = headers();
    h.set('X-Trace', 'abc-123');
    h.append('X-Multi', 'one');
    h.append('X-Multi', 'two');
    pub.publish('content.h', enc('with headers'), { headers: h, reply: 'my.reply.subject' });
    // Sizes around the link's copy/reference boundary and near max_payload.
    const sizes = [0, 1, 1023, 64 * 1024, 600 * 1024];
    for (const size of sizes) {
      const data = new Uint8Array(size);
      for (let i = 0; i < size; i++) data[i] = (i * 31 + size) & 0xff;
      pub.publish(`content.size.${size}`, data);
    }
    await pub.flush();
    await checkFor(() => got.length >= 1 + sizes.length, 5000);
    await quiet(() => got.length);
    assert.equal(got.length, 1 + sizes.length);
    assert.equal(new TextDecoder().decode(got[0]!.data), 'with headers');
    assert.equal(got[0]!.reply, 'my.reply.subject');
    assert.equal(got[0]!.hdr, 'abc-123');
    assert.equal(got[0]!.n, 2, 'a repeated header keeps both values');
    for (const [i, size] of sizes.entries()) {
      const data = got[i + 1]!.data;
      assert.equal(data.length, size, `payload of ${size} bytes`);
      let ok = true;
      for (let j = 0; j < size; j++) if (data[j] !== ((j * 31 + size) & 0xff)) ok = false;
      assert.ok(ok, `payload of ${size} bytes arrives intact`);
    }
  });
});
