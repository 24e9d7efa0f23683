/**
 * A write below `net.Socket`'s Writable: Node's own `_writeGeneric`, the
 * function its Writable calls, which hands the buffer to libuv (which
 * writes it at once when it can). It skips what the Writable adds around a
 * write that completes at once: its state, an `afterWriteTick` queued with
 * `process.nextTick`, and the tick queue's run after it, which on Node 20
 * allocates a Map (`processPromiseRejections`): ~600 B and 4–5 µs of CPU per
 * write on a mesh round trip (bench/PROFILE.md, "Issue 16 — meshtail
 * (round 11)").
 *
 * Only while the Writable holds nothing (`writableLength` 0, not corked,
 * not connecting): libuv keeps the order of writes on a stream, so a later
 * Writable write goes after this one. The callback gets an error instead of
 * the socket being destroyed: the caller destroys it. TLS sockets and other
 * transports write through their Writable (`canWriteDirect` is false).
 */
import net from 'node:net';
import tls from 'node:tls';

interface RawSocket {
  _writeGeneric(
    writev: boolean,
    data: Buffer,
    encoding: string,
    cb: (err?: Error | null) => void,
  ): unknown;
  readonly connecting: boolean;
  readonly writableCorked: number;
  readonly writableLength: number;
}

/** True when `socket` is a plain TCP socket of a Node that has `_writeGeneric`. */
export function canWriteDirect(socket: unknown): boolean {
  return (
    socket instanceof net.Socket &&
    !(socket instanceof tls.TLSSocket) &&
    typeof (socket as unknown as RawSocket)._writeGeneric === 'function'
  );
}

/**
 * Writes `buf` directly when the socket's Writable holds nothing; `cb` runs
 * once the kernel has it (inside this call, when it took it at once).
 * Returns false, having written nothing, when the Writable must be used.
 */
export function writeDirect(
  socket: unknown,
  buf: Buffer,
  cb: (err?: Error | null) => void,
): boolean {
  const s = socket as RawSocket;
  if (s.writableLength !== 0 || s.writableCorked !== 0 || s.connecting) return false;
  s._writeGeneric(false, buf, 'buffer', cb);
  return true;
}

/**
 * chunk[from, to) as a Buffer: `last` again when it is that range of that
 * chunk. A request-reply connection writes the same range of its reused
 * chunk every time (~95 B of view per flush, bench/PROFILE.md, "Issue 16 —
 * meshmid (round 12)"). The bytes are re-encoded only once the last write
 * of them is done (the chunk is started over only then), so one view
 * serves both writes.
 */
export function rangeView(chunk: Buffer, from: number, to: number, last: Buffer | null): Buffer {
  if (
    last !== null &&
    last.buffer === chunk.buffer &&
    last.byteOffset === chunk.byteOffset + from &&
    last.length === to - from
  ) {
    return last;
  }
  return chunk.subarray(from, to);
}
