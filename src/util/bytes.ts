/**
 * Byte helpers for the hot path. `utf8Slice`/`utf8Write` are Node's own
 * Buffer methods behind toString/write, without their argument handling
 * (measured: ~8% of a 16-byte pub/sub run went to that handling).
 */

interface NodeBuffer extends Buffer {
  utf8Slice(start: number, end: number): string;
  utf8Write(text: string, offset: number): number;
}

export function utf8Slice(buf: Buffer, start: number, end: number): string {
  return (buf as NodeBuffer).utf8Slice(start, end);
}

/** Writes `text` at `offset`; the caller ensures room (3 bytes per UTF-16 unit). */
export function utf8Write(buf: Buffer, text: string, offset: number): number {
  return (buf as NodeBuffer).utf8Write(text, offset);
}

/** Below this length a JS loop beats a native copy call. */
const SMALL_COPY = 64;

/** Copies all of `src` into `dst` at `at`; returns the new offset. */
export function copyInto(src: Uint8Array, dst: Uint8Array, at: number): number {
  const n = src.length;
  if (n <= SMALL_COPY) {
    for (let i = 0; i < n; i++) dst[at + i] = src[i];
  } else {
    dst.set(src, at);
  }
  return at + n;
}

/** Writes a non-negative integer in decimal at `at`; returns the new offset. */
export function writeDecimal(dst: Uint8Array, at: number, value: number): number {
  if (value < 10) {
    dst[at] = 0x30 + value;
    return at + 1;
  }
  let digits = 0;
  for (let v = value; v > 0; v = Math.floor(v / 10)) digits++;
  let i = at + digits - 1;
  for (let v = value; v > 0; v = Math.floor(v / 10)) dst[i--] = 0x30 + (v % 10);
  return at + digits;
}
