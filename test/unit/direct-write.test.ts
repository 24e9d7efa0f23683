/**
 * A connection's lone piece goes below the TCP socket's Writable while the
 * socket holds nothing (src/connection/direct-write.ts): the kernel has it
 * when `flush` returns; a piece the kernel cannot take at once waits in
 * libuv, counted in `pendingBytes`, and later writes follow it in order; a
 * write that fails closes the socket, as the Writable would.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, test } from 'node:test';
import { Connection, Flusher } from '../../src/connection/connection.js';
import { rangeView } from '../../src/connection/direct-write.js';
import type { SlowReason } from '../../src/connection/outbound.js';
import type { Transport } from '../../src/connection/transport.js';

class TestConnection extends Connection {
  slow = 0;
  send(bytes: Buffer): void {
    const chunk = this.reserve(bytes.length);
    bytes.copy(chunk, this.writePos);
    this.commit(this.writePos + bytes.length);
  }
  sendRef(bytes: Buffer): void {
    this.queueRef(bytes);
    this.commit(this.writePos);
  }
  protected onSlowConsumer(_reason: SlowReason): void {
    this.slow++;
  }
}

/** A connected pair on a random port: `ours` (the connection's socket) and the peer's end. */
async function pair(): Promise<{ ours: net.Socket; peer: net.Socket; close(): void }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const accepted = once(server, 'connection');
  const ours = net.connect({ port, host: '127.0.0.1', noDelay: true });
  await once(ours, 'connect');
  const [peer] = (await accepted) as [net.Socket];
  return {
    ours,
    peer,
    close() {
      ours.destroy();
      peer.destroy();
      server.close();
    },
  };
}

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (seed * 31 + i * 7) & 0xff;
  return b;
}

/**
 * Sends `count` pieces of `size` bytes (pattern(size, i)), each in a flush of
 * its own, to an idle TCP socket; `afterEach` looks at the connection right
 * after each flush. Asserts the peer got every piece's bytes, in order.
 */
async function flushEach(
  count: number,
  size: number,
  afterEach: (conn: TestConnection, socket: net.Socket) => void = () => {},
): Promise<void> {
  const { ours, peer, close } = await pair();
  try {
    const flusher = new Flusher();
    const conn = new TestConnection(1, ours as unknown as Transport, flusher, 1 << 20);
    const got: Buffer[] = [];
    peer.on('data', (d: Buffer) => got.push(d));
    for (let i = 0; i < count; i++) {
      flusher.begin();
      conn.send(pattern(size, i));
      flusher.end();
      afterEach(conn, ours);
    }
    const want = Buffer.concat(Array.from({ length: count }, (_, i) => pattern(size, i)));
    while (Buffer.concat(got).length < want.length) await once(peer, 'data');
    assert.ok(Buffer.concat(got).equals(want));
  } finally {
    close();
  }
}

describe('Connection: direct writes', () => {
  test('a small flush to an idle TCP socket is in the kernel when flush returns', async () => {
    await flushEach(3, 100, (conn, ours) => {
      // Through the Writable, the callback (and so the release) waits for a tick.
      assert.equal(conn.held, 0, 'released inside the flush');
      assert.equal(conn.pendingBytes, 0);
      assert.equal(ours.writableLength, 0);
    });
  });

  test('a range of a chunk is one view while it is the same range of the same bytes', () => {
    const chunk = Buffer.allocUnsafe(256);
    const v = rangeView(chunk, 0, 100, null);
    assert.equal(rangeView(chunk, 0, 100, v), v, 'the same range: the same view');
    assert.notEqual(rangeView(chunk, 0, 99, v), v, 'another length');
    assert.notEqual(rangeView(chunk, 1, 101, v), v, 'another start');
    assert.notEqual(rangeView(Buffer.allocUnsafe(256), 0, 100, v), v, 'another chunk');
    const w = rangeView(chunk, 10, 20, null);
    assert.equal(w.byteOffset, chunk.byteOffset + 10);
    assert.equal(w.length, 10);
  });

  test('flushes of equal size, one after the other, each send their own bytes', async () => {
    // The chunk starts over after each (written at once): the same range every time.
    await flushEach(20, 64);
  });

  test('a piece the kernel cannot take waits, is counted, and what follows arrives after it', async () => {
    const { ours, peer, close } = await pair();
    try {
      peer.pause();
      const flusher = new Flusher();
      const conn = new TestConnection(1, ours as unknown as Transport, flusher, 1 << 30);
      const big = pattern(8 << 20, 1); // more than the two socket buffers hold
      flusher.begin();
      conn.sendRef(big);
      flusher.end();
      assert.equal(ours.writableLength, 0, 'not in the Writable');
      assert.ok(conn.pendingBytes > 0, 'counted while libuv holds it');
      // As a full socket: what follows waits in the queue until the piece is written.
      assert.ok(conn.held > 0);
      const rest = [pattern(300, 2), pattern(70_000, 3), pattern(5, 4)];
      for (const r of rest) {
        flusher.begin();
        conn.send(r);
        flusher.end();
      }
      assert.equal(ours.writableLength, 0, 'nothing handed on while the piece waits');
      const want = Buffer.concat([big, ...rest]);
      const got: Buffer[] = [];
      let n = 0;
      peer.on('data', (d: Buffer) => {
        got.push(d);
        n += d.length;
      });
      peer.resume();
      while (n < want.length) await once(peer, 'data');
      assert.ok(Buffer.concat(got).equals(want), 'every byte, in order');
      while (conn.held > 0) await new Promise((r) => setImmediate(r));
      assert.equal(conn.pendingBytes, 0);
      assert.equal(conn.slow, 0);
    } finally {
      close();
    }
  });

  test('a direct write that fails closes the socket with the error', async () => {
    const { ours, peer, close } = await pair();
    try {
      ours.pause();
      let error: NodeJS.ErrnoException | null = null;
      ours.on('error', (e) => {
        error = e;
      });
      peer.resetAndDestroy();
      await once(peer, 'close');
      const flusher = new Flusher();
      const conn = new TestConnection(1, ours as unknown as Transport, flusher, 1 << 20);
      const closed = new Promise((r) => ours.once('close', r));
      // The first write may still be taken (the reset not yet seen); a later one fails.
      for (let i = 0; i < 50 && !ours.destroyed; i++) {
        flusher.begin();
        conn.send(pattern(1000, i));
        flusher.end();
        await new Promise((r) => setTimeout(r, 5));
      }
      await closed;
      assert.ok(ours.destroyed);
      assert.match(String((error as NodeJS.ErrnoException | null)?.code), /ECONNRESET|EPIPE/);
    } finally {
      close();
    }
  });
});
