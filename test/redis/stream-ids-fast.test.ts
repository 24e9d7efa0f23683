/**
 * The short cuts for IDs as Redis writes them (stream-map.ts
 * `canonicalIdDash`, `xaddIdEnd`, `storedEntryReply`; groups `strictId`,
 * `MappedStreams.idOf`) give exactly what the long way (parseId, the
 * header reader, entryReply(entryOf)) gives, for canonical IDs and for
 * every near miss: leading zeros, signs, spaces, 2^64-1 and one past it,
 * other headers, other first lines, a second ID header.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { forEachHeader } from '../../src/core/headers.js';
import {
  encode,
  encodeAt,
  encodedSize,
  entryArray,
  R,
  type Reply,
} from '../../src/protocols/redis/encoder.js';
import { strictId } from '../../src/protocols/redis/groups/access.js';
import { toKey } from '../../src/protocols/redis/groups/streams-view.js';
import {
  canonicalIdDash,
  type Entry,
  encodeEntry,
  entryOf,
  entryReply,
  formatId,
  idOf,
  parseId,
  type StoredLike,
  storedEntryReply,
  xaddIdEnd,
} from '../../src/protocols/redis/stream-map.js';

const b = (s: string) => Buffer.from(s, 'latin1');

const TEXTS = [
  '0-0',
  '0-1',
  '1-0',
  '5-12',
  '1700000000000-0',
  '18446744073709551615-18446744073709551615',
  '18446744073709551616-0',
  '0-18446744073709551616',
  '99999999999999999999-1',
  '00-1',
  '01-1',
  '1-01',
  '1-00',
  '-1',
  '1-',
  '-',
  '1--1',
  '1-2-3',
  '+1-2',
  ' 1-2',
  '1-2 ',
  '1',
  '',
  '1-+2',
  '123456789012345678901-1',
  '1-x',
  '1\u00002-3',
];

/**
 * The entry as the header reader makes it (stream-map.ts redisHeaders):
 * the first of each header, any case; the payload here is neither JSON
 * nor a RESP array of pairs, so the entry is one field.
 */
function longWay(m: StoredLike): Entry {
  const h: Record<string, string> = {};
  if (m.headers !== null) {
    forEachHeader(m.headers, 'utf8', (name, value) => {
      h[name.toLowerCase()] ??= value;
    });
  }
  const parsed =
    h['redis-stream-id'] === undefined ? null : parseId(b(h['redis-stream-id']), 0n, true);
  return {
    id: parsed ?? { ms: BigInt(m.time), seq: BigInt(m.seq) },
    fields: [Buffer.from(h['redis-field'] ?? 'payload', 'utf8'), m.payload],
  };
}

/** `encodeAt`'s bytes of `r`, checked against `encode` and `encodedSize`. */
function bytesOf(r: Reply, p: 2 | 3): Buffer {
  const size = encodedSize(r, p);
  const buf = Buffer.alloc(size + 8, 0xee);
  assert.equal(encodeAt(r, p, buf, 4), 4 + size);
  assert.deepEqual(buf.subarray(4, 4 + size), encode(r, p));
  return buf.subarray(4, 4 + size);
}

describe('IDs as Redis writes them, read the short way', () => {
  test('canonicalIdDash accepts exactly the IDs formatId writes back unchanged', () => {
    for (const t of TEXTS) {
      const id = parseId(b(t), 0n, true);
      const canonical = id !== null && formatId(id) === t;
      assert.equal(canonicalIdDash(b(t), 0, t.length) >= 0, canonical, t);
    }
  });

  test('strictId (XACK, XCLAIM) agrees with the long way', () => {
    for (const t of TEXTS) {
      const id = parseId(b(t), 0n, true);
      assert.equal(strictId(b(t)), id === null ? null : toKey(id), t);
    }
  });

  test('idOf, entryOf and the entry reply agree with the header reader', () => {
    const blocks: (string | null)[] = [null, 'NATS/1.0\r\n\r\n'];
    for (const t of TEXTS) {
      blocks.push(
        `NATS/1.0\r\nRedis-Stream-Id: ${t}\r\n\r\n`,
        `NATS/1.0\r\nRedis-Stream-Id: ${t}\r\nRedis-Field: temp\r\n\r\n`,
        `NATS/1.0\r\nRedis-Stream-Id: ${t}\r\nRedis-Field: f\r\n\r\n`,
        `NATS/1.0\r\nRedis-Stream-Id: ${t}\r\nRedis-Field: payload\r\n\r\n`,
        `NATS/1.0\r\nRedis-Stream-Id: ${t}\r\nRedis-Field: a b\r\n\r\n`,
        `NATS/1.0\r\nRedis-Stream-Id: ${t}\r\nRedis-Field: \r\n\r\n`,
        `NATS/1.0\r\nRedis-Stream-Id: ${t}\r\nRedis-Field:  x \r\n\r\n`,
        `NATS/1.0\r\nRedis-Stream-Id: ${t}\r\nRedis-Field:x\r\n\r\n`,
        `NATS/1.0\r\nRedis-Stream-Id: ${t}\r\nredis-field: x\r\n\r\n`,
        `NATS/1.0\r\nRedis-Stream-Id: ${t}\r\nRedis-Field: \u00e9t\u00e9\r\n\r\n`,
        `NATS/1.0\r\nRedis-Stream-Id: ${t}\r\nRedis-Field: x\r\nRedis-Encoding: json\r\n\r\n`,
        `NATS/1.0\r\nRedis-Stream-Id: ${t}\r\nRedis-Field: x\r\n`,
        `NATS/1.0\r\nRedis-Stream-Id: ${t}\r\nRedis-Field: x\r\n\r\nZ`,
        `NATS/1.0\r\nRedis-Stream-Id: ${t}\r\nRedis-Encoding: resp\r\n\r\n`,
        `NATS/1.0\r\nRedis-Stream-Id: ${t}\r\nRedis-Stream-Id: 7-7\r\n\r\n`,
        `NATS/1.0\r\nTrace: 1\r\nRedis-Stream-Id: ${t}\r\n\r\n`,
        `NATS/1.0 503\r\nRedis-Stream-Id: ${t}\r\n\r\n`,
        `NATS/1.0\r\nredis-stream-id: ${t}\r\n\r\n`,
        `NATS/1.0\r\nRedis-Stream-Id: ${t}\r\n`,
        `NATS/1.0\r\nRedis-Stream-Id: ${t}\r\n\r\nX`,
      );
    }
    for (const block of blocks) {
      const m: StoredLike = {
        seq: 9,
        time: 1234,
        headers: block === null ? null : b(block),
        payload: b('*1\r\n$1\r\nx\r\n'),
      };
      const e = entryOf(m);
      assert.deepEqual(e, longWay(m), String(block));
      assert.deepEqual(idOf(m), e.id, String(block));
      // The reply (an `entry` reply for XADD's blocks) makes the bytes of the long way's.
      for (const p of [2, 3] as const) {
        assert.deepEqual(bytesOf(storedEntryReply(m), p), encode(entryReply(e), p), String(block));
      }
      if (block !== null)
        assert.equal(
          xaddIdEnd(m.headers) >= 0,
          block.startsWith('NATS/1.0\r\nRedis-Stream-Id: ') &&
            canonicalIdDash(b(block), 27, block.indexOf('\r', 27)) >= 0,
          block,
        );
    }
    // What XADD writes is read back the short way, a named field too (as a view of the block).
    const named = encodeEntry({ ms: 9n, seq: 9n }, [b('temp'), b('21')]);
    const nm: StoredLike = { seq: 1, time: 0, headers: named.headers, payload: named.payload };
    const short = storedEntryReply(nm);
    assert.equal(short.t, 'entry');
    for (const p of [2, 3] as const) {
      assert.deepEqual(
        bytesOf(short, p),
        encode(entryReply({ id: { ms: 9n, seq: 9n }, fields: [b('temp'), b('21')] }), p),
      );
    }
    // Forwarded (groups/forward.ts) as the array of bulks it stands for.
    assert.deepEqual(
      entryArray(short as Extract<Reply, { t: 'entry' }>),
      R.array([R.bulk(b('9-9')), R.array([R.bulk(b('temp')), R.bulk(b('21'))])]),
    );
    assert.deepEqual(entryOf(nm).fields, [b('temp'), b('21')]);
    const w = encodeEntry({ ms: 1700000000000n, seq: 3n }, [b('payload'), b('v')]);
    assert.ok(xaddIdEnd(w.headers) > 0);
    const dflt = storedEntryReply({ seq: 1, time: 0, headers: w.headers, payload: w.payload });
    assert.equal(dflt.t, 'entry');
    // A value of 64 bytes and more is copied natively: the same bytes.
    const long = { seq: 1, time: 0, headers: w.headers, payload: Buffer.alloc(300, 0x61) };
    for (const p of [2, 3] as const) {
      assert.deepEqual(
        bytesOf(dflt, p),
        encode(
          entryReply({ id: { ms: 1700000000000n, seq: 3n }, fields: [b('payload'), b('v')] }),
          p,
        ),
      );
      assert.deepEqual(
        bytesOf(storedEntryReply(long), p),
        encode(
          entryReply({ id: { ms: 1700000000000n, seq: 3n }, fields: [b('payload'), long.payload] }),
          p,
        ),
      );
    }
  });
});
