/**
 * Refusals: a wrong token, an unknown protocol version, a link to itself, a
 * second node with a taken name, a second link between two linked nodes.
 * Each is refused (an ERR frame, then close), counted by reason in /meshz,
 * and nothing else is disturbed.
 */
import assert from 'node:assert/strict';
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
import { AUTH, ERR, HELLO, INTEREST, json, LSA, RawPeer } from './raw-peer.js';

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

/** Sends `frames` as a raw peer and collects what comes back until the node closes. */
async function rawExchange(meshPort: number, ...frames: Buffer[]): Promise<RawPeer> {
  const p = await RawPeer.connect(meshPort);
  for (const f of frames) p.write(f);
  try {
    await within(p.waitClosed(3000), 4000, 'the node to close a refused link');
  } finally {
    p.destroy();
  }
  return p;
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

  test('wrong token from a raw peer: an ERR frame, then close; nothing about the node', async (t) => {
    const a = await node(t, { name: 'a' });
    const p = await RawPeer.connect(a.meshPort);
    t.after(() => p.destroy());
    p.write(json(HELLO, { proto: LINK_PROTOCOL_VERSION, nonce: p.nonce, auth: 'token' }));
    const nL = (await p.next(HELLO)).json().nonce as string;
    p.write(json(AUTH, { proof: RawPeer.proof('nope', ['dialer', p.nonce, nL]) }));
    await p.waitClosed();
    const types = p.types();
    assert.ok(types.includes(ERR), `an ERR frame before the close: ${types.join(',')}`);
    assert.deepEqual(
      types.filter((x) => x !== HELLO && x !== ERR),
      [],
      'nothing but HELLO and ERR to an unproven peer',
    );
    assert.ok(!p.received.includes(Buffer.from('"a"')), 'the node name is not revealed');
    assert.equal((await a.meshz()).refused.token, 1);
    await serves(a);
  });

  test('unknown protocol version: refused with ERR, counted as version', async (t) => {
    const a = await node(t, { name: 'a' });
    const p = await rawExchange(
      a.meshPort,
      json(HELLO, { proto: 2, name: 'old', id: 'NOLD', boot: Date.now(), token: 't', cost: 1 }),
    );
    assert.ok(p.types().includes(ERR), `an ERR frame: ${p.types().join(',')}`);
    assert.match(
      p.frames.find((f) => f.type === ERR)!.body.toString(),
      new RegExp(`version 2 \\(this node speaks ${LINK_PROTOCOL_VERSION}\\)`),
    );
    assert.ok(!p.types().some((x) => x === LSA || x === INTEREST || x === AUTH), 'no state sent');
    // v3 (before the account lists): refused the same way, as v3 refused v2.
    const nonce = Buffer.alloc(32, 3).toString('base64');
    const p3 = await rawExchange(a.meshPort, json(HELLO, { proto: 3, nonce, auth: 'token' }));
    assert.match(
      p3.frames.find((f) => f.type === ERR)!.body.toString(),
      /unsupported link protocol version 3/,
    );
    assert.ok(!p3.types().includes(AUTH), 'nothing about the node');
    const z = await a.meshz();
    assert.equal(z.refused.version, 2);
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
