/**
 * The connection's encode chunk (src/connection/connection.ts): a full chunk
 * is started over, not replaced, once the socket has reported every flush
 * written. The fake socket here keeps each write by reference and reads its
 * bytes only when it completes it, as the kernel would: bytes overwritten
 * while still in flight would show up as a difference.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import { CHUNK_MAX, Connection, Flusher } from '../../src/connection/connection.js';
import { type SlowReason, unbounded } from '../../src/connection/outbound.js';
import type { Transport } from '../../src/connection/transport.js';

/** A socket whose writes complete when the test says so. */
class LazySocket extends EventEmitter {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 1;
  destroyed = false;
  closed = false;
  writableLength = 0;
  /** cork() calls not yet uncorked (writes are kept the same either way). */
  corks = 0;
  /** Writes handed over and not yet completed: the buffer (by reference) and its callback. */
  private inflight: { buf: Uint8Array; cb?: () => void }[] = [];
  /** What completed writes carried, in order. */
  readonly received: Buffer[] = [];
  readonly buffersSeen = new Set<ArrayBufferLike>();

  write(chunk: Uint8Array | string, cb?: () => void): boolean {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.buffersSeen.add(buf.buffer);
    this.inflight.push({ buf, cb });
    this.writableLength += buf.length;
    return true;
  }

  /** Completes the oldest `n` writes (all by default): their bytes are read now. */
  complete(n = this.inflight.length): void {
    for (const w of this.inflight.splice(0, n)) {
      this.received.push(Buffer.from(w.buf));
      this.writableLength -= w.buf.length;
      w.cb?.();
    }
  }

  get pending(): number {
    return this.inflight.length;
  }

  cork(): void {
    this.corks++;
  }
  uncork(): void {
    this.corks--;
  }
  end(): void {}
  destroy(): void {
    this.destroyed = true;
  }
  pause(): void {}
  resume(): void {}
  isPaused(): boolean {
    return false;
  }
}

class TestConnection extends Connection {
  /** Queues `bytes` through the chunk (reserve, copy, commit). */
  send(bytes: Buffer): void {
    const chunk = this.reserve(bytes.length);
    bytes.copy(chunk, this.writePos);
    assert.equal(this.commit(this.writePos + bytes.length), true);
  }
  /** Queues `bytes` by reference (as a relayed run or a large payload is). */
  sendRef(bytes: Buffer): void {
    this.queueRef(bytes);
    assert.equal(this.commit(this.writePos), true);
  }
  protected onSlowConsumer(_reason: SlowReason): void {
    assert.fail('no bound in this test');
  }
}

/** A deterministic byte pattern per frame, so any overwrite shows. */
function frame(i: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let k = 0; k < size; k++) b[k] = (i * 31 + k * 7) & 0xff;
  return b;
}

/**
 * `batches` flushes of `frames` frames of `size` bytes through one
 * connection, the socket completing each flush before the next; `at` runs
 * before each batch. Asserts every byte arrived in order; gives the socket.
 */
function flushBatches(
  batches: number,
  frames: number,
  size: number,
  socket = new LazySocket(),
  at?: (batch: number) => void,
): LazySocket {
  const flusher = new Flusher();
  const conn = new TestConnection(1, socket as unknown as Transport, flusher, 1 << 30);
  const sent: Buffer[] = [];
  for (let batch = 0; batch < batches; batch++) {
    at?.(batch);
    flusher.begin();
    for (let f = 0; f < frames; f++) {
      const b = frame(sent.length, size);
      sent.push(b);
      conn.send(b);
    }
    flusher.end();
    socket.complete();
  }
  assert.ok(
    Buffer.concat(socket.received).equals(Buffer.concat(sent)),
    'bytes arrive intact and in order',
  );
  return socket;
}

describe('Connection: the encode chunk', () => {
  test('bytes in flight are never overwritten when a chunk is started over', () => {
    const flusher = new Flusher();
    const socket = new LazySocket();
    const conn = new TestConnection(1, socket as unknown as Transport, flusher, 1 << 30);
    const sent: Buffer[] = [];
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let batch = 0; batch < 400; batch++) {
      flusher.begin();
      const frames = 1 + rand(40);
      for (let f = 0; f < frames; f++) {
        // Mostly small frames, sometimes large ones (past the carry bound).
        const size = rand(10) === 0 ? 1 + rand(20_000) : 1 + rand(2_000);
        const b = frame(sent.length, size);
        sent.push(b);
        conn.send(b);
      }
      flusher.end();
      // The socket completes at its own pace: at once, later, or a few at a time.
      const mode = rand(4);
      if (mode === 0) socket.complete();
      else if (mode === 1 && socket.pending > 0) socket.complete(1);
    }
    socket.complete();
    assert.ok(
      Buffer.concat(socket.received).equals(Buffer.concat(sent)),
      'bytes arrive intact and in order',
    );
  });

  test('a socket that completes every flush gets the same chunk back, over and over', () => {
    const socket = flushBatches(200, 30, 500);
    // 3 MB through chunks of at most CHUNK_MAX: a handful while the chunk grows, then one.
    assert.ok(socket.buffersSeen.size <= 8, `${socket.buffersSeen.size} chunks`);
  });

  test('batches larger than a chunk alternate between two chunks, and in-flight bytes stay intact', () => {
    // 200 batches of 1.5 chunks (past the largest chunk, so each batch
    // seals one and needs another); the socket completes each flush before
    // the next batch.
    let grown = 0;
    const socket = new LazySocket();
    flushBatches(200, Math.ceil((CHUNK_MAX * 1.5) / 512), 512, socket, (batch) => {
      if (batch === 20) grown = socket.buffersSeen.size;
    });
    // New chunks while the chunk grows to its largest size, then the same two.
    assert.equal(socket.buffersSeen.size, grown, 'no chunk allocated after the first 20 batches');
  });

  test('a 64 KiB read of 1 KiB messages is flushed as one write from one chunk, not a writev', () => {
    const socket = new LazySocket();
    // What one 64 KiB read of 1 KiB PUBs makes for one subscriber: 62 MSG
    // frames of ~1,070 bytes (~66 KB, more than 64 KiB).
    let writes = 0;
    let corked = 0;
    const write = socket.write.bind(socket);
    socket.write = (chunk, cb) => {
      writes++;
      if (socket.corks > 0) corked++;
      return write(chunk, cb);
    };
    let grown = 0;
    let writesBefore = 0;
    let corkedBefore = 0;
    flushBatches(100, 62, 1070, socket, (batch) => {
      if (batch === 20) {
        grown = socket.buffersSeen.size;
        writesBefore = writes;
        corkedBefore = corked;
      }
    });
    assert.equal(writes - writesBefore, 80, 'one write per batch once the chunk has grown');
    assert.equal(corked - corkedBefore, 0, 'no corked (writev) flush once the chunk has grown');
    assert.equal(socket.buffersSeen.size, grown, 'the same chunk, started over each time');
  });

  test('a spare chunk is not reused while a flush that carried part of it is in flight', () => {
    const flusher = new Flusher();
    const socket = new LazySocket();
    const conn = new TestConnection(1, socket as unknown as Transport, flusher, 1 << 30);
    const sent: Buffer[] = [];
    let seed = 777;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let batch = 0; batch < 300; batch++) {
      flusher.begin();
      // Batches around the chunk's size: some seal, some carry, some fit.
      const frames = 1 + rand(300);
      for (let f = 0; f < frames; f++) {
        const b = frame(sent.length, 1 + rand(600));
        sent.push(b);
        conn.send(b);
      }
      flusher.end();
      // The socket lags behind by up to three flushes, or catches up.
      const mode = rand(5);
      if (mode === 0) socket.complete();
      else if (socket.pending > 3) socket.complete(socket.pending - 3);
      else if (mode === 1 && socket.pending > 0) socket.complete(1);
    }
    socket.complete();
    assert.ok(
      Buffer.concat(socket.received).equals(Buffer.concat(sent)),
      'bytes arrive intact and in order',
    );
  });

  test('a socket a flush behind: spare chunks are reused, a burst grows the chunk at once', () => {
    const flusher = new Flusher();
    const socket = new LazySocket();
    const outbound = unbounded();
    const conn = new TestConnection(1, socket as unknown as Transport, flusher, 1 << 30, outbound);
    const sent: Buffer[] = [];
    let afterWarmUp = -1;
    for (let batch = 0; batch < 200; batch++) {
      if (batch === 1) afterWarmUp = conn.chunkAllocs;
      flusher.begin();
      for (let f = 0; f < 200; f++) {
        const b = frame(sent.length, 512);
        sent.push(b);
        conn.send(b);
      }
      flusher.end();
      // The socket completes all but the last flush: one is always in flight.
      if (socket.pending > 1) socket.complete(socket.pending - 1);
    }
    socket.complete();
    assert.ok(Buffer.concat(socket.received).equals(Buffer.concat(sent)));
    // The first 100 KiB batch grows the chunk from 1 KiB to 64 KiB: a handful, not 100.
    assert.ok(afterWarmUp <= 10, `${afterWarmUp} chunks for the first batch`);
    assert.ok(
      conn.chunkAllocs - afterWarmUp <= 3,
      `${conn.chunkAllocs - afterWarmUp} chunks allocated after the first batch`,
    );
    // The node's total (/varz weft.output_chunk_allocs) counts the same allocations.
    assert.equal(outbound.chunkAllocs, conn.chunkAllocs);
  });

  test('pieces by reference and through the chunk, in any mix, arrive in order (a lone piece first or alone)', () => {
    const flusher = new Flusher();
    const socket = new LazySocket();
    const conn = new TestConnection(1, socket as unknown as Transport, flusher, 1 << 30);
    const sent: Buffer[] = [];
    let seed = 777;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let writes = 0;
    for (let batch = 0; batch < 600; batch++) {
      flusher.begin();
      const pieces = 1 + rand(4);
      for (let f = 0; f < pieces; f++) {
        const b = frame(sent.length, 1 + rand(rand(8) === 0 ? 20_000 : 300));
        sent.push(b);
        if (rand(2) === 0) conn.sendRef(b);
        else conn.send(b);
      }
      const before = socket.pending;
      flusher.end();
      writes += socket.pending - before;
      if (rand(3) !== 0) socket.complete();
    }
    socket.complete();
    assert.ok(
      Buffer.concat(socket.received).equals(Buffer.concat(sent)),
      'bytes intact and in order',
    );
    assert.ok(writes > 0);
  });

  test('a lone piece by reference is written as it is, without a copy', () => {
    const flusher = new Flusher();
    const socket = new LazySocket();
    const conn = new TestConnection(1, socket as unknown as Transport, flusher, 1 << 30);
    const b = frame(1, 100);
    flusher.begin();
    conn.sendRef(b);
    flusher.end();
    assert.equal(socket.pending, 1);
    assert.ok(socket.buffersSeen.has(b.buffer), 'the buffer itself was handed to the socket');
    socket.complete();
    assert.ok(socket.received[0].equals(b));
    assert.equal(conn.pendingBytes, 0);
    assert.equal(conn.held, 0);
  });
});

describe('Flusher', () => {
  test('a connection marked while others flush is flushed too (by the next run), none twice in one run', () => {
    const flusher = new Flusher();
    const sockets = [new LazySocket(), new LazySocket(), new LazySocket()];
    const conns = sockets.map(
      (s, i) => new TestConnection(i + 1, s as unknown as Transport, flusher, 1 << 30),
    );
    // The first socket's write queues on the third connection (a flush that
    // marks another connection, as a delivery on write could).
    const write = sockets[0].write.bind(sockets[0]);
    let nested = false;
    sockets[0].write = (chunk: Uint8Array | string, cb?: () => void) => {
      if (!nested) {
        nested = true;
        flusher.begin();
        conns[2].send(frame(9, 10));
        flusher.end();
      }
      return write(chunk, cb);
    };
    for (let round = 0; round < 50; round++) {
      flusher.begin();
      conns[0].send(frame(round, 20));
      conns[1].send(frame(round, 30));
      flusher.end();
    }
    for (const s of sockets) s.complete();
    assert.equal(Buffer.concat(sockets[0].received).length, 50 * 20);
    assert.equal(Buffer.concat(sockets[1].received).length, 50 * 30);
    assert.ok(
      sockets[2].received[0].equals(frame(9, 10)),
      'the connection marked during a run was flushed',
    );
    for (const c of conns) assert.equal(c.pendingBytes, 0);
  });
});
