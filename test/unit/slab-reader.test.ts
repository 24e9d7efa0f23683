/**
 * Reading mesh links with `onread` into a slab (src/connection/slab-reader.ts):
 * both ends of a TCP link read that way, a read's bytes stay as they were
 * after later reads (a relayed run or a payload may still refer to them),
 * and a read that comes before the link attaches waits for it.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import { SLAB_SIZE, SlabReader } from '../../src/connection/slab-reader.js';
import { tcpTransport } from '../../src/mesh/transport.js';
import { checkFor } from '../helpers/poll.js';

/** A listener whose first accepted socket is handed to `onSocket`. */
async function listen(onSocket: (s: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer({ noDelay: true }, onSocket);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

function portOf(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

/**
 * A peer that sends `count` messages of `size` bytes (message i all bytes
 * i % 251), the next each time the reader writes a byte, so every message is
 * a read of its own; `sink` is the reader's (it is told to ask for the next
 * one once a whole message is in). `check` runs once all have come.
 */
async function pacedReads(
  size: number,
  count: number,
  sink: (buf: Buffer, n: number) => boolean,
  check: (reader: SlabReader) => void,
): Promise<void> {
  let peer = null as net.Socket | null;
  const server = await listen((s) => {
    peer = s;
    let i = 0;
    const next = (): void => {
      if (i < count) s.write(Buffer.alloc(size, i++ % 251));
    };
    s.on('data', next);
    next();
  });
  const reader = new SlabReader();
  const socket = reader.bind(
    net.connect({ port: portOf(server), host: '127.0.0.1', onread: reader.onread }),
  );
  let got = 0;
  reader.attach((buf, n) => {
    const free = sink(buf, n);
    got += n;
    if (got % size === 0) socket.write('n');
    return free;
  });
  try {
    await checkFor(() => got === count * size, 10_000);
    check(reader);
  } finally {
    socket.destroy();
    peer?.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

/** Asserts `all` holds message i (bytes i % 251) at each `size` step. */
function assertMessages(all: Buffer, size: number, count: number, what: string): void {
  for (let i = 0; i < count; i++) {
    assert.ok(
      all.subarray(i * size, (i + 1) * size).every((b) => b === i % 251),
      `message ${i} ${what}`,
    );
  }
}

describe('slab reader', () => {
  test('both ends of a TCP mesh link read with a slab, and carry bytes both ways', async () => {
    let accepted = null as net.Socket | null;
    const inbound: Buffer[] = [];
    const listener = await tcpTransport.listen('127.0.0.1', 0, {
      onSocket: (s) => {
        accepted = s;
        const reader = SlabReader.of(s);
        assert.notEqual(reader, null, 'the accepted socket reads with a slab');
        reader!.attach((buf, n) => {
          const chunk = buf.subarray(0, n);
          inbound.push(chunk);
          s.write(chunk);
          return false;
        });
      },
      onRefused: () => {},
      canAccept: () => true,
    });
    const dialled = tcpTransport.connect('127.0.0.1', listener.port);
    const reader = SlabReader.of(dialled);
    assert.notEqual(reader, null, 'the dialled socket reads with a slab');
    const outbound: Buffer[] = [];
    reader!.attach((buf, n) => {
      outbound.push(buf.subarray(0, n));
      return false;
    });
    await new Promise<void>((r) => dialled.once('connect', r));
    dialled.write('ping');
    await checkFor(() => Buffer.concat(outbound).toString() === 'ping');
    assert.equal(Buffer.concat(inbound).toString(), 'ping');
    // The peer's end is still seen as an end (the link closes on it).
    const ended = new Promise<void>((r) => accepted!.once('end', r));
    dialled.end();
    await ended;
    accepted!.destroy();
    await listener.close();
  });

  test("a read's bytes are not overwritten by later reads, across slabs", async () => {
    const size = 4096;
    const count = Math.ceil((3 * SLAB_SIZE) / size);
    const chunks: Buffer[] = [];
    await pacedReads(
      size,
      count,
      (buf, n) => {
        chunks.push(buf.subarray(0, n));
        return false;
      },
      (reader) => {
        assert.ok(reader.slabs >= 3, `${reader.slabs} slabs`);
        assertMessages(Buffer.concat(chunks), size, count, 'intact');
      },
    );
  });

  test('a read its sink reports free is read into again: one slab, the bytes as sent', async () => {
    const size = 4096;
    const count = Math.ceil((3 * SLAB_SIZE) / size);
    const copies: Buffer[] = [];
    const offsets = new Set<number>();
    await pacedReads(
      size,
      count,
      (buf, n) => {
        copies.push(Buffer.from(buf.subarray(0, n)));
        offsets.add(buf.byteOffset);
        return true;
      },
      (reader) => {
        // Without the reuse: 3 slabs or more, a new offset per read.
        assert.equal(reader.slabs, 1);
        assert.equal(reader.reused, copies.length);
        assert.equal(offsets.size, 1, 'every read went to the same region');
        assertMessages(Buffer.concat(copies), size, count, 'as sent');
      },
    );
  });

  test('a read before the sink is attached waits for it, then reading goes on', async () => {
    let peer = null as net.Socket | null;
    const server = await listen((s) => {
      peer = s;
      s.write('abc');
    });
    const reader = new SlabReader();
    const socket = reader.bind(
      net.connect({ port: portOf(server), host: '127.0.0.1', onread: reader.onread }),
    );
    try {
      await checkFor(() => socket.bytesRead === 3);
      const got: Buffer[] = [];
      reader.attach((buf, n) => {
        got.push(buf.subarray(0, n));
        return false;
      });
      assert.equal(Buffer.concat(got).toString(), 'abc');
      peer!.write('def');
      await checkFor(() => Buffer.concat(got).toString() === 'abcdef');
    } finally {
      socket.destroy();
      peer?.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
