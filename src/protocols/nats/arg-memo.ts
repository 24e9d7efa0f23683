/**
 * The last string the NATS parser decoded for one kind of argument (the
 * publish subject, the reply subject), kept with its bytes: when the next
 * operation carries the same bytes, the same string is handed back, with no
 * decode, and later lookups keyed by it (the match cache, a subscription's
 * encoded target) hit a string whose hash V8 has already computed.
 *
 * Publishers repeat subjects; some repeat reply subjects too (one inbox for
 * every publish ack). Others never do (an inbox per request, as the nats.go
 * and nats.js clients make): for those the memo is `adaptive`, see `decode`.
 */
import { utf8Slice } from '../../util/bytes.js';

const SP = 0x20;
const TAB = 0x09;

/**
 * After this many misses in a row an adaptive memo remembers only every
 * ADAPTIVE_EVERY-th miss: a client whose replies never repeat then costs
 * a length and a last-byte comparison per operation, not a copy.
 */
export const ADAPTIVE_MISSES = 8;
export const ADAPTIVE_EVERY = 32;

export class ArgMemo {
  /** The remembered string and its length in bytes (-1: none). */
  private text = '';
  private len = -1;
  /** Its bytes (made on the first remember: connections that never send a reply pay nothing). */
  private bytes: Buffer | null = null;
  /** Misses in a row (adaptive memos). */
  private misses = 0;

  constructor(
    /** Longest argument remembered, bytes. */
    private readonly max: number,
    private readonly adaptive: boolean,
  ) {}

  /** Length in bytes of the remembered argument (-1: none). */
  get length(): number {
    return this.len;
  }

  /** The remembered string ('' when none). */
  get remembered(): string {
    return this.text;
  }

  /**
   * The remembered string when its bytes start at `s` and are followed by a
   * blank below `len`; else null. (One backward comparison both finds the
   * argument's end and decodes it.)
   */
  followedByBlank(buf: Buffer, s: number, len: number): string | null {
    const n = this.len;
    if (n <= 0 || s + n >= len) return null;
    const c = buf[s + n];
    if (c !== SP && c !== TAB) return null;
    const last = this.bytes!;
    for (let i = n - 1; i >= 0; i--) if (buf[s + i] !== last[i]) return null;
    this.misses = 0;
    return this.text;
  }

  /**
   * The string of `buf[s, e)`: the remembered one when the bytes are the
   * same, else decoded, and remembered unless `keep` is false (or the
   * memo is adaptive and missing, see ADAPTIVE_MISSES).
   */
  decode(buf: Buffer, s: number, e: number, keep = true): string {
    const n = e - s;
    // Backwards: arguments that differ (`orders.1`, `orders.2`, an inbox
    // per request) mostly differ at the end, so a miss costs a byte or two.
    if (n === this.len) {
      const last = this.bytes!;
      let i = n - 1;
      while (i >= 0 && buf[s + i] === last[i]) i--;
      if (i < 0) {
        this.misses = 0;
        return this.text;
      }
    }
    const text = utf8Slice(buf, s, e);
    if (!keep || n > this.max) return text;
    if (this.adaptive) {
      const m = this.misses++;
      if (m >= ADAPTIVE_MISSES && m % ADAPTIVE_EVERY !== 0) return text;
    }
    let last = this.bytes;
    if (last === null) {
      last = Buffer.allocUnsafe(this.max);
      this.bytes = last;
    }
    for (let i = 0; i < n; i++) last[i] = buf[s + i];
    this.len = n;
    this.text = text;
    return text;
  }
}
