/**
 * A short payload copied from the bytes it was read in, four bytes at a
 * time through DataViews, with no Buffer view of it.
 *
 * A pub/sub delivery copied the payload with `buf.set(msg.payload)`: the
 * payload's view (`subarray`) costs a `.buffer` read — a C++ getter V8 does
 * not inline, reached through a generic LoadIC — and a typed array per
 * message; in the 1→1 perf profile that view and its copy were ~8 % of the
 * node's user time (bench/PROFILE.md, "Issue 16 — rpub (round 13)"). JS
 * byte loops were slower than the view (round 1); whole words through a
 * DataView are inlined loads and stores. The source's DataView is made once
 * per source buffer: a face reading into the shared read buffer
 * (shared-read.ts) has one for good, any other one per turn.
 */
import { isSharedRead } from '../../connection/shared-read.js';
import { RangeMessage } from '../../core/message.js';

/** Payloads up to this size are copied by words; larger ones natively from their view. */
export const WORD_COPY_MAX = 64;

/** The last source buffer and its DataView (one node-wide: reads are one at a time). */
let lastSource: Buffer | null = null;
let lastView: DataView | null = null;

function forget(): void {
  lastSource = null;
  lastView = null;
}

/**
 * A DataView of `src`: the last one made when `src` is the same buffer. The
 * shared read buffer is kept (it is the node's for good); any other source
 * is let go once the turn that read it is done, so no read is held here.
 */
export function sourceView(src: Buffer): DataView {
  if (src !== lastSource) {
    lastView = new DataView(src.buffer, src.byteOffset, src.length);
    lastSource = src;
    if (!isSharedRead(src)) queueMicrotask(forget);
  }
  return lastView!;
}

/** The source buffer `sourceView` holds now (for tests). */
export function heldSource(): Buffer | null {
  return lastSource;
}

/**
 * The payload's size when `msg` is a range of at most WORD_COPY_MAX bytes
 * (then `copyRangePayload` may copy it); -1 otherwise.
 */
export function rangePayloadSize(msg: unknown): number {
  if (!(msg instanceof RangeMessage)) return -1;
  const n = msg.end - msg.hstart - Math.max(msg.hlen, 0);
  return n <= WORD_COPY_MAX ? n : -1;
}

/** Copies the payload of `msg` (a range, `n` = `rangePayloadSize(msg)`) into `dst` at `at`. */
export function copyRangePayload(dst: DataView, at: number, msg: RangeMessage, n: number): void {
  const src = sourceView(msg.buf);
  const s = msg.hstart + Math.max(msg.hlen, 0);
  let i = 0;
  for (; i + 4 <= n; i += 4) dst.setUint32(at + i, src.getUint32(s + i, true), true);
  for (; i < n; i++) dst.setUint8(at + i, src.getUint8(s + i));
}
