/**
 * Narrow typed arrays for the file index's per-sequence slots
 * (file-index.ts), so a small stored message costs ~11 bytes of index
 * rather than 24:
 *
 * - `NarrowUints`: unsigned integers in the narrowest of u8 / u16 / u32
 *   that holds every value written so far (record lengths, segment ids,
 *   subject ids: all small in practice). Widening copies the array once
 *   per width.
 * - `SlotTimes`: message times (ms) as u32 offsets from a base, so ±24
 *   days around the first held message fit; a time outside (or not an
 *   integer) first re-bases the held slots when their span (with this
 *   time) leaves 12 days of room, and else widens the array to f64 until
 *   the index empties.
 *
 * Capacity grows by doubling while small and by a quarter beyond (see
 * `grownCap` in seq-runs.ts): a doubled huge array was half empty.
 */

import { DOUBLE_FIRST } from './double-first.js';

type Uints = Uint8Array | Uint16Array | Uint32Array;

export class NarrowUints {
  private a: Uints;
  private max = 0xff;

  constructor(cap: number) {
    this.a = new Uint8Array(cap);
  }

  get capacity(): number {
    return this.a.length;
  }

  /** Bytes per value now (for tests). */
  get width(): number {
    return this.a.BYTES_PER_ELEMENT;
  }

  get(i: number): number {
    return this.a[i]!;
  }

  set(i: number, v: number): void {
    if (v > this.max) this.widen(v);
    this.a[i] = v;
  }

  private widen(v: number): void {
    if (v > 0xffffffff || v < 0 || !Number.isInteger(v)) throw new RangeError(`slot value ${v}`);
    const b: Uints = v > 0xffff ? new Uint32Array(this.a.length) : new Uint16Array(this.a.length);
    b.set(this.a);
    this.a = b;
    this.max = v > 0xffff ? 0xffffffff : 0xffff;
  }

  resize(cap: number): void {
    const b: Uints =
      this.max === 0xff
        ? new Uint8Array(cap)
        : this.max === 0xffff
          ? new Uint16Array(cap)
          : new Uint32Array(cap);
    b.set(this.a.length <= cap ? this.a : this.a.subarray(0, cap));
    this.a = b;
  }

  copyWithin(target: number, start: number, end: number): void {
    this.a.copyWithin(target, start, end);
  }
}

/** How far before the first time the base sits: times may step back (clock, mirrors). */
const TIME_SLACK = 2 ** 31;
const U32_MAX = 0xffffffff;
/** Re-base only when at least this much room (~12 days) is left, so re-bases stay rare. */
const REBASE_ROOM = 2 ** 30;

export class SlotTimes {
  /** A double from the start (double-first.ts), then 0. */
  private base = DOUBLE_FIRST;
  private narrow: Uint32Array | null;
  private wide: Float64Array | null = null;

  constructor(cap: number) {
    this.base = 0;
    this.narrow = new Uint32Array(cap);
  }

  get capacity(): number {
    return (this.narrow ?? this.wide)!.length;
  }

  /** Whether times are kept as f64 (for tests). */
  get isWide(): boolean {
    return this.wide !== null;
  }

  /** No slot is held; the next time written is near `t`. */
  reset(t: number): void {
    if (this.wide !== null) {
      this.narrow = new Uint32Array(this.wide.length);
      this.wide = null;
    }
    this.base = Number.isFinite(t) ? Math.floor(t) - TIME_SLACK : 0;
  }

  get(i: number): number {
    const n = this.narrow;
    return n !== null ? this.base + n[i]! : this.wide![i]!;
  }

  /** Writes slot `i`; slots `from..i-1` are the ones held (re-based if need be). */
  set(i: number, t: number, from: number): void {
    const n = this.narrow;
    if (n !== null) {
      const d = t - this.base;
      if (d >= 0 && d <= U32_MAX && Number.isInteger(d)) {
        n[i] = d;
        return;
      }
      this.rebaseOrWiden(t, from, i);
      if (this.narrow !== null) {
        this.narrow[i] = t - this.base;
        return;
      }
    }
    this.wide![i] = t;
  }

  private rebaseOrWiden(t: number, from: number, to: number): void {
    const n = this.narrow!;
    if (Number.isInteger(t)) {
      let lo = t;
      let hi = t;
      for (let j = from; j < to; j++) {
        const v = this.base + n[j]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const room = U32_MAX - (hi - lo);
      if (room >= REBASE_ROOM) {
        // Re-base: the held times and t fit, with half the room left on each side.
        const base = lo - Math.floor(room / 2);
        for (let j = from; j < to; j++) n[j] = this.base + n[j]! - base;
        this.base = base;
        return;
      }
    }
    const w = new Float64Array(n.length);
    for (let j = from; j < to; j++) w[j] = this.base + n[j]!;
    this.wide = w;
    this.narrow = null;
  }

  resize(cap: number): void {
    if (this.narrow !== null) {
      const b = new Uint32Array(cap);
      b.set(this.narrow.length <= cap ? this.narrow : this.narrow.subarray(0, cap));
      this.narrow = b;
    } else {
      const b = new Float64Array(cap);
      b.set(this.wide!.length <= cap ? this.wide! : this.wide!.subarray(0, cap));
      this.wide = b;
    }
  }

  copyWithin(target: number, start: number, end: number): void {
    (this.narrow ?? this.wide)!.copyWithin(target, start, end);
  }
}
