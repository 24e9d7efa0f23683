/**
 * Reads a socket with `net.connect`'s `onread` instead of 'data':
 * libuv reads straight into a region of a slab this reader owns, and the
 * callback gets the bytes at once. A 'data' read costs a 64 KiB malloc
 * (shrunk to the bytes read), an ArrayBuffer, the Readable's push and emit
 * and a `maybeReadMore` tick; here it is one Buffer view of the slab
 * (bench/PROFILE.md, "Issue 16 — chain2 (round 10)": a mesh link at low
 * rates reads one frame per wake-up, so this is per message).
 *
 * Each read gets bytes no other read overwrites: the next region starts
 * after them, and a full slab is replaced, never reused (what a reader kept
 * — a relayed run, a message's payload — stays valid, as with 'data'). A
 * region is at most READ_MAX (the size of a 'data' read), at least
 * READ_MIN; a slab is SLAB_SIZE, so a retained read holds at most that.
 *
 * A dialled socket gets it from `net.connect({ onread })`; an accepted one
 * (a listener's, paused on connect) from `adopt`, which sets the same.
 */
import type { Socket } from 'node:net';
import { adoptOnRead } from './onread-slots.js';

export const SLAB_SIZE = 128 * 1024;
export const READ_MAX = 64 * 1024;
export const READ_MIN = 16 * 1024;

const READER = Symbol('weft.slabReader');

type Slotted = Socket & { [READER]?: SlabReader };

/** The `onread` option of `net.connect`. */
export interface OnRead {
  buffer: () => Uint8Array;
  callback: (n: number, buf: Uint8Array) => boolean;
}

export class SlabReader {
  private slab: Buffer = Buffer.allocUnsafeSlow(SLAB_SIZE);
  private at = 0;
  /** Where reads go (null: not yet; one read is copied and waits in `early`). */
  private sink: ((chunk: Buffer) => void) | null = null;
  private early: Buffer | null = null;
  private socket: Socket | null = null;
  /** Slabs allocated (the first included). */
  slabs = 1;

  readonly onread: OnRead = {
    buffer: () => this.region(),
    callback: (n, buf) => this.read(n, buf as Buffer),
  };

  /** The region the next read fills. */
  private region(): Buffer {
    if (SLAB_SIZE - this.at < READ_MIN) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
      this.slabs++;
      this.at = 0;
    }
    return this.slab.subarray(this.at, Math.min(SLAB_SIZE, this.at + READ_MAX));
  }

  private read(n: number, buf: Buffer): boolean {
    // `buf` is the region `region()` returned (a view of the current slab).
    this.at += n;
    const chunk = n === buf.length ? buf : buf.subarray(0, n);
    const sink = this.sink;
    if (sink !== null) {
      sink(chunk);
      return true;
    }
    // Not attached yet (the socket is ready, its link not made): keep this
    // read and stop reading until `attach`.
    this.early = this.early === null ? Buffer.from(chunk) : Buffer.concat([this.early, chunk]);
    return false;
  }

  /** Reads go to `sink` from now on (a read that came before goes first). */
  attach(sink: (chunk: Buffer) => void): void {
    this.sink = sink;
    const early = this.early;
    if (early !== null) {
      this.early = null;
      sink(early);
      this.socket?.resume();
    }
  }

  /** The reader `socket` reads with (null: it emits 'data'). */
  static of(socket: Socket): SlabReader | null {
    return (socket as Slotted)[READER] ?? null;
  }

  /** Marks `socket` (connected with `onread: this.onread`) as read by this reader. */
  bind(socket: Socket): Socket {
    this.socket = socket;
    (socket as Slotted)[READER] = this;
    return socket;
  }

  /**
   * Reads an accepted socket (paused on connect, not yet read) as
   * `onread` would; false, and nothing changed, when this Node's sockets
   * do not have the slots (it then reads with 'data').
   */
  adopt(socket: Socket): boolean {
    if (!adoptOnRead(socket, this.region(), this.onread.buffer, this.onread.callback)) return false;
    this.bind(socket);
    return true;
  }
}
