/**
 * The word copy of a pub/sub payload from the bytes read
 * (src/protocols/redis/payload-copy.ts): the same bytes as the payload's
 * view, for every size it takes (0 to WORD_COPY_MAX, none a multiple of four
 * spared), at every offset, after a header block or none, with the source
 * switching between buffers and a buffer's bytes changing between copies;
 * a payload past the bound or a message that is not a range is left to the view;
 * a source that is not the shared read buffer is let go after the turn.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RangeMessage } from '../../src/core/message.js';
import {
  copyRangePayload,
  heldSource,
  rangePayloadSize,
  WORD_COPY_MAX,
} from '../../src/protocols/redis/payload-copy.js';

/** Bytes that differ from each neighbour and from `seed`'s other buffers. */
function bytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 37 + seed * 11 + 1) & 0xff;
  return b;
}

function copied(msg: RangeMessage): Buffer {
  const n = rangePayloadSize(msg);
  assert.ok(n >= 0);
  const out = Buffer.alloc(n + 16, 0xee);
  copyRangePayload(new DataView(out.buffer, out.byteOffset, out.length), 8, msg, n);
  // Nothing written outside [8, 8 + n).
  assert.ok(out.subarray(0, 8).every((b) => b === 0xee));
  assert.ok(out.subarray(8 + n).every((b) => b === 0xee));
  return out.subarray(8, 8 + n);
}

test('every size to the bound, at every offset, with and without headers: the view’s bytes', () => {
  const a = bytes(4096, 1);
  const b = bytes(4096, 2);
  let i = 0;
  for (let n = 0; n <= WORD_COPY_MAX; n++) {
    for (let off = 0; off < 9; off++) {
      for (const hlen of [-1, 0, 3, 12]) {
        // Alternate sources: the cached DataView must follow the buffer.
        const src = i++ % 2 === 0 ? a : b;
        const start = off + 100;
        const msg = new RangeMessage('s', '', src, start, hlen, start + Math.max(hlen, 0) + n);
        assert.equal(rangePayloadSize(msg), n);
        assert.deepEqual(copied(msg), msg.payload, `n=${n} off=${off} hlen=${hlen}`);
      }
    }
  }
});

test('a source buffer whose bytes change between copies (a reused read): the new bytes', () => {
  const src = bytes(64, 3);
  const first = new RangeMessage('s', '', src, 5, -1, 5 + 21);
  assert.deepEqual(copied(first), src.subarray(5, 26));
  bytes(64, 4).copy(src);
  const second = new RangeMessage('s', '', src, 5, -1, 5 + 21);
  assert.deepEqual(copied(second), bytes(64, 4).subarray(5, 26));
});

test('past the bound, or not a range: left to the payload view', () => {
  const src = bytes(512, 5);
  assert.equal(rangePayloadSize(new RangeMessage('s', '', src, 0, -1, WORD_COPY_MAX + 1)), -1);
  assert.equal(
    rangePayloadSize(new RangeMessage('s', '', src, 0, 10, 10 + WORD_COPY_MAX)),
    WORD_COPY_MAX,
  );
  assert.equal(rangePayloadSize({ subject: 's', reply: '', headers: null, payload: src }), -1);
});

test('a source that is not the shared read buffer is not held past the turn', async () => {
  const src = bytes(4096, 6);
  const msg = new RangeMessage('s', '', src, 7, -1, 7 + 19);
  assert.deepEqual(copied(msg), src.subarray(7, 26));
  assert.equal(heldSource(), src);
  await new Promise<void>((r) => queueMicrotask(r));
  assert.equal(heldSource(), null);
  // Made again when needed.
  assert.deepEqual(copied(msg), src.subarray(7, 26));
});
