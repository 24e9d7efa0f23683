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
import { Connection, Flusher } from '../../src/connection/connection.js';
import type { SlowReason } from '../../src/connection/outbound.js';
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
    const flusher = new Flusher();
    const socket = new LazySocket();
    const conn = new TestConnection(1, socket as unknown as Transport, flusher, 1 << 30);
    const sent: Buffer[] = [];
    for (let batch = 0; batch < 200; batch++) {
      flusher.begin();
      for (let f = 0; f < 30; f++) {
        const b = frame(sent.length, 500);
        sent.push(b);
        conn.send(b);
      }
      flusher.end();
      socket.complete();
    }
    assert.ok(Buffer.concat(socket.received).equals(Buffer.concat(sent)));
    // 3 MB through chunks of at most 64 KiB: a handful while the chunk grows, then one.
    assert.ok(socket.buffersSeen.size <= 8, `${socket.buffersSeen.size} chunks`);
  });

  test('batches larger than a chunk alternate between two chunks, and in-flight bytes stay intact', () => {
    const flusher = new Flusher();
    const socket = new LazySocket();
    const conn = new TestConnection(1, socket as unknown as Transport, flusher, 1 << 30);
    const sent: Buffer[] = [];
    // 200 batches of 100 KiB (past the largest chunk, so each batch seals
    // one and needs another); the socket completes each flush before the
    // next batch.
    let grown = 0;
    for (let batch = 0; batch < 200; batch++) {
      if (batch === 20) grown = socket.buffersSeen.size;
      flusher.begin();
      for (let f = 0; f < 200; f++) {
        const b = frame(sent.length, 512);
        sent.push(b);
        conn.send(b);
      }
      flusher.end();
      socket.complete();
    }
    assert.ok(Buffer.concat(socket.received).equals(Buffer.concat(sent)));
    // New chunks while the chunk grows to its largest size, then the same two.
    assert.equal(socket.buffersSeen.size, grown, 'no chunk allocated after the first 20 batches');
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
    const conn = new TestConnection(1, socket as unknown as Transport, flusher, 1 << 30);
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
  });
});
