/**
 * The two records of every XREADGROUP `>` and XACK written straight into
 * a buffer: the bytes `encode` (store.ts) makes of them — JSON, key order
 * o, c, t, n, last, er, noack; IDs short (`5-0`) — with no string built
 * per number, ID or record on the way (store.ts `writeNotify`; the text
 * form cost ~5 µs per read+ack pair, bench/PROFILE.md, "Issue 16 — rgroup3
 * (round 10)"). Pure.
 */
import { XADD_ID_AT } from '../stream-map.js';
import { type IdKey, TextRanges } from './ids.js';
import type { RecordBody } from './store.js';

/**
 * Where a read record's IDs already are as bytes, entry by entry in the
 * record's order (read-new.ts `TakenEntry`): the entry's header block as
 * XADD wrote it, its ID's text at `XADD_ID_AT`..`idEnd` (stream-map.ts
 * `xaddIdEnd`: canonical, so the short form `idAt` writes), or `idEnd` -1.
 */
export interface IdBytes {
  readonly msg: { readonly headers: Buffer | null };
  readonly idEnd: number;
}

/** Bytes an ID takes at most, short form and quotes: 20 + 1 + 20 + 2. */
const ID_MAX = 43;
/** Bytes a number takes at most as JSON writes it (`-1.7976931348623157e+308`). */
const NUM_MAX = 24;

/**
 * Writes `op` (a `read` or an `ack`) at `buf[0]`: its length, or -1 for
 * another op or when it might not fit (the caller encodes it otherwise).
 * `from`: where the IDs are as bytes already — a read's `IdBytes`, entry
 * by entry; an ack's texts (the last `ids.length` of the Buffers).
 */
export function recordAt(
  op: RecordBody,
  buf: Buffer,
  from?: readonly IdBytes[] | readonly Buffer[] | TextRanges,
): number {
  if (op.o === 'ack') {
    const ids = op.ids;
    if (32 + ids.length * (ID_MAX + 1) > buf.length) return -1;
    let at = ascii('{"o":"ack","ids":[', buf, 0);
    // XACK read as ranges (xack-peek.ts): the i-th ID's text is the i-th range.
    if (from instanceof TextRanges) {
      const { buf: b, starts, ends } = from;
      for (let i = 0; i < ids.length; i++) {
        if (i > 0) buf[at++] = 0x2c;
        buf[at++] = 0x22;
        for (let j = starts[i]!; j < ends[i]!; j++) buf[at++] = b[j]!;
        buf[at++] = 0x22;
      }
      buf[at++] = 0x5d;
      buf[at++] = 0x7d;
      return at;
    }
    // XACK's arguments, the last ids.length each an ID in its short form (access.ts `strictIds`).
    const texts = from as readonly Buffer[] | undefined;
    const skip = texts === undefined ? -1 : texts.length - ids.length;
    for (let i = 0; i < ids.length; i++) {
      if (i > 0) buf[at++] = 0x2c;
      at = skip >= 0 ? textAt(texts![skip + i]!, buf, at) : idAt(ids[i]!, buf, at);
    }
    buf[at++] = 0x5d;
    buf[at++] = 0x7d;
    return at;
  }
  if (op.o !== 'read') return -1;
  const n = op.n;
  const c = op.c;
  // The name as JSON.stringify writes it: up to 6 bytes per character (`\u001f`).
  if (96 + 6 * c.length + 4 * NUM_MAX + n.length * (ID_MAX + NUM_MAX + 3) + ID_MAX > buf.length) {
    return -1;
  }
  let at = ascii('{"o":"read","c":', buf, 0);
  at = nameAt(c, buf, at);
  at = ascii(',"t":', buf, at);
  at = numAt(op.t, buf, at);
  at = ascii(',"n":[', buf, at);
  // The IDs copied from the entries' header blocks: no scan of the 41-character keys.
  const src =
    !(from instanceof TextRanges) && from?.length === n.length
      ? (from as readonly IdBytes[])
      : undefined;
  for (let i = 0; i < n.length; i++) {
    const e = n[i]!;
    if (i > 0) buf[at++] = 0x2c;
    buf[at++] = 0x5b;
    const b = src?.[i];
    at =
      b !== undefined && b.idEnd > 0
        ? idCopy(b.msg.headers!, b.idEnd, buf, at)
        : idAt(e[0], buf, at);
    buf[at++] = 0x2c;
    at = numAt(e[1], buf, at);
    buf[at++] = 0x5d;
  }
  at = ascii('],"last":', buf, at);
  const top = src?.[n.length - 1];
  at =
    top !== undefined && top.idEnd > 0 && op.last === n[n.length - 1]![0]
      ? idCopy(top.msg.headers!, top.idEnd, buf, at)
      : idAt(op.last, buf, at);
  at = ascii(',"er":', buf, at);
  at = numAt(op.er, buf, at);
  if (op.noack !== undefined) {
    at = ascii(',"noack":', buf, at);
    at = numAt(op.noack, buf, at);
  }
  buf[at++] = 0x7d;
  return at;
}

function ascii(s: string, buf: Buffer, at: number): number {
  for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i);
  return at;
}

/** `"<ms>-<seq>"`: an ID's short form as is. */
function textAt(t: Buffer, buf: Buffer, at: number): number {
  buf[at++] = 0x22;
  for (let i = 0; i < t.length; i++) buf[at++] = t[i]!;
  buf[at++] = 0x22;
  return at;
}

/** `"<ms>-<seq>"` from XADD's header block `h` (the ID's text ends at `end`). */
function idCopy(h: Buffer, end: number, buf: Buffer, at: number): number {
  buf[at++] = 0x22;
  for (let i = XADD_ID_AT; i < end; i++) buf[at++] = h[i]!;
  buf[at++] = 0x22;
  return at;
}

/** `"<ms>-<seq>"` of an IdKey (20 digits, `-`, 20 digits): each part without its leading zeros. */
function idAt(k: IdKey, buf: Buffer, at: number): number {
  buf[at++] = 0x22;
  at = digitsAt(k, 0, 20, buf, at);
  buf[at++] = 0x2d;
  at = digitsAt(k, 21, 41, buf, at);
  buf[at++] = 0x22;
  return at;
}

function digitsAt(k: IdKey, from: number, to: number, buf: Buffer, at: number): number {
  let i = from;
  while (i < to - 1 && k.charCodeAt(i) === 0x30) i++;
  for (; i < to; i++) buf[at++] = k.charCodeAt(i);
  return at;
}

/**
 * A number as JSON writes it (a non-finite one as null). Integers in int32
 * arithmetic: a double division per digit was ~60 % of a read record's
 * time (its time and 10 sequences; bench/PROFILE.md, "Issue 16 — rgroup9
 * (round 14)").
 */
function numAt(x: number, buf: Buffer, at: number): number {
  if (!Number.isSafeInteger(x) || x < 0) {
    return ascii(Number.isFinite(x) ? `${x}` : 'null', buf, at);
  }
  if (x > 0x7fffffff) {
    // The digits above the last nine, then those nine (a time in ms: 13 digits).
    const hi = Math.floor(x / 1e9);
    return nineAt(x - hi * 1e9, buf, numAt(hi, buf, at));
  }
  let len = 1;
  for (let p = x; p >= 10; p = (p / 10) | 0) len++;
  let i = at + len;
  let v = x;
  do {
    const q = (v / 10) | 0;
    buf[--i] = 0x30 + (v - q * 10);
    v = q;
  } while (v > 0);
  return at + len;
}

/** `v` (below 10^9) as nine digits, leading zeros written. */
function nineAt(v: number, buf: Buffer, at: number): number {
  for (let i = at + 8; i >= at; i--) {
    const q = (v / 10) | 0;
    buf[i] = 0x30 + (v - q * 10);
    v = q;
  }
  return at + 9;
}

/** A name (latin1, one character per byte) as JSON.stringify writes it, in UTF-8. */
function nameAt(c: string, buf: Buffer, at: number): number {
  for (let i = 0; i < c.length; i++) {
    const ch = c.charCodeAt(i);
    // Escaped, or more than a byte in UTF-8: JSON.stringify's own text.
    if (ch < 0x20 || ch > 0x7e || ch === 0x22 || ch === 0x5c) {
      return at + buf.write(JSON.stringify(c), at, 'utf8');
    }
  }
  buf[at++] = 0x22;
  at = ascii(c, buf, at);
  buf[at++] = 0x22;
  return at;
}
