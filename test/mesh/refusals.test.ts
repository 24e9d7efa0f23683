/**
 * Refusals: a wrong token, an unknown protocol version, a link to itself, a
 * second node with a taken name, a second link between two linked nodes.
 * Each is refused (an ERR frame, then close), counted by reason in /meshz,
 * and nothing else is disturbed.
 */
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { describe, test } from 'node:test';
import { LINK_PROTOCOL_VERSION } from '../../src/mesh/frames.js';
import { freePort } from '../helpers/nats-server.js';
import {
  assertExactly,
  checkFor,
  type MeshNode,
  type Meshz,
  publishN,
  record,
  settle,
  startNode,
  waitConverged,
  within,
} from './helpers.js';

type T = { after(fn: () => Promise<void>): void };

async function node(t: T, o: Parameters<typeof startNode>[0]): Promise<MeshNode> {
  const n = await startNode(o);
  t.after(() => n.close());
  return n;
}

const upLinks = (z: Meshz) => z.links.filter((l) => l.state === 'up');

/** Still a working server: a client round trip through it. */
async function serves(n: MeshNode): Promise<void> {
  const nc = await n.connect();
  const r = record(nc, 'alive');
  await nc.flush();
  await publishN(nc, 'alive', 3, 'ok');
  await settle([r], 3);
  assertExactly(r, 'ok', 3, `client on ${n.name}`);
  await nc.close();
}

/** Mesh frame: u32 length of what follows, u8 type, body. */
function frame(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length + 1, 0);
  head.writeUInt8(type, 4);
  return Buffer.concat([head, body]);
}

/**
 * Dials a mesh port as a fake peer, sends one HELLO and collects the frames
 * that come back until the node closes the connection.
 */
async function rawHello(
  meshPort: number,
  hello: Record<string, unknown>,
): Promise<{ type: number; body: string }[]> {
  const sock = tcpConnect(meshPort, '127.0.0.1');
  let buf = Buffer.alloc(0);
  sock.on('data', (b: Buffer) => {
    buf = Buffer.concat([buf, b]);
  });
  const closed = new Promise<void>((r) => sock.on('close', () => r()));
  sock.on('error', () => {});
  sock.write(frame(1, Buffer.from(JSON.stringify(hello))));
  try {
    await within(closed, 3000, 'the node to close a refused link');
  } finally {
    sock.destroy();
  }
  const frames: { type: number; body: string }[] = [];
  let off = 0;
  while (off + 5 <= buf.length) {
    const len = buf.readUInt32BE(off);
    if (off + 4 + len > buf.length) break;
    frames.push({
      type: buf.readUInt8(off + 4),
      body: buf.subarray(off + 5, off + 4 + len).toString(),
    });
    off += 4 + len;
  }
  return frames;
}

describe('refusals', () => {
  test('wrong token: refused and counted, no link, both nodes keep working', async (t) => {
    const a = await node(t, { name: 'a' });
    const b = await node(t, { name: 'b', meshToken: 'wrong', links: [a.linkUrl] });
    await checkFor(async () => {
      const [za, zb] = await Promise.all([a.meshz(), b.meshz()]);
      assert.ok(za.refused.token + zb.refused.token >= 1, 'a token refusal is counted');
    }, 3000);
    // The dialer keeps trying (with backoff) and keeps being refused.
    await checkFor(async () => (await a.meshz()).refused.token >= 2, 3000);
    const [za, zb] = await Promise.all([a.meshz(), b.meshz()]);
    assert.deepEqual(upLinks(za), [], 'no link up on a');
    assert.deepEqual(upLinks(zb), [], 'no link up on b');
    assert.ok(!za.nodes.some((n) => n.name === 'b' && n.reachable));
    await serves(a);
    await serves(b);
    // A peer with the right token still links to a.
    const c = await node(t, { name: 'c', links: [a.linkUrl] });
    await waitConverged([a, c], false);
  });

  test('wrong token from a raw peer: an ERR frame, then close', async (t) => {
    const a = await node(t, { name: 'a' });
    const frames = await rawHello(a.meshPort, {
      proto: LINK_PROTOCOL_VERSION,
      name: 'intruder',
      id: 'NINTRUDER',
      boot: Date.now(),
      token: 'nope',
      cost: 1,
    });
    const err = frames.find((f) => f.type === 2);
    assert.ok(err, `an ERR frame before the close: ${JSON.stringify(frames)}`);
    assert.ok(
      !frames.some((f) => f.type === 5 || f.type === 6),
      'no state leaked to a refused peer',
    );
    assert.equal((await a.meshz()).refused.token, 1);
    await serves(a);
  });

  test('unknown protocol version: refused with ERR, counted as version', async (t) => {
    const a = await node(t, { name: 'a' });
    const frames = await rawHello(a.meshPort, {
      proto: 99,
      name: 'future',
      id: 'NFUTURE',
      boot: Date.now(),
      token: 't',
      cost: 1,
    });
    assert.ok(
      frames.some((f) => f.type === 2),
      `an ERR frame: ${JSON.stringify(frames)}`,
    );
    assert.ok(!frames.some((f) => f.type === 5 || f.type === 6), 'no state sent to it');
    const z = await a.meshz();
    assert.equal(z.refused.version, 1);
    assert.deepEqual(upLinks(z), []);
    await serves(a);
  });

  test('a link to itself: refused as self, no link, the node keeps working', async (t) => {
    const port = await freePort();
    const a = await node(t, { name: 'a', meshPort: port, links: [`weft://127.0.0.1:${port}`] });
    assert.equal(a.meshPort, port);
    await checkFor(async () => (await a.meshz()).refused.self >= 1, 3000);
    const z = await a.meshz();
    assert.deepEqual(upLinks(z), [], 'no link to itself');
    assert.ok(!z.nodes.some((n) => n.name === 'a' && n.id !== z.server_id), 'no phantom self');
    await serves(a);
    const b = await node(t, { name: 'b', links: [a.linkUrl] });
    await waitConverged([a, b], false);
  });

  test('two nodes with the same name: refused and counted, no link', async (t) => {
    const a = await node(t, { name: 'twin' });
    const b = await node(t, { name: 'twin', links: [a.linkUrl] });
    await checkFor(async () => {
      const [za, zb] = await Promise.all([a.meshz(), b.meshz()]);
      const n = za.refused.self + za.refused.name + zb.refused.self + zb.refused.name;
      assert.ok(
        n >= 1,
        `same-name refusal counted: a ${JSON.stringify(za.refused)} b ${JSON.stringify(zb.refused)}`,
      );
    }, 3000);
    const [za, zb] = await Promise.all([a.meshz(), b.meshz()]);
    assert.deepEqual(upLinks(za), []);
    assert.deepEqual(upLinks(zb), []);
    await serves(a);
    await serves(b);
  });

  test('two nodes dialling each other: one link stays, the duplicate is counted', async (t) => {
    const portB = await freePort();
    const a = await node(t, { name: 'a', links: [`weft://127.0.0.1:${portB}`] });
    const b = await node(t, { name: 'b', meshPort: portB, links: [a.linkUrl] });
    await waitConverged([a, b], false);
    await checkFor(async () => {
      const [za, zb] = await Promise.all([a.meshz(), b.meshz()]);
      assert.ok(za.refused.duplicate + zb.refused.duplicate >= 1, 'the duplicate is counted');
    }, 3000);
    const [za, zb] = await Promise.all([a.meshz(), b.meshz()]);
    assert.equal(upLinks(za).length, 1, `one link on a: ${JSON.stringify(za.links)}`);
    assert.equal(upLinks(zb).length, 1, `one link on b: ${JSON.stringify(zb.links)}`);
    // "The one dialled by the smaller name stays": a dialled it, so a sees out.
    assert.equal(upLinks(za)[0]!.direction, 'out');
    assert.equal(upLinks(zb)[0]!.direction, 'in');

    const ncB = await b.connect();
    const r = record(ncB, 'dup.link');
    await ncB.flush();
    await waitConverged([a, b], true);
    const pub = await a.connect();
    await publishN(pub, 'dup.link', 500, 'd');
    await settle([r], 500);
    assertExactly(r, 'd', 500, 'sub on b, over the one link');
  });
});
