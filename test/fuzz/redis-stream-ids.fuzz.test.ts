/**
 * A time-bounded fuzz of the short cuts for stream IDs and entries as XADD
 * writes them (src/protocols/redis/stream-map.ts `canonicalIdDash`,
 * `xaddIdEnd`, `storedEntryReply`, `entryOf`, `idOf`; groups `strictId`,
 * `MappedStreams.idOf`): random, near-canonical and mutated IDs, alone
 * and in header blocks. It checks that each short cut gives exactly what
 * the long way gives (parseId; a reference header reader: the first of
 * each header, any case), and that a canonical ID reads as itself.
 *
 * WEFT_FUZZ_SECONDS sets the time (default 3); WEFT_FUZZ_SEED replays a run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachHeader } from '../../src/core/headers.js';
import { encode, encodeAt, encodedSize } from '../../src/protocols/redis/encoder.js';
import { strictId } from '../../src/protocols/redis/groups/access.js';
import { MappedStreams, toKey } from '../../src/protocols/redis/groups/streams-view.js';
import {
  canonicalIdDash,
  type Entry,
  entryOf,
  entryReply,
  formatId,
  idOf,
  parseId,
  type StoredLike,
  storedEntryReply,
} from '../../src/protocols/redis/stream-map.js';
import { makeRng, type Rng, seedFromEnv, withContext } from './nats-frames.js';

const SECONDS = Number(process.env.WEFT_FUZZ_SECONDS ?? '3');
const SEED = seedFromEnv();

const DIGITS = '0123456789';
const ODD = ['-', '+', ' ', '\t', '0', '*', '\u0000', 'x', '\r', '\n', ':', 'é'];

function digits(rng: Rng): string {
  const pick = rng.int(6);
  if (pick === 0) return '18446744073709551615';
  if (pick === 1) return '18446744073709551616';
  if (pick === 2) return '0';
  let s = '';
  const n = rng.range(1, 21);
  for (let i = 0; i < n; i++) s += DIGITS[rng.int(10)];
  return s;
}

/** An ID text: canonical or near it, sometimes mutated. */
function idText(rng: Rng): string {
  let s = `${digits(rng)}-${digits(rng)}`;
  if (rng.chance(0.1)) s = digits(rng);
  const edits = rng.chance(0.5) ? 0 : rng.range(1, 3);
  for (let e = 0; e < edits; e++) {
    const at = rng.int(s.length + 1);
    const kind = rng.int(3);
    if (kind === 0) s = s.slice(0, at) + rng.pick(ODD) + s.slice(at);
    else if (kind === 1) s = s.slice(0, at) + s.slice(at + 1);
    else s = s.slice(0, at) + DIGITS[rng.int(10)] + s.slice(at);
  }
  return s;
}

const FIELD_LINES = [
  '',
  'Redis-Field: f\r\n',
  'Redis-Field: temp\r\n',
  'Redis-Field: a b\r\n',
  'Redis-Field: \r\n',
  'Redis-Field:x\r\n',
  'redis-field: x\r\n',
  'Redis-Field: größe\r\n',
  'Redis-Encoding: resp\r\n',
  'Redis-Field: x\r\nTrace: 1\r\n',
  'Redis-Stream-Id: 1-1\r\n',
];

function block(rng: Rng): Buffer | null {
  if (rng.chance(0.05)) return null;
  const head = rng.chance(0.9)
    ? 'NATS/1.0\r\nRedis-Stream-Id: '
    : rng.pick([
        'NATS/1.0\r\nredis-stream-id: ',
        'NATS/1.0 503\r\nRedis-Stream-Id: ',
        'NATS/1.0\r\nRedis-Stream-Id:',
      ]);
  let s = `${head}${idText(rng)}\r\n${rng.pick(FIELD_LINES)}`;
  s += rng.pick(['\r\n', '\r\n', '\r\n', '', '\r\nX', '\n']);
  const b = Buffer.from(s, 'utf8');
  if (rng.chance(0.1) && b.length > 0) b[rng.int(b.length)] = rng.int(256);
  return b;
}

function longWay(m: StoredLike): Entry {
  const h: Record<string, string> = {};
  if (m.headers !== null) {
    forEachHeader(m.headers, 'utf8', (name, value) => {
      h[name.toLowerCase()] ??= value;
    });
  }
  const raw = h['redis-stream-id'];
  const parsed = raw === undefined ? null : parseId(Buffer.from(raw, 'latin1'), 0n, true);
  return {
    id: parsed ?? { ms: BigInt(m.time), seq: BigInt(m.seq) },
    fields: [Buffer.from(h['redis-field'] ?? 'payload', 'utf8'), m.payload],
  };
}

test('stream ID short cuts: the same as the long way', () => {
  const rng = makeRng(SEED);
  const view = new MappedStreams({} as never);
  const until = Date.now() + SECONDS * 1000;
  let cases = 0;
  while (Date.now() < until) {
    cases++;
    const t = idText(rng);
    const arg = Buffer.from(t, 'utf8');
    withContext(`seed ${SEED}, case ${cases}: id ${JSON.stringify(t)}`, () => {
      const id = parseId(arg, 0n, true);
      const canonical = canonicalIdDash(arg, 0, arg.length) >= 0;
      if (canonical) assert.equal(formatId(id!), t);
      else assert.ok(id === null || formatId(id) !== t);
      assert.equal(strictId(arg), id === null ? null : toKey(id));
    });
    const headers = block(rng);
    // Not JSON, not a RESP array of pairs: the entry is one field whatever the encoding says.
    const m: StoredLike = {
      seq: rng.range(1, 1000),
      time: rng.range(0, 1e6),
      headers,
      payload: Buffer.from('*1\r\n$1\r\nx\r\n'),
    };
    withContext(
      () => `seed ${SEED}, case ${cases}: block ${JSON.stringify(headers?.toString('latin1'))}`,
      () => {
        const want = longWay(m);
        assert.deepEqual(entryOf(m), want);
        assert.deepEqual(idOf(m), want.id);
        // The same bytes in both protocols (an `entry` reply for XADD's blocks).
        for (const p of [2, 3] as const) {
          const r = storedEntryReply(m);
          const buf = Buffer.alloc(encodedSize(r, p));
          assert.equal(encodeAt(r, p, buf, 0), buf.length);
          assert.deepEqual(buf, encode(entryReply(want), p));
        }
        assert.equal(view.idOf({} as never, { ...m, subject: 's' }), toKey(want.id));
      },
    );
  }
  assert.ok(cases > 0);
});
