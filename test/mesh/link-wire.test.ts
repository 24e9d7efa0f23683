/**
 * One mesh link at the wire level, with a hand-driven peer: HELLO, then
 * heartbeats answered late. A PONG may come back after the next PING left
 * (an RTT longer than the heartbeat, or a peer that was busy); the link is
 * alive and must stay up.
 */
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { describe, test } from 'node:test';
import { LINK_PROTOCOL_VERSION } from '../../src/mesh/frames.js';
import { checkFor, linkTo, startNode, TOKEN } from './helpers.js';

const HELLO = 1;
const ERR = 2;
const PING = 3;
const PONG = 4;

function frame(type: number, body = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length + 1, 0);
  head.writeUInt8(type, 4);
  return Buffer.concat([head, body]);
}

/** A fake peer: sends HELLO, records frame types, answers PINGs on demand. */
function rawPeer(meshPort: number) {
  const sock = tcpConnect(meshPort, '127.0.0.1');
  const types: number[] = [];
  let buf = Buffer.alloc(0);
  let closed = false;
  let autoPong = false;
  sock.on('error', () => {});
  sock.on('close', () => {
    closed = true;
  });
  sock.on('data', (b: Buffer) => {
    buf = Buffer.concat([buf, b]);
    while (buf.length >= 5 && buf.length >= 4 + buf.readUInt32BE(0)) {
      const len = buf.readUInt32BE(0);
      const type = buf.readUInt8(4);
      types.push(type);
      buf = buf.subarray(4 + len);
      if (type === PING && autoPong) sock.write(frame(PONG));
    }
  });
  const hello = {
    proto: LINK_PROTOCOL_VERSION,
    name: 'raw',
    id: 'NRAWPEER',
    boot: Date.now(),
    token: TOKEN,
    cost: 1,
  };
  sock.write(frame(HELLO, Buffer.from(JSON.stringify(hello))));
  return {
    types,
    get closed() {
      return closed;
    },
    pings: () => types.filter((t) => t === PING).length,
    pong(n: number) {
      for (let i = 0; i < n; i++) sock.write(frame(PONG));
    },
    startAutoPong() {
      autoPong = true;
    },
    destroy: () => sock.destroy(),
  };
}

describe('link wire behaviour', () => {
  test('PONGs answered late (two PINGs outstanding) keep the link up', async (t) => {
    const a = await startNode({ name: 'a' });
    t.after(() => a.close());
    const peer = rawPeer(a.meshPort);
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
