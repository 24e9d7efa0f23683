/**
 * Reads accepted client sockets with `onread` into regions of slabs shared
 * by all of them (slab-reader.ts reads one mesh link into slabs of its own).
 * A 'data' read is a 64 KiB malloc shrunk to the bytes read and a new
 * ArrayBuffer; here it is a view of a shared slab (bench/PROFILE.md,
 * "Issue 16 — jsread (round 10)").
 *
 * A read's bytes are never overwritten: each socket owns its region until
 * it moves to another (reads fill it in turn), and a full slab is replaced,
 * never reused; views kept from a read stay valid, as with 'data'. An idle
 * socket holds a region of IDLE_REGION bytes; a read that fills its region
 * moves it to one four times larger, up to READ_MAX.
 */
import type { Socket } from 'node:net';

export const SHARED_SLAB_SIZE = 256 * 1024;
export const READ_MAX = 64 * 1024;
/** The region of a socket that has read little (what an idle one holds). */
export const IDLE_REGION = 1024;
/** A region with less left than this is given up for a new one. */
const REGION_MIN = 512;

const SINK = Symbol('weft.sharedSlabSink');

/** Where a net.Socket keeps what `onread` set (see slab-reader.ts). */
const SLOTS = (() => {
  const { Socket: S } = require_net();
  const by = new Map<string, symbol>();
  for (const s of Object.getOwnPropertySymbols(new S())) by.set(s.description ?? '', s);
  const buffer = by.get('kBuffer');
  const callback = by.get('kBufferCb');
  const gen = by.get('kBufferGen');
  return buffer && callback && gen ? { buffer, callback, gen } : null;
})();

import * as net from 'node:net';

function require_net(): typeof net {
  return net;
}

type Slotted = Socket & {
  [SINK]?: Reader;
  [slot: symbol]: unknown;
  _handle?: { useUserBuffer?: (buf: Uint8Array) => void } | null;
};

let slab: Buffer = Buffer.allocUnsafeSlow(SHARED_SLAB_SIZE);
let at = 0;
/** Slabs allocated by all readers (the first included). */
export let sharedSlabs = 1;

function take(size: number): Buffer {
  if (SHARED_SLAB_SIZE - at < size) {
    slab = Buffer.allocUnsafeSlow(SHARED_SLAB_SIZE);
    sharedSlabs++;
    at = 0;
  }
  const r = slab.subarray(at, at + size);
  at += size;
  return r;
}

class Reader {
  /** The region reads go to (the unread rest of this socket's region). */
  region: Buffer = take(IDLE_REGION);
  sink: ((chunk: Buffer) => void) | null = null;
  early: Buffer | null = null;

  constructor(private readonly socket: Socket) {}

  /** Next buffer: the rest of the region, or a new one. */
  next = (): Buffer => this.region;

  read = (n: number, buf: Buffer): boolean => {
    const len = buf.length;
    const chunk = n === len ? buf : buf.subarray(0, n);
    if (n === len) this.region = take(Math.min(READ_MAX, len * 4 < READ_MAX ? Math.max(len * 4, 16 * 1024) : READ_MAX));
    else if (len - n < REGION_MIN) this.region = take(IDLE_REGION);
    else this.region = buf.subarray(n);
    const sink = this.sink;
    if (sink !== null) {
      sink(chunk);
      return true;
    }
    this.early = this.early === null ? Buffer.from(chunk) : Buffer.concat([this.early, chunk]);
    return false;
  };

  attach(sink: (chunk: Buffer) => void): void {
    this.sink = sink;
    const early = this.early;
    if (early !== null) {
      this.early = null;
      sink(early);
      this.socket.resume();
    }
  }
}

/**
 * Reads an accepted socket (paused on connect, not yet read) into the
 * shared slabs; false, and nothing changed, when this Node's sockets lack
 * the slots (it then reads with 'data').
 */
export function adoptShared(socket: Socket): boolean {
  const s = socket as Slotted;
  const handle = s._handle;
  if (SLOTS === null || typeof handle?.useUserBuffer !== 'function') return false;
  const r = new Reader(socket);
  s[SLOTS.gen] = r.next;
  s[SLOTS.callback] = r.read;
  s[SLOTS.buffer] = r.region;
  handle.useUserBuffer(r.region);
  s[SINK] = r;
  return true;
}

/** Sends `socket`'s reads to `sink`: from the shared slabs if adopted, else from 'data'. */
export function onReads(socket: Socket, sink: (chunk: Buffer) => void): void {
  const r = (socket as Slotted)[SINK];
  if (r !== undefined) r.attach(sink);
  else socket.on('data', sink);
}
