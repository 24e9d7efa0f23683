/**
 * Mesh links at the wire level, with hand-driven peers: the handshake, then
 * heartbeats answered late. A PONG may come back after the next PING left
 * (an RTT longer than the heartbeat, or a peer that was busy); the link is
 * alive and must stay up. And subjects no client could be sent, from one
 * link while another sends good ones in turn: each link's are checked.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkFor, linkTo, startNode, TOKEN } from './helpers.js';
import { ERR, frame, msgFrame, PING, PONG, RawPeer } from './raw-peer.js';

/** A fake peer through the handshake: records frame types, answers PINGs on demand. */
async function rawPeer(meshPort: number) {
  const p = await RawPeer.connect(meshPort);
  await p.handshake(TOKEN, { name: 'raw', id: 'NRAWPEER', boot: Date.now() });
  return {
    get types() {
      return p.types();
    },
    get closed() {
      return p.closed;
    },
    pings: () => p.types().filter((t) => t === PING).length,
    pong(n: number) {
      for (let i = 0; i < n; i++) p.write(frame(PONG));
    },
    startAutoPong() {
      p.autoPong = true;
    },
    destroy: () => p.destroy(),
  };
}

describe('link wire behaviour', () => {
  test('PONGs answered late (two PINGs outstanding) keep the link up', async (t) => {
    const a = await startNode({ name: 'a' });
    t.after(() => a.close());
    const peer = await rawPeer(a.meshPort);
    t.after(() => peer.destroy());
    await checkFor(async () => linkTo(await a.meshz(), 'raw') !== undefined, 3000);
    // Hold back the PONGs until two PINGs are out, then answer both.
    await checkFor(() => peer.pings() >= 2, 3000);
    peer.pong(2);
    peer.startAutoPong();
    const seen = peer.pings();
    await checkFor(() => peer.closed || peer.pings() >= seen + 3, 3000);
    assert.equal(peer.closed, false, `the node closed the link; frames: ${peer.types.join(',')}`);
    assert.ok(!peer.types.includes(ERR), 'no ERR frame');
    const l = linkTo(await a.meshz(), 'raw');
    assert.ok(l, 'the link to the peer is still up');
    assert.ok(l.rtt_ms >= 0, 'an RTT was measured');
  });

  test('a subject no client can be sent is dropped on one link while another sends good ones in turn', async (t) => {
    const a = await startNode({ name: 'a' });
    t.after(() => a.close());
    const nc = await a.connect();
    const got: string[] = [];
    nc.subscribe('>', { callback: (_e, m) => got.push(`${m.subject}:${m.string()}`) });
    await nc.flush();
    const good = await RawPeer.connect(a.meshPort);
    t.after(() => good.destroy());
    await good.handshake(TOKEN, { name: 'good', id: 'NGOODPEER', boot: Date.now() });
    const bad = await RawPeer.connect(a.meshPort);
    t.after(() => bad.destroy());
    await bad.handshake(TOKEN, { name: 'bad', id: 'NBADPEER', boot: Date.now() });
    await checkFor(async () => {
      const z = await a.meshz();
      return linkTo(z, 'good') !== undefined && linkTo(z, 'bad') !== undefined;
    }, 3000);
    // In turn: the node checks each link's subjects (a safe one from one
    // link must not let the other's through, nor the other way round).
    for (let i = 1; i <= 3; i++) {
      good.write(msgFrame('$G', 'ok.one', 'a', `good-${i}`));
      await checkFor(() => got.length === i, 3000);
      bad.write(msgFrame('$G', 'not ok', 'a', `bad-${i}`));
    }
    good.write(msgFrame('$G', 'ok.one', 'a', 'good-4'));
    await checkFor(() => got.length === 4, 3000);
    assert.deepEqual(got, ['ok.one:good-1', 'ok.one:good-2', 'ok.one:good-3', 'ok.one:good-4']);
    const z = (await a.meshz()) as unknown as { invalid_subjects: number };
    assert.equal(z.invalid_subjects, 3);
    assert.equal(bad.closed, false, 'the link stays up: the frames are dropped and counted');
  });
});
