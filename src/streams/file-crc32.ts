/**
 * CRC-32 (IEEE 802.3, the polynomial of zlib, gzip and PNG) for the file
 * store's records. Node has `zlib.crc32` from 20.15 and 22.2; older 20.x
 * releases get the table-driven version below, which computes the same
 * values, so a store written by one runs on the other.
 */
import * as zlib from 'node:zlib';

const TABLE = /* @__PURE__ */ (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** The table-driven CRC-32 of `buf[start, end)`; exported for the test that pins it to zlib's. */
export function crc32Table(buf: Uint8Array, start = 0, end = buf.length): number {
  let c = -1;
  for (let i = start; i < end; i++) c = TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

type Crc32 = (data: Uint8Array, value?: number) => number;
const native = (zlib as { crc32?: Crc32 }).crc32;

/** The CRC-32 of `buf[start, end)`, unsigned. */
export function crc32(buf: Buffer, start: number, end: number): number {
  if (native !== undefined) return native(buf.subarray(start, end)) >>> 0;
  return crc32Table(buf, start, end);
}
