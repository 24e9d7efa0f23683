/**
 * How a Redis stream is a Weft stream (docs/redis.md, "Streams"). Pure: no
 * I/O; the face's stream access (stream-access.ts) and the command groups
 * (streams, keys, consumer groups) are built on it.
 *
 * - **Key ⇄ stream name.** A key is a stream of the client's account whose
 *   name is the key, with every byte a stream name cannot hold written
 *   `%XX` (upper-case hex): control bytes, space, `.`, `*`, `>`, `/`, `\`,
 *   `%` itself, and bytes ≥ 0x80 unless the key is valid UTF-8 (then they
 *   stay). `orders:eu` is the stream `orders:eu`, `a.b` is `a%2Eb`. A key
 *   whose name would be empty or over 255 bytes is refused. Back, a name
 *   is its key with `%XX` read back when the name is in that form (every
 *   name Redis makes is); any other name is its own UTF-8 bytes.
 * - **Subject.** A stream made by Redis (XADD without NOMKSTREAM, XGROUP
 *   CREATE … MKSTREAM) captures one subject, `redis.stream.<name>`, and
 *   XADD publishes there. On a stream made by another face XADD publishes
 *   to `redis.stream.<name>` when the stream captures it, else to its first
 *   literal subject; a stream with only wildcard subjects (or none: a
 *   mirror) refuses XADD with a message saying which subject to add.
 * - **Entry ID.** XADD keeps the ID in the `Redis-Stream-Id` header. A
 *   message without it (published by NATS, MQTT, HTTP, Kafka) has the ID
 *   `<stored time ms>-<stream sequence>`, which grows with the stream as
 *   long as nobody wrote IDs ahead of the clock (see idOf).
 * - **Fields ⇄ payload.** One field: the payload is its value, the field's
 *   name in `Redis-Field` (left out when it is `payload`). Several fields,
 *   all UTF-8, names unique and not all digits: a JSON object
 *   (`Redis-Encoding: json`), in order. Anything else: the fields as a RESP
 *   array of bulk strings (`Redis-Encoding: resp`), binary-safe. A message
 *   without these headers reads as the one field `payload`.
 */
import { isUtf8 } from 'node:buffer';
import { forEachHeader } from '../../core/headers.js';
import { R, type Reply } from './encoder.js';

// ---------------------------------------------------------------- IDs

/** A Redis stream entry ID: two unsigned 64-bit numbers, compared in order. */
export interface StreamId {
  readonly ms: bigint;
  readonly seq: bigint;
}

export const U64_MAX = 0xffff_ffff_ffff_ffffn;
export const ID_ZERO: StreamId = { ms: 0n, seq: 0n };
export const ID_MAX: StreamId = { ms: U64_MAX, seq: U64_MAX };

/** Redis's error texts for IDs, exactly (clients match on them). */
export const IdErr = {
  invalid: 'ERR Invalid stream ID specified as stream command argument',
  notGreater: 'ERR The ID specified in XADD is equal or smaller than the target stream top item',
  zero: 'ERR The ID specified in XADD must be greater than 0-0',
  exhausted: 'ERR The stream has exhausted the last possible ID, unable to add more items',
  badStart: 'ERR invalid start ID for the interval',
  badEnd: 'ERR invalid end ID for the interval',
} as const;

export function compareIds(a: StreamId, b: StreamId): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}

export function formatId(id: StreamId): string {
  return `${id.ms}-${id.seq}`;
}

/** The ID right after `id`, or null after the last possible one. */
export function incrId(id: StreamId): StreamId | null {
  if (id.seq < U64_MAX) return { ms: id.ms, seq: id.seq + 1n };
  if (id.ms < U64_MAX) return { ms: id.ms + 1n, seq: 0n };
  return null;
}

/** The ID right before `id`, or null before 0-0. */
export function decrId(id: StreamId): StreamId | null {
  if (id.seq > 0n) return { ms: id.ms, seq: id.seq - 1n };
  if (id.ms > 0n) return { ms: id.ms - 1n, seq: U64_MAX };
  return null;
}

const SPACE = new Set([0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]);

/**
 * One part of an ID as Redis reads it (`string2ull`). Redis first tries its
 * strict integer parse, and refuses what that reads as negative; anything
 * else goes to C's strtoull: leading white space, a `+` or `-`, base 10, the
 * whole text, a magnitude of at most 2^64-1, and a `-` negates modulo 2^64.
 * So `-1` is invalid but `-05`, ` -5` and `-18446744073709551615` (which is 1)
 * are not. Only the sequence part can hold a `-` (the first one splits the
 * ID). Null when invalid.
 */
export function parseU64(s: string): bigint | null {
  if (STRICT_NEGATIVE.test(s) && BigInt(s) >= I64_MIN) return null;
  let i = 0;
  while (i < s.length && SPACE.has(s.charCodeAt(i))) i++;
  const negative = s[i] === '-';
  if (negative || s[i] === '+') i++;
  if (i >= s.length) return null;
  for (let j = i; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c < 0x30 || c > 0x39) return null;
  }
  const v = BigInt(s.slice(i));
  if (v > U64_MAX) return null;
  return negative && v !== 0n ? U64_MAX + 1n - v : v;
}

/** What Redis's `string2ll` reads as a negative number (at most 20 characters). */
const STRICT_NEGATIVE = /^-[1-9][0-9]{0,18}$/;
const I64_MIN = -(2n ** 63n);

/** Redis copies an ID into a 128-byte C string: longer is invalid, a NUL ends it. */
function idText(arg: Buffer): string | null {
  if (arg.length > 127) return null;
  const nul = arg.indexOf(0);
  return arg.toString('latin1', 0, nul < 0 ? arg.length : nul);
}

/**
 * An ID argument as Redis's streamGenericParseIDOrReply reads it: `-` and
 * `+` (the smallest and largest ID; refused when `strict`), `<ms>-<seq>`,
 * or `<ms>` with the sequence `missingSeq`. Null: invalid.
 */
export function parseId(arg: Buffer, missingSeq: bigint, strict = false): StreamId | null {
  const s = idText(arg);
  if (s === null) return null;
  if (s === '-') return strict ? null : ID_ZERO;
  if (s === '+') return strict ? null : ID_MAX;
  const dash = s.indexOf('-');
  const ms = parseU64(dash < 0 ? s : s.slice(0, dash));
  if (ms === null) return null;
  if (dash < 0) return { ms, seq: missingSeq };
  const seq = parseU64(s.slice(dash + 1));
  return seq === null ? null : { ms, seq };
}

/** 2^64-1 in decimal (20 digits). */
const U64_TEXT = '18446744073709551615';

/**
 * Where `b[from, to)` is an ID as Redis writes it — `<ms>-<seq>`, each
 * decimal without sign or leading zero and at most 2^64-1 — the index of
 * its dash, else -1. Such a text reads as itself (parseId, then formatId,
 * gives it back), so it can be used as it is; anything else is read the
 * long way (parseId).
 */
export function canonicalIdDash(b: Buffer, from: number, to: number): number {
  let dash = -1;
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    if (c === 0x2d) {
      if (dash >= 0) return -1;
      dash = i;
    } else if (c < 0x30 || c > 0x39) return -1;
  }
  if (dash < 0 || !canonicalPart(b, from, dash) || !canonicalPart(b, dash + 1, to)) return -1;
  return dash;
}

function canonicalPart(b: Buffer, from: number, to: number): boolean {
  const n = to - from;
  if (n < 1 || n > 20) return false;
  if (n > 1 && b[from] === 0x30) return false;
  // Same length, all digits: string order is number order.
  return n < 20 || b.toString('latin1', from, to) <= U64_TEXT;
}

/** The header block XADD writes begins so (its first header is the entry's ID). */
const XADD_HEAD = Buffer.from(`NATS/1.0\r\nRedis-Stream-Id: `, 'latin1');

/**
 * The end (the CR) of the `Redis-Stream-Id` value in a header block whose
 * first header it is, as XADD writes it, with a canonical ID
 * (`canonicalIdDash`); -1 for any other block (read the long way:
 * redisHeaders). The first header is the first occurrence, the one
 * redisHeaders takes.
 */
export function xaddIdEnd(block: Buffer | null): number {
  const from = XADD_HEAD.length;
  if (block === null || block.length < from + 5) return -1;
  if (!bytesAt(block, 0, XADD_HEAD)) return -1;
  const cr = block.indexOf(0x0d, from);
  if (cr < 0 || block[cr + 1] !== 0x0a) return -1;
  return canonicalIdDash(block, from, cr) < 0 ? -1 : cr;
}

/**
 * Whether `b` holds `want` at `at` (`b` long enough). A loop: for these
 * short prefixes Buffer#compare's native call cost more than the bytes,
 * twice per entry read (bench/PROFILE.md, "Issue 16 — rgroup3 (round 10)").
 */
function bytesAt(b: Buffer, at: number, want: Buffer): boolean {
  for (let i = 0; i < want.length; i++) if (b[at + i] !== want[i]) return false;
  return true;
}

/** Where the ID's text starts in a block `xaddIdEnd` accepted. */
export const XADD_ID_AT = XADD_HEAD.length;

/** XADD's ID argument: `*`, `<ms>-*`, or an explicit ID (a lone `<ms>` is `<ms>-0`). */
export type XaddId =
  | { readonly kind: 'auto' }
  | { readonly kind: 'ms'; readonly ms: bigint }
  | { readonly kind: 'explicit'; readonly id: StreamId };

const AUTO_ID: XaddId = Object.freeze({ kind: 'auto' });

export function parseXaddId(arg: Buffer): XaddId | null {
  if (arg.length === 1 && arg[0] === 0x2a /* * */) return AUTO_ID;
  const s = idText(arg);
  if (s === null) return null;
  if (s === '*') return AUTO_ID;
  if (s.endsWith('-*') && s.indexOf('-') === s.length - 2) {
    const ms = parseU64(s.slice(0, -2));
    return ms === null ? null : { kind: 'ms', ms };
  }
  const id = parseId(arg, 0n, true);
  return id === null ? null : { kind: 'explicit', id };
}

/**
 * The ID XADD gives a new entry after `last` (0-0 for a new stream), at
 * time `now` (ms), or Redis's error text. `*`: `now-0`, or after `last`
 * when the clock is behind it.
 */
export function nextXaddId(want: XaddId, last: StreamId, now: bigint): StreamId | string {
  if (want.kind === 'explicit' && want.id.ms === 0n && want.id.seq === 0n) return IdErr.zero;
  if (last.ms === U64_MAX && last.seq === U64_MAX) return IdErr.exhausted;
  switch (want.kind) {
    case 'auto': {
      if (now > last.ms) return { ms: now, seq: 0n };
      return incrId(last) ?? IdErr.exhausted;
    }
    case 'ms': {
      if (want.ms > last.ms) return { ms: want.ms, seq: 0n };
      if (want.ms < last.ms) return IdErr.notGreater;
      if (last.seq === U64_MAX) return IdErr.notGreater;
      return { ms: want.ms, seq: last.seq + 1n };
    }
    case 'explicit': {
      if (compareIds(want.id, last) <= 0) return IdErr.notGreater;
      return want.id;
    }
  }
}

/** A range bound: an inclusive ID, or `(ID` (exclusive), as XRANGE reads it. */
export function parseRangeBound(arg: Buffer, end: boolean): StreamId | string {
  if (arg.length > 0 && arg[0] === 0x28 /* ( */) {
    const id = parseId(arg.subarray(1), end ? U64_MAX : 0n, true);
    if (id === null) return IdErr.invalid;
    const moved = end ? decrId(id) : incrId(id);
    return moved ?? (end ? IdErr.badEnd : IdErr.badStart);
  }
  return parseId(arg, end ? U64_MAX : 0n) ?? IdErr.invalid;
}

// ---------------------------------------------------------------- keys

export {
  keyOfStream,
  REDIS_SUBJECT_PREFIX,
  redisSubject,
  streamNameOf,
  xaddSubject,
} from './stream-keys.js';

// ---------------------------------------------------------------- entries

export const HDR_ID = 'Redis-Stream-Id';
export const HDR_FIELD = 'Redis-Field';
export const HDR_ENCODING = 'Redis-Encoding';
const DEFAULT_FIELD = 'payload';

/** A stream entry as Redis sees it. */
export interface Entry {
  readonly id: StreamId;
  /** Field, value, field, value, … */
  readonly fields: readonly Buffer[];
}

/** A stored message (the fields a reader needs). */
export interface StoredLike {
  readonly seq: number;
  readonly time: number;
  readonly headers: Buffer | null;
  readonly payload: Buffer;
}

/** A header value may hold neither CR/LF nor lose white space at its ends, and is UTF-8. */
function headerSafe(b: Buffer): boolean {
  if (b.length === 0 || b.length > 1024) return false;
  // Printable ASCII (no space, so nothing to trim, no CR/LF/NUL) is safe at once.
  let printable = true;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c <= 0x20 || c >= 0x7f) {
      printable = false;
      break;
    }
  }
  if (printable) return true;
  if (!isUtf8(b)) return false;
  const s = b.toString('utf8');
  return !/[\r\n\0]/.test(s) && s.trim() === s;
}

/** Whether a field name is `payload` (the default field, left out of the headers). */
function isPayloadName(b: Buffer): boolean {
  return (
    b.length === 7 &&
    b[0] === 0x70 &&
    b[1] === 0x61 &&
    b[2] === 0x79 &&
    b[3] === 0x6c &&
    b[4] === 0x6f &&
    b[5] === 0x61 &&
    b[6] === 0x64
  );
}

/** RESP array of bulk strings. */
function respArray(items: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${items.length}\r\n`)];
  for (const b of items) parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

/** Reads back respArray; null when `b` is not one. */
function readRespArray(b: Buffer): Buffer[] | null {
  const line = (at: number): [number, number] | null => {
    const end = b.indexOf('\r\n', at);
    if (end < 0) return null;
    const n = Number(b.toString('latin1', at + 1, end));
    return Number.isSafeInteger(n) && n >= 0 ? [n, end + 2] : null;
  };
  if (b[0] !== 0x2a) return null;
  const head = line(0);
  if (head === null) return null;
  const out: Buffer[] = [];
  let at = head[1];
  for (let i = 0; i < head[0]; i++) {
    if (b[at] !== 0x24) return null;
    const l = line(at);
    if (l === null || l[1] + l[0] + 2 > b.length) return null;
    out.push(b.subarray(l[1], l[1] + l[0]));
    at = l[1] + l[0] + 2;
  }
  return at === b.length && out.length % 2 === 0 ? out : null;
}

const ALL_DIGITS = /^\d+$/;

/**
 * The headers and payload XADD stores for `fields` (field, value, …; from
 * index `from` on) with `id`, whose text (`formatId`) is `text`.
 */
export function encodeEntry(
  id: StreamId,
  all: readonly Buffer[],
  from = 0,
  text: string = formatId(id),
): {
  headers: Buffer;
  payload: Buffer;
} {
  if (all.length - from === 2 && headerSafe(all[from]!)) {
    // The common entry (one field): its headers made in one string, no list.
    const f = all[from]!;
    // The ID's text is ASCII: latin1 is its bytes; a field name may be any UTF-8.
    const headers = isPayloadName(f)
      ? Buffer.from(`NATS/1.0\r\n${HDR_ID}: ${text}\r\n\r\n`, 'latin1')
      : Buffer.from(
          `NATS/1.0\r\n${HDR_ID}: ${text}\r\n${HDR_FIELD}: ${f.toString('utf8')}\r\n\r\n`,
          'utf8',
        );
    return { headers, payload: all[from + 1]! };
  }
  const fields = from === 0 ? all : all.slice(from);
  const lines = [`NATS/1.0`, `${HDR_ID}: ${text}`];
  let payload: Buffer;
  if (jsonable(fields)) {
    const obj: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) {
      obj[fields[i]!.toString('utf8')] = fields[i + 1]!.toString('utf8');
    }
    lines.push(`${HDR_ENCODING}: json`);
    payload = Buffer.from(JSON.stringify(obj));
  } else {
    lines.push(`${HDR_ENCODING}: resp`);
    payload = respArray(fields);
  }
  return { headers: Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), payload };
}

/** Fields JSON keeps as they are, in order: UTF-8, unique names, no all-digit name (JS orders those first). */
function jsonable(fields: readonly Buffer[]): boolean {
  const names = new Set<string>();
  for (let i = 0; i < fields.length; i += 2) {
    if (!isUtf8(fields[i]!) || !isUtf8(fields[i + 1]!)) return false;
    const n = fields[i]!.toString('utf8');
    if (names.has(n) || ALL_DIGITS.test(n) || n === '__proto__') return false;
    names.add(n);
  }
  return true;
}

/** What the Redis headers of a message say. */
interface RedisHeaders {
  id: string | undefined;
  field: string | undefined;
  encoding: string | undefined;
}

function redisHeaders(block: Buffer | null): RedisHeaders {
  const h: RedisHeaders = { id: undefined, field: undefined, encoding: undefined };
  if (block === null) return h;
  forEachHeader(block, 'utf8', (name, value) => {
    const k = name.toLowerCase();
    if (k === 'redis-stream-id') h.id ??= value;
    else if (k === 'redis-field') h.field ??= value;
    else if (k === 'redis-encoding') h.encoding ??= value;
  });
  return h;
}

/**
 * The ID of a stored message: its `Redis-Stream-Id` header, else
 * `<time ms>-<sequence>`. Weak spot: the derived ID of a message from
 * another face is below an ID a Redis client set ahead of the clock
 * (explicit IDs, XSETID); ranges by ID then see the stream out of order.
 */
export function idOf(m: StoredLike): StreamId {
  const end = xaddIdEnd(m.headers);
  if (end >= 0) {
    const h = m.headers!;
    const dash = h.indexOf(0x2d, XADD_ID_AT);
    return {
      ms: BigInt(h.toString('latin1', XADD_ID_AT, dash)),
      seq: BigInt(h.toString('latin1', dash + 1, end)),
    };
  }
  if (m.headers !== null) {
    const h = redisHeaders(m.headers);
    if (h.id !== undefined) {
      const id = parseId(Buffer.from(h.id, 'latin1'), 0n, true);
      if (id !== null) return id;
    }
  }
  return { ms: BigInt(m.time), seq: BigInt(m.seq) };
}

/** A stored message as a Redis entry. */
export function entryOf(m: StoredLike): Entry {
  const field = xaddOneField(m.headers, xaddIdEnd(m.headers));
  if (field !== null) return { id: idOf(m), fields: [field, m.payload] };
  const h = redisHeaders(m.headers);
  let id: StreamId | null = null;
  if (h.id !== undefined) id = parseId(Buffer.from(h.id, 'latin1'), 0n, true);
  if (id === null) id = { ms: BigInt(m.time), seq: BigInt(m.seq) };
  if (h.encoding === 'json') {
    const fields = fromJson(m.payload);
    if (fields !== null) return { id, fields };
  } else if (h.encoding === 'resp') {
    const fields = readRespArray(m.payload);
    if (fields !== null) return { id, fields };
  }
  return { id, fields: [Buffer.from(h.field ?? DEFAULT_FIELD, 'utf8'), m.payload] };
}

function fromJson(payload: Buffer): Buffer[] | null {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    return null;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const out: Buffer[] = [];
  for (const [k, val] of Object.entries(v)) {
    out.push(
      Buffer.from(k, 'utf8'),
      Buffer.from(typeof val === 'string' ? val : JSON.stringify(val)),
    );
  }
  return out.length === 0 ? null : out;
}

/** An entry as XRANGE/XREAD answer it: `[id, [field, value, …]]`. */
export function entryReply(e: Entry): Reply {
  return R.array([R.bulk(formatId(e.id)), R.array(e.fields.map((f) => R.bulk(f)))]);
}

/** The field name of an entry without one (shared: replies only read it). */
const PAYLOAD_NAME = Buffer.from(DEFAULT_FIELD, 'latin1');

const FIELD_LINE = Buffer.from(`${HDR_FIELD}: `, 'latin1');

/**
 * The field name of XADD's one-field entry, from a header block that is
 * exactly what XADD writes for it — the ID (`xaddIdEnd`), then nothing
 * (the field `payload`) or `Redis-Field: <printable ASCII>` — else null
 * (read the long way: redisHeaders; a name with other bytes is read there).
 * The name is a view of the block.
 */
function xaddOneField(h: Buffer | null, idEnd: number): Buffer | null {
  const end = xaddFieldEnd(h, idEnd);
  if (end < 0) return null;
  return end === 0 ? PAYLOAD_NAME : h!.subarray(idEnd + 2 + FIELD_LINE.length, end);
}

/**
 * `xaddOneField` as a range: -1 for null, 0 for the field `payload`, else
 * where the name ends in `h` (it starts at `idEnd + 2 + FIELD_LINE.length`).
 */
function xaddFieldEnd(h: Buffer | null, idEnd: number): number {
  if (idEnd < 0) return -1;
  const b = h!;
  const at = idEnd + 2;
  if (b.length === at + 2) return b[at] === 0x0d && b[at + 1] === 0x0a ? 0 : -1;
  const from = at + FIELD_LINE.length;
  if (b.length < from + 5 || !bytesAt(b, at, FIELD_LINE)) {
    return -1;
  }
  let i = from;
  while (i < b.length && b[i]! > 0x20 && b[i]! < 0x7f) i++;
  if (i === from || b.length !== i + 4) return -1;
  if (b[i] !== 0x0d || b[i + 1] !== 0x0a || b[i + 2] !== 0x0d || b[i + 3] !== 0x0a) return -1;
  return i;
}

/**
 * `entryReply(entryOf(m))`: the same reply, and for XADD's one-field
 * entries without reading the headers back or the ID through BigInts
 * (`end`: `xaddIdEnd(m.headers)` when the caller has it).
 */
export function storedEntryReply(m: StoredLike, end = xaddIdEnd(m.headers)): Reply {
  const h = m.headers;
  const fieldEnd = xaddFieldEnd(h, end);
  if (fieldEnd >= 0) {
    // The name's bytes: in the block, or `payload` (no Redis-Field line).
    const own = fieldEnd > 0;
    const f = own ? h! : PAYLOAD_NAME;
    const fAt = own ? end + 2 + FIELD_LINE.length : 0;
    const fEnd = own ? fieldEnd : f.length;
    return { t: 'entry', h: h!, idAt: XADD_ID_AT, idEnd: end, f, fAt, fEnd, v: m.payload };
  }
  return entryReply(entryOf(m));
}

// ---------------------------------------------------------------- ID → sequence

/** What the ID → sequence search reads. */
export interface SeqReader {
  /** First and last sequence held (first > last: empty). */
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** The first message with sequence ≥ seq, or null. */
  next(seq: number): Promise<StoredLike | null>;
}

/**
 * The first sequence whose entry's ID is ≥ `id` (lastSeq + 1 when none),
 * by binary search over sequences: IDs grow with sequences (see idOf for
 * when they do not). O(log n) reads.
 */
export async function firstSeqAtOrAfter(r: SeqReader, id: StreamId): Promise<number> {
  let lo = r.firstSeq;
  let hi = r.lastSeq + 1;
  if (compareIds(id, ID_ZERO) === 0) return lo;
  // Invariant: every message below lo has an ID < id; the answer is ≤ hi.
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const m = await r.next(mid);
    if (m === null || m.seq >= hi) {
      hi = mid;
      continue;
    }
    if (compareIds(idOf(m), id) >= 0) hi = mid;
    else lo = m.seq + 1;
  }
  return lo;
}
