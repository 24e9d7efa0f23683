/**
 * The MSG decoder's caches and the sender's head cache (src/mesh/msg-frame.ts,
 * `SentHead` in frames.ts): frames that share fields with the frame before
 * decode to exactly what was sent, whatever changed (a field of the same
 * length, MSG ↔ MSG_TO, only the destinations, a head too long to keep);
 * a `message()` taken from the reused frame keeps its values after the next
 * frame; and a head written from the cache is the head `writeMsgHead` writes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Dest, FrameParser, SentHead, writeMsgHead } from '../../src/mesh/frames.js';
import { FIELD_CACHE_BYTES, HEAD_CACHE_BYTES, type MsgFrame } from '../../src/mesh/msg-frame.js';
import { encodeMsg, type MsgSpec, meshRecorder, specEvent } from '../fuzz/mesh-frames.js';

const BASE: MsgSpec = {
  ttl: 7,
  account: '$G',
  subject: 'orders.eu',
  reply: '',
  to: '',
  dests: [{ node: 'c', plain: true, queues: [] }],
  headers: null,
  payload: Buffer.from('one'),
};

/** Each spec fed as its own read, through one parser: the events must be the specs'. */
function roundTrip(specs: MsgSpec[]): void {
  const { handler, events } = meshRecorder();
  const parser = new FrameParser(handler, 1 << 20);
  for (const m of specs) assert.equal(parser.feed(encodeMsg(m)), null);
  assert.deepEqual(events, specs.map(specEvent));
}

describe('mesh MSG decoder caches', () => {
  test('a run with one field changed at a time decodes as sent', () => {
    const long = 'x'.repeat(FIELD_CACHE_BYTES + 10);
    const queues: Dest[] = [{ node: 'c', plain: false, queues: ['q1', 'q2'] }];
    roundTrip([
      BASE,
      BASE,
      { ...BASE, subject: 'orders.us' }, // same length, other bytes
      { ...BASE, subject: 'orders.us', ttl: 3, payload: Buffer.from('two') },
      { ...BASE, reply: '_INBOX.1' },
      { ...BASE, reply: '_INBOX.2' },
      { ...BASE, to: 'orders.eu' }, // MSG_TO: the bytes after its reply differ in meaning
      { ...BASE, to: 'orders.eu' },
      BASE,
      { ...BASE, dests: queues },
      { ...BASE, dests: [{ node: 'd', plain: true, queues: [] }] },
      { ...BASE, account: 'other' },
      { ...BASE, subject: long },
      { ...BASE, subject: long },
      { ...BASE, subject: 's'.repeat(HEAD_CACHE_BYTES) },
      { ...BASE, subject: 's'.repeat(HEAD_CACHE_BYTES), headers: Buffer.from('NATS/1.0\r\n\r\n') },
      BASE,
    ]);
  });

  test('a head differing from the kept one in any single byte, at any offset, is decoded anew', () => {
    // The kept head is compared four bytes at a time, then byte by byte:
    // heads of each length mod 4, a subject differing at each position,
    // batched in one read so frames sit at every alignment.
    for (const len of [9, 10, 11, 12, 13]) {
      const subject = 'a'.repeat(len);
      const specs: MsgSpec[] = [];
      for (let i = 0; i < len; i++) {
        specs.push({ ...BASE, subject });
        specs.push({ ...BASE, subject: `${subject.slice(0, i)}b${subject.slice(i + 1)}` });
      }
      specs.push({ ...BASE, subject, dests: [{ node: 'd', plain: true, queues: [] }] });
      specs.push({ ...BASE, subject, payload: Buffer.from('x'.repeat(len)) });
      const { handler, events } = meshRecorder();
      const parser = new FrameParser(handler, 1 << 20);
      assert.equal(parser.feed(Buffer.concat(specs.map(encodeMsg))), null);
      assert.deepEqual(events, specs.map(specEvent));
    }
  });

  test('frames batched in one read, and split byte by byte, decode the same', () => {
    const specs = [BASE, BASE, { ...BASE, reply: 'r' }, BASE, { ...BASE, to: 't' }, BASE];
    const wire = Buffer.concat(specs.map(encodeMsg));
    for (const pieces of [[wire], [...wire].map((b) => Buffer.from([b]))]) {
      const { handler, events } = meshRecorder();
      const parser = new FrameParser(handler, 1 << 20);
      for (const p of pieces) assert.equal(parser.feed(p), null);
      assert.deepEqual(events, specs.map(specEvent));
    }
  });

  test('message() keeps its values after the frame is reused', () => {
    const kept: ReturnType<MsgFrame['message']>[] = [];
    const { handler } = meshRecorder((f) => kept.push(f.message()));
    const parser = new FrameParser(handler, 1 << 20);
    const second = { ...BASE, subject: 'other.subject', payload: Buffer.from('second') };
    parser.feed(Buffer.concat([encodeMsg(BASE), encodeMsg(second)]));
    assert.equal(kept.length, 2);
    assert.equal(kept[0]!.subject, 'orders.eu');
    assert.equal(kept[0]!.payload.toString(), 'one');
    assert.equal(kept[1]!.subject, 'other.subject');
    assert.equal(kept[1]!.payload.toString(), 'second');
  });
});

describe('mesh SentHead', () => {
  /** The frame a link writes for `m`: from the cache when it has the head, else encoded and kept. */
  function write(cache: SentHead, m: MsgSpec): { buf: Buffer; cached: boolean } {
    const hlen = m.headers?.length ?? 0;
    const body = hlen + m.payload.length;
    const buf = Buffer.alloc(4096);
    const d = m.dests[0]!;
    const n = cache.size(m.ttl, m.account, m.subject, m.reply, d, m.to);
    let at: number;
    if (n > 0) {
      at = cache.write(buf, 0, hlen, body);
      // The word-wide write, at an odd offset, writes the same bytes.
      const other = Buffer.alloc(buf.length + 3);
      const view = new DataView(other.buffer, other.byteOffset, other.length);
      assert.equal(cache.writeView(other, view, 3, hlen, body), at + 3);
      assert.ok(other.subarray(3, at + 3).equals(buf.subarray(0, at)));
    } else {
      at = writeMsgHead(buf, 0, m.ttl, m.account, m.subject, m.reply, m.dests, hlen, body, m.to);
      cache.keep(buf, 0, at, m.ttl, m.account, m.subject, m.reply, d, m.to);
    }
    if (m.headers !== null) at += m.headers.copy(buf, at);
    at += m.payload.copy(buf, at);
    return { buf: buf.subarray(0, at), cached: n > 0 };
  }

  test('a frame from the cached head is byte for byte the encoded one', () => {
    const cache = new SentHead();
    const specs: [MsgSpec, boolean][] = [
      [BASE, false],
      [{ ...BASE, payload: Buffer.from('a longer payload') }, true],
      [{ ...BASE, headers: Buffer.from('NATS/1.0\r\nA: b\r\n\r\n') }, true],
      [{ ...BASE, ttl: 6 }, false],
      [{ ...BASE, ttl: 6 }, true],
      [{ ...BASE, ttl: 6, reply: 'r' }, false],
      [{ ...BASE, ttl: 6, reply: 'r', to: 't' }, false],
      [{ ...BASE, ttl: 6, reply: 'r', dests: [{ node: 'c', plain: false, queues: [] }] }, false],
      [{ ...BASE, ttl: 6, reply: 'r', account: 'acc' }, false],
      [{ ...BASE, ttl: 6, reply: 'r', account: 'acc', subject: 'orders.us' }, false],
      [{ ...BASE, ttl: 6, reply: 'r', account: 'acc', subject: 'orders.us' }, true],
    ];
    for (const [m, cached] of specs) {
      const got = write(cache, m);
      assert.equal(got.cached, cached, JSON.stringify({ ...m, payload: undefined }));
      assert.deepEqual(got.buf, encodeMsg(m));
    }
  });

  test('a head longer than the cache is encoded every time', () => {
    const cache = new SentHead();
    const m = { ...BASE, subject: 'l'.repeat(400) };
    assert.equal(write(cache, m).cached, false);
    const again = write(cache, m);
    assert.equal(again.cached, false);
    assert.deepEqual(again.buf, encodeMsg(m));
  });
});
