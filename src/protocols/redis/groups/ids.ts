/**
 * Redis stream entry IDs (`<ms>-<seq>`, each an unsigned 64-bit integer)
 * as the consumer-group state keeps them: a fixed-width string of 41
 * characters whose string order is the IDs' order, so the pending entries
 * list is a sorted array of strings and comparing two IDs is `<`.
 * Pure; no I/O.
 */

/** An ID in its sortable form: 20 digits, `-`, 20 digits. */
export type IdKey = string;

/**
 * The IDs a command names (XACK): their keys, and `texts` when each was
 * written in its short form (`5-0`): the last `ids.length` of the Buffers,
 * or ranges of the bytes read (a group record copies them, record-bytes.ts).
 */
export interface AckIds {
  readonly ids: IdKey[];
  readonly texts?: readonly Buffer[] | TextRanges;
}

/**
 * ID texts as ranges of a buffer, the i-th `buf[starts[i], ends[i])`: an
 * XACK read as ranges (xack-peek.ts), valid while the command runs only.
 */
export class TextRanges {
  constructor(
    readonly buf: Buffer,
    readonly starts: Uint32Array,
    readonly ends: Uint32Array,
  ) {}
}

const U64_MAX = (1n << 64n) - 1n;
const WIDTH = 20;

export function idKey(ms: bigint, seq: bigint): IdKey {
  return `${ms.toString().padStart(WIDTH, '0')}-${seq.toString().padStart(WIDTH, '0')}`;
}

/** The smallest and the largest ID. */
export const MIN_ID: IdKey = idKey(0n, 0n);
export const MAX_ID: IdKey = idKey(U64_MAX, U64_MAX);

/**
 * Reads an ID as Redis's `streamParseID` does: `<ms>` or `<ms>-<seq>`,
 * decimal, each at most 2^64-1; a missing seq is `missingSeq` (0 for a
 * start, the largest for an end). `-` and `+` when `special`. Null: not
 * an ID (Redis: `-ERR Invalid stream ID specified as stream command argument`).
 */
export function parseId(
  text: string,
  missingSeq: 'min' | 'max' = 'min',
  special = false,
): IdKey | null {
  if (special) {
    if (text === '-') return MIN_ID;
    if (text === '+') return MAX_ID;
  }
  const m = /^(\d{1,20})(?:-(\d{1,20}))?$/.exec(text);
  if (m === null) return null;
  const ms = BigInt(m[1]!);
  const seq = m[2] === undefined ? (missingSeq === 'min' ? 0n : U64_MAX) : BigInt(m[2]);
  if (ms > U64_MAX || seq > U64_MAX) return null;
  return idKey(ms, seq);
}

/** The ID as Redis writes it: `1526919030474-55`. */
export function showId(k: IdKey): string {
  return `${trim(k.slice(0, WIDTH))}-${trim(k.slice(WIDTH + 1))}`;
}

function trim(digits: string): string {
  let i = 0;
  while (i < digits.length - 1 && digits.charCodeAt(i) === 48) i++;
  return digits.slice(i);
}

/** The ID right after `k` (for an exclusive start), null past the largest. */
export function nextId(k: IdKey): IdKey | null {
  const ms = BigInt(k.slice(0, WIDTH));
  const seq = BigInt(k.slice(WIDTH + 1));
  if (seq < U64_MAX) return idKey(ms, seq + 1n);
  if (ms < U64_MAX) return idKey(ms + 1n, 0n);
  return null;
}

/** The ID right before `k` (for an exclusive end), null before the smallest. */
export function prevId(k: IdKey): IdKey | null {
  const ms = BigInt(k.slice(0, WIDTH));
  const seq = BigInt(k.slice(WIDTH + 1));
  if (seq > 0n) return idKey(ms, seq - 1n);
  if (ms > 0n) return idKey(ms - 1n, U64_MAX);
  return null;
}
