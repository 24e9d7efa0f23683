/**
 * A relay reads into the same bytes again once a read left nothing behind
 * (src/connection/slab-reader.ts, Link.endRun): a - b - c with reads
 * poisoned (WEFT_POISON_READS), c reading through a proxy that stops
 * reading from b for a while, so what b queued for c waits in b. b relays
 * small frames (copied out: the read is reused), large ones (queued by
 * reference: the read is kept) and delivers some to a subscriber of its
 * own (a message: the read is kept); every payload arrives at c and at b
 * as sent, and b's reader from a reused reads. And a relay's kept decision
 * (Link.relayTo) follows its routes when they change.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { poisonReads } from '../../src/connection/shared-read.js';
import { SlabReader } from '../../src/connection/slab-reader.js';
import type { Link } from '../../src/mesh/link.js';
import type { Mesh as CoreMesh } from '../../src/mesh/mesh.js';
import {
  assertExactly,
  checkFor,
  linkTo,
  type MeshNode,
  publishN,
  record,
  settle,
  startMesh,
  startNode,
} from './helpers.js';

function linkFrom(n: MeshNode, peer: string): Link {
  const m = (n as { mesh?: CoreMesh | null }).mesh;
  if (m === undefined || m === null) throw new Error('no in-process mesh');
  for (const l of m.links.values()) if (l.peer === peer && l.state === 'up') return l;
  throw new Error(`${n.name} has no link up from ${peer}`);
}

/** b's slab reader on its link from `peer`. */
function readerFrom(n: MeshNode, peer: string): SlabReader {
  const r = SlabReader.of(linkFrom(n, peer).socket as unknown as Socket);
  if (r === null) throw new Error(`no slab reader on ${n.name}'s link from ${peer}`);
  return r;
}

/** Payload i: its number, then bytes that say it (every 10th past COPY_LIMIT). */
function payload(i: number): Uint8Array {
  const size = i % 10 === 7 ? 40_000 : 16 + (i % 300);
  const b = Buffer.alloc(size, 97 + (i % 26));
  b.writeUInt32BE(i, 0);
  return b;
}

/** Records payload i in `seen` if it is as sent; a probe (under 4 bytes) is ignored. */
function check(data: Uint8Array, seen: Set<number>, errors: string[], who: string): void {
  if (data.length < 4) return;
  const b = Buffer.from(data);
  const i = b.readUInt32BE(0);
  if (i < 1_000_000 && b.equals(Buffer.from(payload(i)))) seen.add(i);
  else errors.push(`${who}: a payload of ${b.length} bytes not as sent (${i})`);
}

/** A TCP proxy to `port` that can stop reading from the target (`hold`) and go on (`release`). */
async function holdingProxy(port: number) {
  const toTarget: Socket[] = [];
  const all: Socket[] = [];
  const server = createServer((inbound) => {
    const out = tcpConnect(port, '127.0.0.1');
    for (const s of [inbound, out]) s.on('error', () => {});
    all.push(inbound, out);
    toTarget.push(out);
    inbound.pipe(out);
    out.pipe(inbound);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    hold: () => {
      for (const s of toTarget) s.unpipe();
    },
    release: () => {
      for (let i = 0; i < toTarget.length; i++) toTarget[i].pipe(all[all.indexOf(toTarget[i]) - 1]);
    },
    close: async () => {
      for (const s of all) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('relay reads', () => {
  const nodes: MeshNode[] = [];
  let proxy: Awaited<ReturnType<typeof holdingProxy>>;
  before(async () => {
    poisonReads(true);
    const a = await startNode({ name: 'a' });
    nodes.push(a);
    const b = await startNode({ name: 'b', links: [a.linkUrl] });
    nodes.push(b);
    proxy = await holdingProxy(b.meshPort);
    nodes.push(await startNode({ name: 'c', links: [`weft://127.0.0.1:${proxy.port}`] }));
  });
  after(async () => {
    for (const n of nodes.reverse()) await n.close();
    await proxy.close();
    poisonReads(process.env.WEFT_POISON_READS === '1');
  });

  test('frames relayed through b while c is slow arrive as sent; b read into one region again', async () => {
    const [a, b, c] = nodes;
    const N = 3000;
    const atC = new Set<number>();
    const atB = new Set<number>();
    const errors: string[] = [];
    const sc = await c.connect();
    sc.subscribe('relay.>', { callback: (_e, m) => check(m.data, atC, errors, 'c') });
    await sc.flush();
    const sb = await b.connect();
    sb.subscribe('relay.b', { callback: (_e, m) => check(m.data, atB, errors, 'b') });
    await sb.flush();
    const pub = await a.connect();
    let probes = 0;
    await checkFor(async () => {
      pub.publish('relay.probe', new Uint8Array([probes++ & 0xff]));
      await pub.flush();
      return probes > 1 && atC.size === 0 && sc.stats().inMsgs > 0;
    }, 10_000);
    await checkFor(async () => {
      pub.publish('relay.b', new Uint8Array([1]));
      await pub.flush();
      return sb.stats().inMsgs > 0;
    }, 10_000);
    const reused = readerFrom(b, 'a').reused;
    const inMsgs = linkFrom(b, 'a').inMsgs;
    proxy.hold();
    for (let i = 0; i < N; i++) {
      pub.publish(i % 100 === 3 ? 'relay.b' : 'relay.c', payload(i));
      if (i % 200 === 199) await pub.flush();
    }
    await pub.flush();
    // b has read and relayed (queued) every one before c reads any of them.
    await checkFor(() => linkFrom(b, 'a').inMsgs - inMsgs >= N, 10_000);
    proxy.release();
    await checkFor(() => atC.size === N || errors.length > 0, 15_000);
    assert.deepEqual(errors, []);
    assert.equal(atC.size, N);
    await checkFor(() => atB.size === N / 100, 5000);
    // Without the reuse no read is given back.
    const r = readerFrom(b, 'a');
    assert.ok(r.reused > reused, `reads reused: ${r.reused - reused}`);
  });
});

describe('relay decisions', () => {
  test("a relay's kept next hop for a head follows a route change", async (t) => {
    // a - b - c, b–c dear; then d joins b and c cheaply: b's way to c is through d.
    const mesh = await startMesh([
      { name: 'a', dials: [] },
      { name: 'b', dials: ['a'] },
      { name: 'c', dials: ['b'], costs: { b: 10 } },
    ]);
    t.after(() => mesh.stopAll());
    const nc = await mesh.node('c').connect();
    const r = record(nc, 'relay.route');
    await nc.flush();
    await mesh.synced();
    const pub = await mesh.node('a').connect();
    await publishN(pub, 'relay.route', 200, 'direct');
    await settle([r], 200);
    assertExactly(r, 'direct', 200, 'c, through b–c');

    await mesh.add({ name: 'd', dials: ['b', 'c'] });
    await mesh.synced();
    await checkFor(async () => {
      const z = await mesh.node('b').meshz();
      return z.nodes.find((n) => n.name === 'c')?.next_hop === 'd';
    });
    const z0 = await mesh.node('b').meshz();
    const [toC, toD] = [linkTo(z0, 'c')!.out_msgs, linkTo(z0, 'd')!.out_msgs];
    await publishN(pub, 'relay.route', 200, 'via-d');
    await settle([r], 400);
    assertExactly(r, 'via-d', 200, 'c, through d');
    const z = await mesh.node('b').meshz();
    // Without forgetting the kept decision, b goes on sending the same head over b–c.
    assert.equal(linkTo(z, 'd')!.out_msgs - toD, 200, 'b relays them to d');
    assert.equal(linkTo(z, 'c')!.out_msgs - toC, 0, 'and none over the dear link');
  });
});
