/**
 * One mesh link at the wire level, with a hand-driven peer: the handshake, then
 * heartbeats answered late. A PONG may come back after the next PING left
 * (an RTT longer than the heartbeat, or a peer that was busy); the link is
 * alive and must stay up.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkFor, linkTo, startNode, TOKEN } from './helpers.js';
import { ERR, frame, PING, PONG, RawPeer } from './raw-peer.js';

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
});
