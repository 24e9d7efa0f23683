/**
 * XADD's reused header block (xadd-head.ts) is byte for byte the block
 * `encodeEntry` makes for the same one-field entry, across IDs and field
 * names of changing lengths, as one reused writer sees them in turn; a
 * field name that is not printable ASCII or is too long is left to
 * `encodeEntry` (null).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeEntry, parseId } from '../../src/protocols/redis/stream-map.js';
import {
  digits,
  HEAD_FIELD_MAX,
  writeDigits,
  XaddHead,
} from '../../src/protocols/redis/xadd-head.js';

test('the block equals encodeEntry for every ID and printable field, in any order', () => {
  const head = new XaddHead();
  const ids = [
    '0-1',
    '1-0',
    '9-9',
    '10-0',
    '1733500000000-0',
    '1733500000000-12',
    '18446744073709551615-18446744073709551615',
  ];
  const fields = ['f', 'payload', 'payloaD', 'payloads', 'x'.repeat(HEAD_FIELD_MAX), '~!#', 'f'];
  let k = 0;
  for (let round = 0; round < 3; round++) {
    for (const id of ids) {
      for (const f of fields) {
        // Some fields inside a larger buffer, at an offset.
        const fb = Buffer.from(`..${f}..`, 'latin1');
        const block = head.of(id, fb, 2, 2 + f.length);
        const want = encodeEntry(parseId(Buffer.from(id), 0n, true)!, [
          Buffer.from(f),
          Buffer.from('v'),
        ]);
        assert.ok(block !== null, `${id} ${f}`);
        assert.equal(block.toString('latin1'), want.headers.toString('latin1'), `${id} ${f}`);
        k++;
      }
      ids.reverse();
    }
  }
  assert.ok(k > 100);
});

test('names it does not write: empty, too long, a space, control bytes, UTF-8', () => {
  const head = new XaddHead();
  const ok = head.of('1-1', Buffer.from('f'), 0, 1);
  assert.ok(ok !== null);
  const before = ok.toString('latin1');
  for (const f of [
    Buffer.alloc(0),
    Buffer.alloc(HEAD_FIELD_MAX + 1, 0x61),
    Buffer.from('a b'),
    Buffer.from('a\r\n'),
    Buffer.from('größe'),
    Buffer.from([0x7f]),
  ]) {
    assert.equal(head.of('1-2', f, 0, f.length), null);
  }
  // A refusal leaves the last block as it was.
  assert.equal(ok.toString('latin1'), before);
  assert.equal(
    head.of('1-3', Buffer.from('f'), 0, 1)!.toString('latin1'),
    before.replace('1-1', '1-3'),
  );
});

test('ofParts(head, seq) is the block of `<head>-<seq>`, across digit counts, in turn with of', () => {
  const head = new XaddHead();
  const seqs = [0, 1, 9, 10, 99, 100, 12345, 999_999, 1_000_000, Number.MAX_SAFE_INTEGER];
  const heads = ['0', '1', '1733500000000', '18446744073709551615'];
  const f = Buffer.from('field');
  for (let round = 0; round < 2; round++) {
    for (const h of heads) {
      for (const seq of seqs) {
        const text = `${h}-${seq}`;
        const want = encodeEntry(parseId(Buffer.from(text), 0n, true)!, [f, Buffer.from('v')]);
        const got = head.ofParts(h, seq, f, 0, f.length);
        assert.ok(got !== null, text);
        assert.equal(got.toString('latin1'), want.headers.toString('latin1'), text);
        // The whole text through `of`, then parts again: the reused block follows each.
        assert.equal(head.of(text, f, 0, f.length)!.toString('latin1'), got.toString('latin1'));
        const whole = head.ofParts(text, -1, f, 0, f.length);
        assert.equal(whole!.toString('latin1'), want.headers.toString('latin1'), `${text} whole`);
      }
      seqs.reverse();
    }
  }
});

test('digits and writeDigits are String(n) for every size of a safe integer', () => {
  const ns = [0, 9, 10, 99, 100, 999, 1000, 9999, 10000, 99999, 123456];
  for (let p = 1; p <= 2 ** 53; p *= 2) ns.push(p - 1, p, p + 1);
  ns.push(2 ** 31 - 1, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER);
  const out = Buffer.alloc(40, 0x20);
  for (const n of ns) {
    if (n > Number.MAX_SAFE_INTEGER) continue;
    const text = String(n);
    assert.equal(digits(n), text.length, `digits(${n})`);
    out.fill(0x20);
    writeDigits(out, 30, n);
    assert.equal(out.toString('latin1', 30 - text.length, 30), text);
    assert.equal(out[29 - text.length], 0x20, `no byte before ${n}'s digits`);
  }
});
