/**
 * The mesh port against strangers (issue 10, items 1-4), at the wire level:
 * a socket that connects sees a nonce and nothing of the node (no token, no
 * name, no id) until it proves the token; a frame other than the handshake
 * before that closes the link and is counted; strangers hold no memory on
 * their word, are bounded in number and cut at the handshake deadline; and
 * two nodes without a token still link (the same handshake, empty key).
 */
import assert from 'node:assert/strict';
import { type Socket, connect as tcpConnect } from 'node:net';
import { describe, test } from 'node:test';
import { LINK_PROTOCOL_VERSION } from '../../src/mesh/frames.js';
import {
  assertExactly,
  checkFor,
  type MeshNode,
  publishN,
  record,
  settle,
  startNode,
  waitConverged,
} from './helpers.js';
import {
  AUTH,
  ERR,
  frame,
  HELLO,
  INTEREST,
  json,
  LSA,
  MSG,
  msgFrame,
  PING,
  RawPeer,
} from './raw-peer.js';

type T = { after(fn: () => Promise<void> | void): void };

const SECRET = 'correct-horse-battery-staple';
const NAME = 'node-with-a-secret-name';

async function node(t: T, o: Parameters<typeof startNode>[0]): Promise<MeshNode> {
  const n = await startNode(o);
  t.after(() => n.close());
  return n;
}

interface Refused {
  [reason: string]: number;
}
const refused = async (n: MeshNode): Promise<Refused> =>
  (await n.meshz()).refused as unknown as Refused;

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

describe('mesh port security', () => {
  test('a stranger sees a nonce, never the token, the name or the id, and is cut at the deadline', async (t) => {
    const a = await node(t, {
      name: NAME,
      meshToken: SECRET,
      extra: { meshHandshakeTimeoutMs: 800 },
    });
    const z = await a.meshz();
    // Like `nc 127.0.0.1 7422`: connect, read, say nothing.
    const p = await RawPeer.connect(a.meshPort);
    t.after(() => p.destroy());
    const opened = Date.now();
    await p.waitClosed(5000);
    const waited = Date.now() - opened;
    assert.ok(waited >= 700, `cut at the deadline, not before (${waited}ms)`);
    const text = p.received.toString('latin1');
    for (const secret of [SECRET, NAME, z.server_id]) {
      assert.ok(!text.includes(secret), `${JSON.stringify(secret)} not in ${JSON.stringify(text)}`);
    }
    assert.deepEqual(p.types(), [HELLO, ERR], 'a HELLO, then an ERR naming the timeout');
    const hello = p.frames[0]!.json();
    assert.deepEqual(Object.keys(hello).sort(), ['auth', 'nonce', 'proto']);
    assert.equal(hello.proto, LINK_PROTOCOL_VERSION);
    assert.match(p.frames[1]!.body.toString(), /no handshake within 800ms/);
    assert.equal((await refused(a)).handshake_timeout, 1);

    // Each connection gets a fresh nonce.
    const q = await RawPeer.connect(a.meshPort);
    t.after(() => q.destroy());
    const h2 = (await q.next(HELLO)).json();
    assert.notEqual(h2.nonce, hello.nonce);
  });

  test('a stranger that answers HELLO but cannot prove the token learns nothing more', async (t) => {
    const a = await node(t, { name: NAME, meshToken: SECRET });
    const nc = await a.connect();
    const r = record(nc, '>');
    await nc.flush();
    const p = await RawPeer.connect(a.meshPort);
    t.after(() => p.destroy());
    p.write(json(HELLO, { proto: LINK_PROTOCOL_VERSION, nonce: p.nonce, auth: 'token' }));
    const nL = (await p.next(HELLO)).json().nonce as string;
    // A proof with a guessed token, and one replaying the node's own nonce order.
    p.write(json(AUTH, { proof: RawPeer.proof('guess', ['dialer', p.nonce, nL]) }));
    await p.waitClosed();
    assert.deepEqual(p.types(), [HELLO, ERR]);
    const text = p.received.toString('latin1');
    assert.ok(!text.includes(NAME) && !text.includes(SECRET), text);
    assert.equal((await refused(a)).token, 1);
    assert.deepEqual(r.got, [], 'no interest was sent to the stranger, nor anything to clients');
  });

  test('frames before the handshake are not obeyed: the link is closed and counted', async (t) => {
    const a = await node(t, { name: NAME, meshToken: SECRET });
    const nc = await a.connect();
    const r = record(nc, 'orders.>');
    await nc.flush();
    const early: [string, (p: RawPeer) => Promise<void>][] = [
      [
        'MSG to the node, first thing',
        async (p) => p.write(msgFrame('$G', 'orders.new', NAME, 'forged')),
      ],
      [
        'MSG after HELLO',
        async (p) => {
          p.write(json(HELLO, { proto: LINK_PROTOCOL_VERSION, nonce: p.nonce, auth: 'token' }));
          await p.next(HELLO);
          p.write(msgFrame('$G', 'orders.new', NAME, 'forged'));
        },
      ],
      ['PING', async (p) => p.write(frame(PING))],
      [
        'LSA',
        async (p) =>
          p.write(
            json(LSA, { node: 'x', id: 'X', boot: 1, seq: 1, links: [{ node: NAME, cost: 1 }] }),
          ),
      ],
      [
        'INTEREST for everything',
        async (p) =>
          p.write(
            json(INTEREST, {
              node: 'x',
              id: 'X',
              boot: 1,
              seq: 1,
              op: 'snapshot',
              add: [['$G', '>', '']],
              del: [],
            }),
          ),
      ],
    ];
    for (const [i, [what, send]] of early.entries()) {
      const p = await RawPeer.connect(a.meshPort);
      t.after(() => p.destroy());
      await send(p);
      await p.waitClosed();
      assert.ok(p.types().includes(ERR), `${what}: an ERR before the close (${p.types()})`);
      assert.ok(
        !p.types().some((x) => x === LSA || x === INTEREST || x === AUTH),
        `${what}: nothing sent`,
      );
      assert.equal((await refused(a)).unauthenticated, i + 1, `${what}: counted`);
    }
    await serves(a);
    assert.deepEqual(r.got, [], 'no forged message reached a client');
    const z = await a.meshz();
    assert.equal(z.nodes.length, 0, 'no node learnt from a stranger');
  });

  test('200 trickling strangers hold no memory, are bounded and cut at the deadline', async (t) => {
    const timeout = 1000;
    const a = await node(t, {
      name: 'a',
      meshToken: SECRET,
      extra: { meshHandshakeTimeoutMs: timeout },
    });
    const base = process.memoryUsage().arrayBuffers;
    const sockets: Socket[] = [];
    t.after(() => {
      for (const s of sockets) s.destroy();
    });
    const closedAt: number[] = [];
    const start = Date.now();
    let trickle: NodeJS.Timeout | undefined;
    t.after(() => clearInterval(trickle));
    for (let i = 0; i < 200; i++) {
      const s = tcpConnect(a.meshPort, '127.0.0.1');
      s.on('error', () => {});
      s.on('data', () => {});
      s.on('close', () => closedAt.push(Date.now() - start));
      // Half announce a 2 MiB frame; half a frame under the handshake limit.
      const head = Buffer.alloc(5);
      head.writeUInt32BE(i % 2 === 0 ? 2 * 1024 * 1024 : 4000, 0);
      head[4] = MSG;
      s.write(head);
      sockets.push(s);
    }
    let peak = 0;
    // A byte every 50ms each, as long as they are open.
    trickle = setInterval(() => {
      for (const s of sockets) if (!s.destroyed) s.write(Buffer.from([0x41]));
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
    }, 50);
    // The trickle would keep every socket open forever without the deadline:
    // all 200 closing while it runs is the proof. The wait is generous
    // because a loaded machine runs the deadline's timer late.
    await checkFor(() => closedAt.length === 200, timeout + 20_000);
    clearInterval(trickle);
    assert.ok(peak < 32 * 1024 * 1024, `strangers pinned ${peak} bytes`);
    const ref = await refused(a);
    assert.equal(
      ref.protocol + ref.handshake_timeout + ref.handshake_limit,
      200,
      `each stranger counted once: ${JSON.stringify(ref)}`,
    );
    assert.ok(
      ref.protocol > 0,
      'a 2 MiB announcement is refused at once (over the handshake limit)',
    );
    assert.ok(ref.handshake_limit > 0, 'the bound on strangers was hit and counted');
    assert.ok(ref.handshake_timeout > 0, 'those under the bound were cut at the deadline');
    const late = Math.max(...closedAt);
    (t as unknown as { diagnostic(m: string): void }).diagnostic(
      `peak ${peak} bytes held, last cut at ${late}ms, refused ${JSON.stringify(ref)}`,
    );
    assert.equal(((await a.meshz()) as unknown as { handshakes: number }).handshakes, 0);
    // A real peer still links, and the node serves.
    const b = await node(t, { name: 'b', meshToken: SECRET, links: [a.linkUrl] });
    await waitConverged([a, b], false);
    await serves(a);
  });

  test('two nodes without a token link through the same handshake; a token on one side refuses', async (t) => {
    const a = await node(t, { name: 'a', meshToken: '' });
    const b = await node(t, { name: 'b', meshToken: '', links: [a.linkUrl] });
    await waitConverged([a, b], false);
    const ncB = await b.connect();
    const r = record(ncB, 'open.mesh');
    await ncB.flush();
    await waitConverged([a, b], true);
    const ncA = await a.connect();
    await publishN(ncA, 'open.mesh', 10, 'o');
    await settle([r], 10);
    assertExactly(r, 'o', 10, 'sub on b');
    const c = await node(t, { name: 'c', meshToken: 'x', links: [a.linkUrl] });
    await checkFor(async () => (await refused(a)).token >= 1, 3000);
    assert.equal((await c.meshz()).links.filter((l) => l.state === 'up').length, 0);
  });

  test('a default node does not listen for links', async () => {
    const { startServer } = await import('../../src/index.js');
    const s = await startServer({
      host: '127.0.0.1',
      port: 0,
      httpPort: 0,
      jetstream: false,
      logLevel: 'silent',
    });
    try {
      assert.equal(s.meshPort, -1);
      assert.equal(s.node.mesh, null);
      const z = (await (await fetch(`http://127.0.0.1:${s.httpPort}/meshz`)).json()) as {
        enabled: boolean;
      };
      assert.equal(z.enabled, false);
    } finally {
      await s.close();
    }
  });
});
