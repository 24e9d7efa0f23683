/**
 * Checked JSON (stream.json, consumer state files): every single-byte flip
 * of a checked file is either invalid JSON or a checksum mismatch — never a
 * different object read back silently; files without a checksum still read.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkedJson, parseCheckedJson } from '../../src/jetstream/checked-json.js';

const state = {
  config: { durable_name: 'C', ack_policy: 'explicit', filter_subject: 'orders.>' },
  created: '2026-01-02T03:04:05.678Z',
  cursor: 1234,
  ackFloor: { consumer_seq: 17, stream_seq: 1200 },
  pending: [[1201, 18, 1, 1767323045678]],
};

test('checked JSON reads back what was written, with or without indent', () => {
  assert.deepEqual(parseCheckedJson(checkedJson(state)), state);
  assert.deepEqual(parseCheckedJson(checkedJson(state, 2)), state);
  assert.deepEqual(parseCheckedJson(JSON.stringify(state)), state, 'no checksum: read as it is');
});

test('every flipped byte of a checked JSON file is caught', () => {
  for (const text of [checkedJson(state), checkedJson(state, 2)]) {
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i++) {
      for (const mask of [0x01, 0x04, 0x20]) {
        const b = Buffer.from(bytes);
        b[i]! ^= mask;
        let got: unknown;
        try {
          got = parseCheckedJson(b.toString());
        } catch {
          continue;
        }
        // Only whitespace may change without notice (the same object).
        assert.deepEqual(got, state, `byte ${i} ^ ${mask} read back as another object`);
      }
    }
  }
});

test('checked JSON without indent is the object with its checksum as the last field, byte for byte', () => {
  for (const obj of [state, { a: 1 }, { a: undefined, b: [1, 'x'] }, {}, { a: undefined }]) {
    const text = checkedJson(obj);
    const { checksum } = JSON.parse(text) as { checksum: string };
    assert.equal(text, JSON.stringify({ ...obj, checksum }));
    assert.deepEqual(parseCheckedJson(text), JSON.parse(JSON.stringify(obj)));
  }
});
