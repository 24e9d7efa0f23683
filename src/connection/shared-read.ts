/**
 * Plain-TCP client sockets (NATS; Redis, Kafka and MQTT, whose TcpPort asks
 * for it with `sharedRead`) read with `onread` into ONE buffer shared
 * by all of them, reused by every read: a 'data' read is a new ArrayBuffer
 * of the bytes read, and at 1 KiB JetStream publishes those external bytes
 * (~100 MB per 100k messages) drive most major GCs (bench/PROFILE.md,
 * "Issue 16 — jsread (round 10)").
 *
 * This relies on the read contract (src/core/message.ts, the parser's
 * onPub): what a read delivers is valid only during the call; whoever keeps
 * bytes past it copies them. The two by-reference keepers in
 * src/connection copy reads of this buffer (`isSharedRead`): the read
 * slicer's backlog and `Connection.queueRef`; the faces' own keepers are
 * listed in docs/core.md, "Reads". WEFT_POISON_READS=1 overwrites
 * each read after its call, so a keeper that breaks the contract shows in tests.
 */
import { Socket as NetSocket, type Socket } from 'node:net';
import { adoptOnRead } from './onread-slots.js';
import type { Transport } from './transport.js';

export const SHARED_READ_SIZE = 64 * 1024;

const READ: Buffer = Buffer.allocUnsafeSlow(SHARED_READ_SIZE);
let poison = process.env.WEFT_POISON_READS === '1';

/** Turns WEFT_POISON_READS on or off in this process (for tests that run a node in it). */
export function poisonReads(on: boolean): void {
  poison = on;
}

/** Whether reads given back are overwritten (WEFT_POISON_READS; also the slab reader's). */
export function poisoning(): boolean {
  return poison;
}

const SINK = Symbol('weft.sharedReadSink');
const EARLY = Symbol('weft.sharedReadEarly');

type Slotted = Socket & {
  [SINK]?: ((chunk: Buffer) => void) | null;
  [EARLY]?: Buffer | null;
};

/** Whether `buf` is (a view of) the shared read buffer: keep a copy, not it. */
export function isSharedRead(buf: Uint8Array): boolean {
  return buf.buffer === READ.buffer;
}

const next = (): Buffer => READ;

/** A read of an adopted socket (`this`: Node calls it as the socket's method). */
function read(this: Slotted, n: number, buf: Buffer): boolean {
  const sink = this[SINK];
  if (sink === null || sink === undefined) {
    // Not attached yet: keep a copy, stop reading until `onReads`.
    const c = buf.subarray(0, n);
    const early = this[EARLY] ?? null;
    this[EARLY] = early === null ? Buffer.from(c) : Buffer.concat([early, c]);
    return false;
  }
  sink(n === buf.length ? buf : buf.subarray(0, n));
  if (poison) buf.fill(0xee, 0, n);
  return true;
}

/**
 * Paused adopted sockets, and a ref'd timer while there are any: Node
 * pauses an `onread` socket with readStop at once, and a socket not reading
 * keeps no event loop alive; a paused 'data' socket reads on (up to its
 * highWaterMark) and does. So a node whose only work is a held connection
 * (an auth throttle's unref'd delay) lives on, as with 'data'. The timer
 * drops closed sockets each KEEPER_MS.
 */
const KEEPER_MS = 1000;
const paused = new Set<Socket>();
let keeper: NodeJS.Timeout | null = null;

function sweep(): void {
  for (const s of paused) if (s.destroyed) paused.delete(s);
  if (paused.size === 0 && keeper !== null) {
    clearInterval(keeper);
    keeper = null;
  }
}

function pause(this: Socket): Socket {
  if (!this.destroyed) {
    paused.add(this);
    keeper ??= setInterval(sweep, KEEPER_MS);
  }
  return NetSocket.prototype.pause.call(this);
}

function resume(this: Socket): Socket {
  if (paused.delete(this) && paused.size === 0) sweep();
  return NetSocket.prototype.resume.call(this);
}

/**
 * Reads an accepted socket (paused on connect, not yet read) into the
 * shared buffer; false, and nothing changed, when this Node's sockets lack
 * the slots `onread` sets (it then reads with 'data').
 */
export function adoptSharedRead(socket: Socket): boolean {
  if (!adoptOnRead(socket, READ, next, read)) return false;
  (socket as Slotted)[SINK] = null;
  socket.pause = pause;
  socket.resume = resume;
  return true;
}

/** Sends `socket`'s reads to `sink`: from the shared buffer if adopted, else from 'data'. */
export function onReads(socket: Socket | Transport, sink: (chunk: Buffer) => void): void {
  const s = socket as Slotted;
  if (s[SINK] === undefined) {
    socket.on('data', sink);
    return;
  }
  s[SINK] = sink;
  const early = s[EARLY] ?? null;
  if (early !== null) {
    s[EARLY] = null;
    sink(early);
    socket.resume();
  }
}
