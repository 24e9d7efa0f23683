/**
 * A time-bounded fuzz of a live node through its mesh port, past a proper
 * handshake: a peer that holds the token links up, then sends random valid
 * frames, MSG frames addressed to the node with odd subjects, destinations
 * and queue lists, LSAs and INTEREST updates with odd content, and mutated
 * bytes. It checks that the node never throws (an uncaught error fails the
 * test process), that a bad frame closes only that link, that its clients
 * keep being served, and that a real peer still links and routes after.
 *
 * WEFT_FUZZ_SECONDS sets the time (default 5, shared with the other parts);
 * WEFT_FUZZ_SEED replays a run.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeControl, FrameType } from '../../src/mesh/frames.js';
import {
  assertExactly,
  publishN,
  record,
  settle,
  startNode,
  TOKEN,
  waitConverged,
  within,
} from '../mesh/helpers.js';
import { frame, PONG, RawPeer } from '../mesh/raw-peer.js';
import { encodeMsg, type MsgSpec, randomFrame, randomMsg } from './mesh-frames.js';
import { makeRng, type Rng, seedFromEnv, subSeed } from './nats-frames.js';

const SECONDS = Number(process.env.WEFT_FUZZ_SECONDS ?? '5');
const SEED = seedFromEnv();
const NAME = 'a';

/** Subjects a peer might send: good, odd, invalid, long, non-ASCII. */
function oddSubject(rng: Rng): string {
  return rng.pick([
    'orders.new',
    'orders.eu.new',
    'orders.*',
    'orders.>',
    '>',
    '*',
    '',
    'a..b',
    '.a',
    'a.',
    'a b',
    'a\tb',
    'ü.日本.🚀',
    '\ufffd',
    `long.${'x'.repeat(rng.pick([200, 255, 256, 4096, 70_000]))}`,
    `q${rng.int(1000)}`,
  ]);
}

function oddName(rng: Rng): string {
  return rng.pick([NAME, NAME, 'fz', 'other', '', 'ü', 'n'.repeat(300)]);
}

/** A MSG frame for this node (and maybe others) with odd fields. */
function msgForNode(rng: Rng): Buffer {
  const m: MsgSpec = randomMsg(rng);
  m.subject = oddSubject(rng) || 'x';
  if (rng.chance(0.3)) m.reply = oddSubject(rng);
  if (rng.chance(0.2)) m.to = oddSubject(rng);
  m.account = rng.pick(['$G', '$G', '', 'other', '$SYS']);
  m.ttl = rng.pick([0, 1, 2, 32, 255]);
  const nd = rng.range(1, 4);
  m.dests = [];
  for (let i = 0; i < nd; i++) {
    const nq = rng.chance(0.5) ? 0 : rng.range(1, rng.chance(0.1) ? 255 : 4);
    const queues = Array.from({ length: nq }, () =>
      rng.pick(['g1', 'g2', 'nope', 'x'.repeat(300), '\u00e9']),
    );
    m.dests.push({ node: oddName(rng), plain: rng.chance(0.7) || nq === 0, queues });
  }
  return encodeMsg(m);
}

/** Subjects a client could subscribe to, some long or wild. */
function goodSubject(rng: Rng): string {
  return rng.pick([
    'orders.new',
    'orders.*',
    'orders.>',
    '>',
    '*.*',
    'ü.日本.🚀',
    `long.${'x'.repeat(rng.pick([255, 256, 70_000]))}`,
    `q${rng.int(1000)}`,
  ]);
}

function oddEntry(rng: Rng, clean: boolean): unknown {
  if (clean) {
    return [rng.pick(['$G', 'acc']), goodSubject(rng), rng.pick(['', '', 'g1', 'x'.repeat(300)])];
  }
  if (rng.chance(0.3)) return rng.pick([[], ['$G'], 'x', null, ['$G', 1, '']]);
  return [
    rng.pick(['$G', '', 'acc']),
    oddSubject(rng),
    rng.pick(['', '', 'g1', 'a b', 'x'.repeat(300)]),
  ];
}

function stateFrame(rng: Rng, seq: number, clean = false): Buffer {
  const node = rng.pick(['fz', 'other', NAME, 'ghost']);
  const base = { node, id: rng.pick(['FZ', 'X', 'Y']), boot: rng.pick([1, Date.now(), 0]), seq };
  if (rng.chance(0.4)) {
    const links = Array.from({ length: rng.int(4) }, () => ({
      node: oddName(rng) || 'fz',
      cost: rng.pick([1, 0, -1, 5, 1e9]),
    }));
    return encodeControl(FrameType.Lsa, { ...base, links });
  }
  const op = clean
    ? rng.pick(['snapshot', 'more', 'delta'])
    : rng.pick(['snapshot', 'delta', 'bogus']);
  const add = Array.from({ length: rng.int(5) }, () => oddEntry(rng, clean));
  const del = Array.from({ length: rng.int(3) }, () => oddEntry(rng, clean));
  return encodeControl(FrameType.Interest, { ...base, op, part: rng.int(3), add, del });
}

function mutate(rng: Rng, b: Buffer): Buffer {
  const out = Buffer.from(b);
  const n = rng.range(1, 3);
  for (let i = 0; i < n && out.length > 0; i++) out[rng.int(out.length)] ^= 1 << rng.int(8);
  return out;
}

/** A frame a well-behaved (if odd) peer might send: data for this node, state, SYNC, PING. */
function cleanFrame(rng: Rng, seq: number): Buffer {
  switch (rng.int(6)) {
    case 0:
    case 1:
    case 2:
      return msgForNode(rng);
    case 3:
    case 4:
      return stateFrame(rng, seq, true);
    default:
      return frame(rng.pick([FrameType.Sync, FrameType.Ping, FrameType.Pong]));
  }
}

function oneFrame(rng: Rng, seq: number): Buffer {
  switch (rng.int(10)) {
    case 0:
    case 1:
      return randomFrame(rng).wire;
    case 2:
    case 3:
    case 4:
      return msgForNode(rng);
    case 5:
    case 6:
      return stateFrame(rng, seq);
    case 7:
      return frame(FrameType.Sync);
    default:
      return mutate(rng, rng.chance(0.5) ? msgForNode(rng) : stateFrame(rng, seq));
  }
}

/** Sessions the first part may run past its time while no link was closed. */
const MAX_SESSIONS = 500;

describe(`mesh link fuzz through the handshake (${SECONDS}s, seed ${SEED})`, () => {
  test('a proven peer sending anything: the node stays up and serves', async (t) => {
    const a = await startNode({ name: NAME, meshToken: TOKEN });
    t.after(() => a.close());
    const nc = await a.connect();
    const everything = record(nc, '>');
    record(nc, 'orders.*', 'g1');
    record(nc, '*', 'g2');
    await nc.flush();
    const rng = makeRng(subSeed(SEED, 21));
    /** The node's client is still served (a node that wrote a broken MSG line loses it). */
    const alive = async (): Promise<void> => {
      assert.ok(!nc.isClosed(), `the client on the node was disconnected (seed ${SEED})`);
      await within(nc.flush(), 5000, 'a client round trip');
    };
    const end = performance.now() + (SECONDS * 1000) / 2;
    let sessions = 0;
    let closedByNode = 0;
    let frames = 0;
    // Past the time, on until a hostile frame has closed a link (a slow run
    // may not have drawn one yet), within a bound.
    while (
      sessions < 10 ||
      performance.now() < end ||
      (closedByNode === 0 && sessions < MAX_SESSIONS)
    ) {
      sessions++;
      const p = await RawPeer.connect(a.meshPort);
      try {
        await p.handshake(TOKEN, { name: `fz${sessions}`, id: `FZ${sessions}`, boot: Date.now() });
        // Most sessions are a peer that is odd but well-formed (so they get
        // deep); the rest end with anything at all.
        const n = rng.range(1, 30);
        const hostile = rng.chance(0.3);
        for (let i = 0; i < n; i++) {
          p.write(hostile && i === n - 1 ? oneFrame(rng, i + 1) : cleanFrame(rng, i + 1));
          frames++;
        }
        // A PING after the batch: its PONG means every frame was handled.
        const pongs = p.types().filter((x) => x === PONG).length;
        p.write(frame(FrameType.Ping));
        const deadline = Date.now() + 3000;
        while (!p.closed && p.types().filter((x) => x === PONG).length <= pongs) {
          if (Date.now() > deadline)
            throw new Error(`no PONG and no close (seed ${SEED}, session ${sessions})`);
          await new Promise((r) => setTimeout(r, 2));
        }
        if (p.closed) closedByNode++;
      } finally {
        p.destroy();
      }
      if (sessions % 10 === 0) await alive();
    }
    t.diagnostic(
      `${sessions} sessions, ${frames} frames, ${closedByNode} closed by the node, ${everything.got.length} delivered; WEFT_FUZZ_SEED=${SEED}`,
    );
    assert.ok(closedByNode > 0, 'bad frames closed links');
    assert.ok(closedByNode < sessions / 2, 'most sessions survived their batch');
    // The node serves its clients and links to a real peer that routes.
    await alive();
    const b = await startNode({ name: 'b', links: [a.linkUrl] });
    t.after(() => b.close());
    const ncB = await b.connect();
    const r = record(ncB, 'after.fuzz');
    await ncB.flush();
    await waitConverged([a, b], true);
    await publishN(nc, 'after.fuzz', 10, 'z');
    await settle([r], 10);
    assertExactly(r, 'z', 10, 'sub on b after the fuzz');
  });
});
