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
 *
 * A read its sink reports free (nothing refers to its bytes any more: a
 * relay node copied what it passed on and delivered nothing) is given to
 * the next read again, so a node that only relays reads into one region
 * and allocates no slab (a new 128 KiB slab every two reads was the
 * relay's major GCs, by external memory pressure: bench/PROFILE.md,
 * "Issue 16 — meshmid (round 12)"). WEFT_POISON_READS=1 overwrites a
 * region given back, so a keeper that breaks this shows in tests.
 */
import type { Socket } from 'node:net';
import { adoptOnRead } from './onread-slots.js';
import { poisoning } from './shared-read.js';

export const SLAB_SIZE = 128 * 1024;
export const READ_MAX = 64 * 1024;
export const READ_MIN = 16 * 1024;

const READER = Symbol('weft.slabReader');

type Slotted = Socket & { [READER]?: SlabReader };

/**
 * Gets each read's bytes, buf[0, n) (no view made per read: `buf` is the
 * region read into, longer than n); returns true when nothing refers to
 * them after the call (the region is then read into again), false when
 * something keeps them (a message, a queued reference).
 */
export type SlabSink = (buf: Buffer, n: number) => boolean;

/** The `onread` option of `net.connect`. */
export interface OnRead {
  buffer: () => Uint8Array;
  callback: (n: number, buf: Uint8Array) => boolean;
}

export class SlabReader {
  private slab: Buffer = Buffer.allocUnsafeSlow(SLAB_SIZE);
  private at = 0;
  /** Where reads go (null: not yet; one read is copied and waits in `early`). */
  private sink: SlabSink | null = null;
  private early: Buffer | null = null;
  private socket: Socket | null = null;
  /** Slabs allocated (the first included). */
  slabs = 1;
  /** Reads whose region was given to the next read (their sink reported them free). */
  reused = 0;

  readonly onread: OnRead = {
    buffer: () => this.region(),
    callback: (n, buf) => this.read(n, buf as Buffer),
  };

  /** The last region made, and where: given again while the next read goes to the same bytes. */
  private last: Buffer | null = null;
  private lastAt = -1;

  /** The region the next read fills. */
  private region(): Buffer {
    if (SLAB_SIZE - this.at < READ_MIN) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
      this.slabs++;
      this.at = 0;
      this.last = null;
    }
    // A read given back leaves `at` where it was: the same region again, no view made.
    if (this.last !== null && this.lastAt === this.at) return this.last;
    this.lastAt = this.at;
    this.last = this.slab.subarray(this.at, Math.min(SLAB_SIZE, this.at + READ_MAX));
    return this.last;
  }

  private read(n: number, buf: Buffer): boolean {
    // `buf` is the region `region()` returned (a view of the current slab).
    const from = this.at;
    this.at += n;
    const sink = this.sink;
    if (sink !== null) {
      if (sink(buf, n) && this.at === from + n && buf.buffer === this.slab.buffer) {
        if (poisoning()) buf.fill(0xee, 0, n);
        this.at = from;
        this.reused++;
      }
      return true;
    }
    // Not attached yet (the socket is ready, its link not made): keep this
    // read and stop reading until `attach`.
    const chunk = buf.subarray(0, n);
    this.early = this.early === null ? Buffer.from(chunk) : Buffer.concat([this.early, chunk]);
    return false;
  }

  /** Reads go to `sink` from now on (a read that came before goes first). */
  attach(sink: SlabSink): void {
    this.sink = sink;
    const early = this.early;
    if (early !== null) {
      this.early = null;
      sink(early, early.length);
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
