/**
 * CRC-32 (IEEE 802.3, the polynomial of zlib, gzip and PNG) for the file
 * store's records. Node has `zlib.crc32` from 20.15 and 22.2; older 20.x
 * releases get the table-driven version below, which computes the same
 * values, so a store written by one runs on the other.
 *
 * Short ranges (a record of a small message: CRC_JS_MAX bytes or fewer)
 * use the table-driven version too: `zlib.crc32` costs a `subarray` and a
 * call into C++ (about 0.3–0.5 µs whatever the length), more than the
 * whole of a 60-byte record here (bench/PROFILE.md, "Issue 16 — store
 * (round 5)").
 *
 * Longer ranges use @node-rs/crc32 (already a dependency, for Kafka's
 * CRC-32C): it folds with carry-less multiplies, about twice zlib's speed
 * at 1 KiB (170 vs 340 ns a call; "Issue 16 — jspub3 (round 9)"). It is
 * loaded on the first long range, not at start (a native module maps its
 * code into the process: src/util/lazy-module.ts); where it cannot load,
 * zlib serves.
 */
import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';

/**
 * Ranges up to this many bytes are checked in JavaScript, longer ones
 * natively. Slice-by-8 against @node-rs/crc32 with its `subarray`, CPU ns
 * a call (bench/PROFILE.md, "Issue 16 — xadd3 (round 12)"): 150 B 126–141
 * vs 178–188, 192 B 147–158 vs 170–176, 256 B 195–199 vs 168–184. The
 * Redis XADD row's records are ~150 B (was 128: they went native).
 */
export const CRC_JS_MAX = 192;

/** Slice-by-8 tables: T0 is the classic byte table, Tk advances k more zero bytes. */
const [T0, T1, T2, T3, T4, T5, T6, T7] = /* @__PURE__ */ (() => {
  const t: Int32Array[] = [];
  for (let k = 0; k < 8; k++) t.push(new Int32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[0]![n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[0]![n]!;
    for (let k = 1; k < 8; k++) {
      c = t[0]![c & 0xff]! ^ (c >>> 8);
      t[k]![n] = c;
    }
  }
  return t as [
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
  ];
})();

/**
 * The table-driven CRC-32 of `buf[start, end)` (eight bytes a step, then
 * four, then one), continuing from `crc` (the CRC-32 of what comes before;
 * 0: nothing), as zlib's `crc32(data, value)`; exported for the test that
 * pins it to zlib's. Eight a step is 15–25 % faster than four on 40–128 B
 * (bench/PROFILE.md, "Issue 16 — the lead's round 11").
 */
export function crc32Table(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  let c = crc ^ -1;
  let i = start;
  for (const last = end - 8; i <= last; i += 8) {
    c ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    const d = buf[i + 4]! | (buf[i + 5]! << 8) | (buf[i + 6]! << 16) | (buf[i + 7]! << 24);
    c =
      T7[c & 0xff]! ^
      T6[(c >>> 8) & 0xff]! ^
      T5[(c >>> 16) & 0xff]! ^
      T4[c >>> 24]! ^
      T3[d & 0xff]! ^
      T2[(d >>> 8) & 0xff]! ^
      T1[(d >>> 16) & 0xff]! ^
      T0[d >>> 24]!;
  }
  for (const last = end - 4; i <= last; i += 4) {
    c ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    c = T3[c & 0xff]! ^ T2[(c >>> 8) & 0xff]! ^ T1[(c >>> 16) & 0xff]! ^ T0[c >>> 24]!;
  }
  for (; i < end; i++) c = T0[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/**
 * The CRC register (no initial or final inversion) after the eight bytes
 * of `lo` and `hi` (little-endian words) run through a zero register:
 * one slice-by-8 step. CRC-32 is affine, so for two ranges of equal
 * length the registers differ by this of their bytes' XOR (file-crc-run.ts).
 */
export function crcRaw8(lo: number, hi: number): number {
  return (
    T7[lo & 0xff]! ^
    T6[(lo >>> 8) & 0xff]! ^
    T5[(lo >>> 16) & 0xff]! ^
    T4[lo >>> 24]! ^
    T3[hi & 0xff]! ^
    T2[(hi >>> 8) & 0xff]! ^
    T1[(hi >>> 16) & 0xff]! ^
    T0[hi >>> 24]!
  );
}

/** The CRC register `r` (no inversions) run on over `buf[start, end)`, a byte a step (a few bytes). */
export function crcBytes(buf: Uint8Array, start: number, end: number, r: number): number {
  let c = r;
  for (let i = start; i < end; i++) c = T0[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return c;
}

/**
 * What `n` zero bytes do to a CRC register, as four tables of 256 (one per
 * byte of the register, XORed: the map is linear): `crcZeros(t, r)` is the
 * register after those bytes. Built from the 32 one-bit registers, each run
 * through `n` zero bytes (about 32·n table steps, once per `n`).
 */
export function zeroTable(n: number): Int32Array {
  const basis = new Int32Array(32);
  for (let b = 0; b < 32; b++) {
    let c = 1 << b;
    for (let k = 0; k < n; k++) c = T0[c & 0xff]! ^ (c >>> 8);
    basis[b] = c;
  }
  const t = new Int32Array(1024);
  for (let j = 0; j < 4; j++)
    for (let v = 1; v < 256; v++) {
      const low = 31 - Math.clz32(v & -v);
      t[j * 256 + v] = t[j * 256 + (v & (v - 1))]! ^ basis[j * 8 + low]!;
    }
  return t;
}

/** The register `r` after the zero bytes `t` (zeroTable) stands for. */
export function crcZeros(t: Int32Array, r: number): number {
  return (
    t[r & 0xff]! ^
    t[256 + ((r >>> 8) & 0xff)]! ^
    t[512 + ((r >>> 16) & 0xff)]! ^
    t[768 + (r >>> 24)]!
  );
}

type Crc32 = (data: Uint8Array, value?: number) => number;
const zlibCrc32 = (zlib as { crc32?: Crc32 }).crc32;

/** The CRC-32 for long ranges: @node-rs/crc32's once loaded, else zlib's, else undefined. */
let native: Crc32 | undefined;
let loaded = false;

function loadNative(): Crc32 | undefined {
  loaded = true;
  try {
    const rs = createRequire(import.meta.url)('@node-rs/crc32') as { crc32: Crc32 };
    native = rs.crc32;
  } catch {
    native = zlibCrc32;
  }
  return native;
}

/** The CRC-32 of `buf[start, end)`, unsigned. */
export function crc32(buf: Buffer, start: number, end: number): number {
  if (end - start > CRC_JS_MAX) {
    const f = loaded ? native : loadNative();
    if (f !== undefined) return f(buf.subarray(start, end)) >>> 0;
  }
  return crc32Table(buf, start, end);
}

/**
 * The CRC-32 of `crc`'s bytes followed by all of `data` (zlib's
 * `crc32(data, value)`): a record's payload is checked where it already
 * is, with no view of the record made for it.
 */
export function crc32After(crc: number, data: Uint8Array): number {
  if (data.length > CRC_JS_MAX) {
    const f = loaded ? native : loadNative();
    if (f !== undefined) return f(data, crc) >>> 0;
  }
  return crc32Table(data, 0, data.length, crc);
}
