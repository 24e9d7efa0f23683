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
  | { readonly t: 'verbatim'; readonly format: string; readonly v: string };

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
