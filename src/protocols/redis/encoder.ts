/**
 * Redis replies on the wire, in the protocol the client chose: RESP2 (the
 * default) or RESP3 (after `HELLO 3`). Pure: values in, bytes out, no I/O
 * — the second piece of the Redis face (issue 15).
 *
 * A reply is a `Reply` value; where RESP3 has a type RESP2 lacks, the
 * RESP2 form is the one Redis itself sends for it: a map is a flat array
 * of keys and values, a set an array, null `$-1` (a null array `*-1`), a
 * boolean the integer 1 or 0, a double a bulk string, a push (pub/sub) an
 * array, a verbatim string a bulk string.
 */

export type Protocol = 2 | 3;

export type Reply =
  | { readonly t: 'simple'; readonly v: string }
  | { readonly t: 'error'; readonly v: string }
  | { readonly t: 'int'; readonly v: number | bigint }
  | { readonly t: 'bulk'; readonly v: Buffer | string }
  | { readonly t: 'null' }
  | { readonly t: 'nullArray' }
  | { readonly t: 'array'; readonly v: readonly Reply[] }
  | { readonly t: 'map'; readonly v: readonly (readonly [Reply, Reply])[] }
  | { readonly t: 'set'; readonly v: readonly Reply[] }
  | { readonly t: 'push'; readonly v: readonly Reply[] }
  | { readonly t: 'double'; readonly v: number }
  | { readonly t: 'bool'; readonly v: boolean }
  | { readonly t: 'verbatim'; readonly format: string; readonly v: string }
  /** Replies already in RESP, the same in both protocols (a run of XADD replies: xadd-run.ts). */
  | { readonly t: 'raw'; readonly v: Buffer }
  /**
   * A stream entry of one field, `[id, [field, value]]`, written from the
   * bytes it is stored in: the ID `h[idAt, idEnd)`, the field name
   * `f[fAt, fEnd)`, the value `v` (stream-map.ts `storedEntryReply`, for
   * XADD's entries). The same bytes as that array of bulk strings in both
   * protocols (`entryArray`), without a reply, a string or a view per part.
   */
  | {
      readonly t: 'entry';
      readonly h: Buffer;
      readonly idAt: number;
      readonly idEnd: number;
      readonly f: Buffer;
      readonly fAt: number;
      readonly fEnd: number;
      readonly v: Buffer;
    };

/** The `entry` reply as the array of bulk strings it stands for (forwarding, `encode`). */
export function entryArray(r: Extract<Reply, { t: 'entry' }>): Reply {
  return R.array([
    R.bulk(r.h.subarray(r.idAt, r.idEnd)),
    R.array([R.bulk(r.f.subarray(r.fAt, r.fEnd)), R.bulk(r.v)]),
  ]);
}

/** The integer replies 0..255, made once (a PUBLISH answers one per command). */
const SMALL_INTS: readonly Reply[] = Array.from({ length: 256 }, (_, v) =>
  Object.freeze({ t: 'int' as const, v }),
);

/** Shorthands for building replies. */
export const R = {
  ok: { t: 'simple', v: 'OK' } as Reply,
  simple: (v: string): Reply => ({ t: 'simple', v }),
  error: (v: string): Reply => ({ t: 'error', v }),
  int: (v: number | bigint): Reply =>
    typeof v === 'number' && v >= 0 && v < SMALL_INTS.length && Number.isInteger(v)
      ? SMALL_INTS[v]!
      : { t: 'int', v },
  bulk: (v: Buffer | string): Reply => ({ t: 'bulk', v }),
  null: { t: 'null' } as Reply,
  array: (v: readonly Reply[]): Reply => ({ t: 'array', v }),
  raw: (v: Buffer): Reply => ({ t: 'raw', v }),
  map: (v: readonly (readonly [Reply, Reply])[]): Reply => ({ t: 'map', v }),
};

/** A line's text may not hold CR or LF (a simple string or an error would end early). */
function oneLine(s: string): string {
  return /[\r\n]/.test(s) ? s.replace(/[\r\n]+/g, ' ') : s;
}

/** RESP3's double: `inf`, `-inf`, `nan`, or the shortest decimal that reads back. */
function doubleText(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Number.POSITIVE_INFINITY) return 'inf';
  if (v === Number.NEGATIVE_INFINITY) return '-inf';
  return String(v);
}

/** Appends the bytes of `r` in protocol `p` to `out` (strings and buffers, joined once by `encode`). */
function write(r: Reply, p: Protocol, out: (string | Buffer)[]): void {
  switch (r.t) {
    case 'simple':
      out.push(`+${oneLine(r.v)}\r\n`);
      return;
    case 'error':
      out.push(`-${oneLine(r.v)}\r\n`);
      return;
    case 'int':
      out.push(`:${r.v}\r\n`);
      return;
    case 'bulk': {
      const b = typeof r.v === 'string' ? Buffer.from(r.v, 'utf8') : r.v;
      out.push(`$${b.length}\r\n`, b, '\r\n');
      return;
    }
    case 'raw':
      out.push(r.v);
      return;
    case 'entry':
      write(entryArray(r), p, out);
      return;
    case 'null':
      out.push(p === 3 ? '_\r\n' : '$-1\r\n');
      return;
    case 'nullArray':
      out.push(p === 3 ? '_\r\n' : '*-1\r\n');
      return;
    case 'array':
    case 'set':
    case 'push': {
      const mark = p === 2 ? '*' : r.t === 'array' ? '*' : r.t === 'set' ? '~' : '>';
      out.push(`${mark}${r.v.length}\r\n`);
      for (const e of r.v) write(e, p, out);
      return;
    }
    case 'map':
      out.push(p === 3 ? `%${r.v.length}\r\n` : `*${r.v.length * 2}\r\n`);
      for (const [k, v] of r.v) {
        write(k, p, out);
        write(v, p, out);
      }
      return;
    case 'double':
      if (p === 3) out.push(`,${doubleText(r.v)}\r\n`);
      else write({ t: 'bulk', v: doubleText(r.v) }, p, out);
      return;
    case 'bool':
      out.push(p === 3 ? (r.v ? '#t\r\n' : '#f\r\n') : r.v ? ':1\r\n' : ':0\r\n');
      return;
    case 'verbatim': {
      if (p === 2) {
        write({ t: 'bulk', v: r.v }, p, out);
        return;
      }
      const body = Buffer.from(`${r.format.padEnd(3, ' ').slice(0, 3)}:${r.v}`, 'utf8');
      out.push(`=${body.length}\r\n`, body, '\r\n');
      return;
    }
  }
}

/** The bytes of `r` in protocol `p`. */
export function encode(r: Reply, p: Protocol): Buffer {
  const out: (string | Buffer)[] = [];
  write(r, p, out);
  return Buffer.concat(out.map((x) => (typeof x === 'string' ? Buffer.from(x, 'utf8') : x)));
}

/** Writes `<mark><n>\r\n` (n ≥ 0: `$16\r\n`, `:1\r\n`) at `at`; returns the new offset. */
export function lengthLine(buf: Buffer, at: number, mark: number, n: number): number {
  buf[at++] = mark;
  if (n < 10) buf[at++] = 0x30 + n;
  else if (n < 100) {
    const t = (n / 10) | 0;
    buf[at++] = 0x30 + t;
    buf[at++] = 0x30 + n - t * 10;
  } else if (n < 1000) {
    const h = (n / 100) | 0;
    const t = ((n - h * 100) / 10) | 0;
    buf[at++] = 0x30 + h;
    buf[at++] = 0x30 + t;
    buf[at++] = 0x30 + n - h * 100 - t * 10;
  } else at += buf.write(String(n), at, 'latin1');
  buf[at++] = 13;
  buf[at++] = 10;
  return at;
}

/**
 * The bytes `encode` makes of `r`, counted without making them: with
 * `encodeAt`, a reply is written straight into the connection's chunk —
 * `encode` made a string and a Buffer per part and joined them (8 Buffers
 * per entry of an XREADGROUP or XRANGE reply; bench/PROFILE.md, "Issue 16 —
 * rgroup2").
 */
export function encodedSize(r: Reply, p: Protocol): number {
  switch (r.t) {
    case 'simple':
    case 'error':
      return Buffer.byteLength(oneLine(r.v), 'utf8') + 3;
    case 'int':
      return String(r.v).length + 3;
    case 'bulk': {
      const n = typeof r.v === 'string' ? utf8Length(r.v) : r.v.length;
      return lineSize(n) + n + 2;
    }
    case 'raw':
      return r.v.length;
    case 'entry': {
      const id = r.idEnd - r.idAt;
      const f = r.fEnd - r.fAt;
      const n = r.v.length;
      return 8 + lineSize(id) + id + lineSize(f) + f + lineSize(n) + n + 6;
    }
    case 'null':
    case 'nullArray':
      return p === 3 ? 3 : 5;
    case 'array':
    case 'set':
    case 'push': {
      let n = lineSize(r.v.length);
      for (const e of r.v) n += encodedSize(e, p);
      return n;
    }
    case 'map': {
      let n = lineSize(p === 3 ? r.v.length : r.v.length * 2);
      for (const [k, v] of r.v) n += encodedSize(k, p) + encodedSize(v, p);
      return n;
    }
    case 'double': {
      const t = doubleText(r.v);
      return p === 3 ? t.length + 3 : lineSize(t.length) + t.length + 2;
    }
    case 'bool':
      return 4;
    case 'verbatim': {
      if (p === 2) return encodedSize({ t: 'bulk', v: r.v }, p);
      const n = utf8Length(`${r.format.padEnd(3, ' ').slice(0, 3)}:${r.v}`);
      return lineSize(n) + n + 2;
    }
  }
}

/** Writes `r` (`encodedSize(r, p)` bytes, the bytes `encode` makes) at `at`; returns the new end. */
export function encodeAt(r: Reply, p: Protocol, buf: Buffer, at: number): number {
  switch (r.t) {
    case 'simple':
    case 'error':
    case 'int':
    case 'null':
    case 'nullArray':
    case 'bool':
      if (r.t === 'int' && typeof r.v === 'number' && Number.isSafeInteger(r.v) && r.v >= 0) {
        return lengthLine(buf, at, 0x3a, r.v);
      }
      return textAt(small(r, p), buf, at);
    case 'bulk': {
      const v = r.v;
      if (typeof v !== 'string') {
        at = lengthLine(buf, at, 0x24, v.length);
        at += v.copy(buf, at);
      } else {
        at = lengthLine(buf, at, 0x24, utf8Length(v));
        at = textAt(v, buf, at);
      }
      buf[at++] = 13;
      buf[at++] = 10;
      return at;
    }
    case 'raw':
      return at + r.v.copy(buf, at);
    case 'entry':
      return entryAt(r, buf, at);
    case 'array':
    case 'set':
    case 'push': {
      const mark = p === 2 || r.t === 'array' ? 0x2a : r.t === 'set' ? 0x7e : 0x3e;
      at = lengthLine(buf, at, mark, r.v.length);
      for (const e of r.v) at = encodeAt(e, p, buf, at);
      return at;
    }
    case 'map':
      at =
        p === 3 ? lengthLine(buf, at, 0x25, r.v.length) : lengthLine(buf, at, 0x2a, r.v.length * 2);
      for (const [k, v] of r.v) {
        at = encodeAt(k, p, buf, at);
        at = encodeAt(v, p, buf, at);
      }
      return at;
    case 'double':
      if (p === 3) return textAt(`,${doubleText(r.v)}\r\n`, buf, at);
      return encodeAt({ t: 'bulk', v: doubleText(r.v) }, p, buf, at);
    case 'verbatim': {
      if (p === 2) return encodeAt({ t: 'bulk', v: r.v }, p, buf, at);
      const body = `${r.format.padEnd(3, ' ').slice(0, 3)}:${r.v}`;
      at = lengthLine(buf, at, 0x3d, utf8Length(body));
      at = textAt(body, buf, at);
      buf[at++] = 13;
      buf[at++] = 10;
      return at;
    }
  }
}

/** Below this many bytes a part of an `entry` reply is copied by a loop, not a native call. */
const ENTRY_LOOP_MAX = 64;

/**
 * Writes an `entry` reply at `at`: `*2`, the ID's bulk, `*2`, the field's
 * and the value's bulks. Short parts by loops: an XREADGROUP of 10 entries
 * made 50 replies, a string and two Buffer copies per entry
 * (bench/PROFILE.md, "Issue 16 — rgroup6 (round 12)").
 */
function entryAt(r: Extract<Reply, { t: 'entry' }>, buf: Buffer, at: number): number {
  at = lengthLine(buf, at, 0x2a, 2);
  at = bulkAt(r.h, r.idAt, r.idEnd, buf, at);
  at = lengthLine(buf, at, 0x2a, 2);
  at = bulkAt(r.f, r.fAt, r.fEnd, buf, at);
  return bulkAt(r.v, 0, r.v.length, buf, at);
}

/** `$<n>\r\n`, `src[from, to)` and CRLF at `at`. */
function bulkAt(src: Buffer, from: number, to: number, buf: Buffer, at: number): number {
  const n = to - from;
  at = lengthLine(buf, at, 0x24, n);
  if (n < ENTRY_LOOP_MAX) {
    for (let i = 0; i < n; i++) buf[at + i] = src[from + i]!;
  } else buf.set(from === 0 && to === src.length ? src : src.subarray(from, to), at);
  at += n;
  buf[at++] = 13;
  buf[at++] = 10;
  return at;
}

/** The one-line replies' text, as `write` makes it. */
function small(r: Reply, p: Protocol): string {
  const out: (string | Buffer)[] = [];
  write(r, p, out);
  return out[0] as string;
}

/** `<mark><n>\r\n`'s size. */
function lineSize(n: number): number {
  return n < 10 ? 4 : n < 100 ? 5 : n < 1000 ? 6 : String(n).length + 3;
}

/** UTF-8 length; a short ASCII string (an ID, a field) by a loop, no native call. */
function utf8Length(s: string): number {
  if (s.length > 64) return Buffer.byteLength(s, 'utf8');
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  }
  return s.length;
}

/** Writes `s` as UTF-8 at `at`; a short ASCII string by a loop. */
function textAt(s: string, buf: Buffer, at: number): number {
  if (s.length <= 64) {
    let i = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[at + i] = c;
    }
    if (i === s.length) return at + i;
  }
  return at + buf.write(s, at, 'utf8');
}
