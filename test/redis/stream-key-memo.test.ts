/**
 * The stream-name memo of stream-args.ts (`nameOf`, `nameAt`): the last
 * key's name is used only after the key came KEEP_AFTER times in a row
 * (before, each call makes the name as a miss does, so the miss path has
 * V8 type feedback when a new stream comes); names are right through key
 * changes, keys of equal length, and keys that name no stream.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  KEEP_AFTER,
  keyMemo,
  nameAt,
  nameOf,
} from '../../src/protocols/redis/commands/stream-args.js';
import { streamNameOf } from '../../src/protocols/redis/stream-map.js';

/** The name of key `k`, or null when it names no stream (an error reply). */
const want = (k: string): string | null => {
  const n = streamNameOf(Buffer.from(k));
  return 'error' in n ? null : n.name;
};
const got = (r: unknown): string | null => (typeof r === 'string' ? r : null);

test('the kept name is used only after KEEP_AFTER repeats of the key', () => {
  const key = Buffer.from('memo:first');
  const buf = Buffer.concat([Buffer.from('xx'), key, Buffer.from('yy')]);
  nameOf(Buffer.from('memo:other'));
  const h0 = keyMemo.hits;
  // The first call and KEEP_AFTER repeats: all made as misses.
  for (let i = 0; i <= KEEP_AFTER; i++) {
    assert.equal(i % 2 === 0 ? nameAt(buf, 2, 2 + key.length) : nameOf(key), want('memo:first'));
  }
  assert.equal(keyMemo.hits, h0);
  assert.equal(nameAt(buf, 2, 2 + key.length), want('memo:first'));
  assert.equal(nameOf(key), want('memo:first'));
  assert.equal(keyMemo.hits, h0 + 2);
  // Another key (same length) starts over.
  const other = Buffer.from('memo:secnd');
  assert.equal(nameAt(other, 0, other.length), want('memo:secnd'));
  assert.equal(nameOf(key), want('memo:first'));
  assert.equal(keyMemo.hits, h0 + 2);
});

test('names stay right through key changes, equal lengths and keys that name no stream', () => {
  const keys = ['a:1', 'a:2', 'a:1', 'b'.repeat(300), 'a:1', 'c:long:key', 'd'.repeat(256), 'a:2'];
  for (let round = 0; round < 3; round++) {
    for (const k of keys) {
      const b = Buffer.from(`..${k}..`);
      for (let i = 0; i < KEEP_AFTER + 3; i++) {
        assert.equal(got(nameAt(b, 2, 2 + Buffer.byteLength(k))), want(k));
        assert.equal(got(nameOf(Buffer.from(k))), want(k));
      }
    }
  }
});

test('a kept key and another of its length differing in one byte anywhere: each its own name', () => {
  // The kept key is compared four bytes a step and by its last four: every
  // length from 1 to 41 and every position of the differing byte.
  for (let n = 1; n <= 41; n++) {
    const key = Buffer.alloc(n);
    for (let i = 0; i < n; i++) key[i] = 0x61 + ((i * 7 + n) % 26);
    const buf = Buffer.concat([Buffer.from('...'), key, Buffer.from('..')]);
    for (let i = 0; i <= KEEP_AFTER + 1; i++) nameAt(buf, 3, 3 + n);
    const h0 = keyMemo.hits;
    assert.equal(nameAt(buf, 3, 3 + n), want(key.toString()));
    assert.equal(keyMemo.hits, h0 + 1, `kept at length ${n}`);
    for (let p = 0; p < n; p++) {
      const other = Buffer.from(buf);
      other[3 + p] = other[3 + p] === 0x7a ? 0x61 : other[3 + p]! + 1;
      const k = other.subarray(3, 3 + n).toString();
      assert.equal(got(nameAt(other, 3, 3 + n)), want(k), `length ${n}, byte ${p}`);
      // Back to the kept key: counted again from the start.
      for (let i = 0; i <= KEEP_AFTER + 1; i++) nameAt(buf, 3, 3 + n);
    }
  }
});
