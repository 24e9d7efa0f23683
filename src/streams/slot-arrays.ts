/**
 * Paged, narrow typed arrays for the file index's per-sequence slots
 * (file-index.ts), so a small stored message costs ~11 bytes of index
 * rather than 24, and a large index never copies itself:
 *
 * - Slots live in pages of 2^PAGE_BITS (16,384). The index grows by one
 *   page at a time and drops whole pages from the front as the stream's
 *   head moves on: nothing is copied to grow or to compact, the slack is
 *   under one page, and no array is large. (Contiguous arrays regrown by a
 *   quarter copied up to ~110 MB in one call at ten million messages, and
 *   each freed generation left a hole in the C heap: glibc raises its mmap
 *   threshold when a large mapped block is freed, so the next generations
 *   came from the heap. That cost ~12 B of RSS per stored message on top
 *   of the index's 13; see bench/PROFILE.md "paged index (round 10)".)
 * - `NarrowUints`: unsigned integers in the narrowest of u8 / u16 / u32
 *   that holds every value written to that page (record lengths, segment
 *   ids, subject ids: all small in practice). Widening copies one page.
 * - `SlotTimes`: message times (ms) as u32 offsets from a base, so ±24
 *   days around the first held message fit; a time outside (or not an
 *   integer) first re-bases the held slots when their span (with this
 *   time) leaves 12 days of room, and else widens every page to f64 until
 *   the index empties.
 */

import { DOUBLE_FIRST } from './double-first.js';

type Uints = Uint8Array | Uint16Array | Uint32Array;

/** Slots per page: 2^14 (a u32 page is 64 KiB, a u8 page 16 KiB). */
export const PAGE_BITS = 14;

/** Page geometry shared by every slot array of one index (tests use small pages). */
export class Pages {
  readonly size: number;
  readonly mask: number;

  constructor(readonly bits = PAGE_BITS) {
    if (!Number.isInteger(bits) || bits < 1 || bits > 24) throw new RangeError(`page bits ${bits}`);
    this.size = 2 ** bits;
    this.mask = this.size - 1;
  }
}

function uints(bytes: number, n: number): Uints {
  return bytes === 1 ? new Uint8Array(n) : bytes === 2 ? new Uint16Array(n) : new Uint32Array(n);
}

export class NarrowUints {
  private pages: Uints[] = [];
  // The page geometry, copied: one load fewer per access than through a Pages.
  private readonly bits: number;
  private readonly mask: number;
  private readonly size: number;

  /** `minBytes`: the width a new page starts at (4 for values known to be large, like offsets). */
  constructor(
    geo: Pages,
    private readonly minBytes: 1 | 2 | 4 = 1,
  ) {
    this.bits = geo.bits;
    this.mask = geo.mask;
    this.size = geo.size;
  }

  /** Slots backed by pages now. */
  get capacity(): number {
    return this.pages.length * this.size;
  }

  /** Bytes per value in the page holding slot `i` (for tests). */
  widthAt(i: number): number {
    return this.pages[i >>> this.bits]!.BYTES_PER_ELEMENT;
  }

  get(i: number): number {
    return this.pages[i >>> this.bits]![i & this.mask]!;
  }

  /** Writes slot `i` (below `capacity`); widens its page if `v` does not fit. */
  set(i: number, v: number): void {
    const k = i >>> this.bits;
    const p = this.pages[k]!;
    const j = i & this.mask;
    p[j] = v;
    // A typed array stores v modulo its width: a value that reads back different did not fit.
    if (p[j] !== v) this.widen(k, v)[j] = v;
  }

  private widen(k: number, v: number): Uints {
    if (v > 0xffffffff || v < 0 || !Number.isInteger(v)) throw new RangeError(`slot value ${v}`);
    const b = uints(v > 0xffff ? 4 : 2, this.size);
    b.set(this.pages[k]!);
    this.pages[k] = b;
    return b;
  }

  /** Adds pages until `need` slots are backed. */
  ensure(need: number): void {
    while (this.capacity < need) this.pages.push(uints(this.minBytes, this.size));
  }

  /** Forgets the first `n` pages: slot `i` becomes slot `i - n·PAGE`. */
  dropPages(n: number): void {
    this.pages.splice(0, n);
  }

  /** Keeps at most `n` pages (the index is empty). */
  keepPages(n: number): void {
    if (this.pages.length > n) this.pages.length = n;
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
  /** u32 offsets from `base` while narrow; the times themselves (f64) once wide. */
  private pages: (Uint32Array | Float64Array)[] = [];
  private wide = false;
  private readonly bits: number;
  private readonly mask: number;
  private readonly size: number;

  constructor(geo: Pages) {
    this.base = 0;
    this.bits = geo.bits;
    this.mask = geo.mask;
    this.size = geo.size;
  }

  get capacity(): number {
    return this.pages.length * this.size;
  }

  /** Whether times are kept as f64 (for tests). */
  get isWide(): boolean {
    return this.wide;
  }

  private page(): Uint32Array | Float64Array {
    return this.wide ? new Float64Array(this.size) : new Uint32Array(this.size);
  }

  /** No slot is held; the next time written is near `t`. */
  reset(t: number): void {
    if (this.wide) {
      this.wide = false;
      this.pages = this.pages.map(() => this.page());
    }
    this.base = Number.isFinite(t) ? Math.floor(t) - TIME_SLACK : 0;
  }

  get(i: number): number {
    const v = this.pages[i >>> this.bits]![i & this.mask]!;
    return this.wide ? v : this.base + v;
  }

  /** Writes slot `i`; slots `from..i-1` are the ones held (re-based if need be). */
  set(i: number, t: number, from: number): void {
    const p = this.pages[i >>> this.bits]!;
    if (!this.wide) {
      const d = t - this.base;
      if (d >= 0 && d <= U32_MAX && Number.isInteger(d)) {
        p[i & this.mask] = d;
        return;
      }
      this.rebaseOrWiden(t, from, i);
      if (!this.wide) {
        this.pages[i >>> this.bits]![i & this.mask] = t - this.base;
        return;
      }
    }
    this.pages[i >>> this.bits]![i & this.mask] = t;
  }

  private rebaseOrWiden(t: number, from: number, to: number): void {
    const { bits, mask } = this;
    const at = (j: number): number => this.base + this.pages[j >>> bits]![j & mask]!;
    if (Number.isInteger(t)) {
      let lo = t;
      let hi = t;
      for (let j = from; j < to; j++) {
        const v = at(j);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const room = U32_MAX - (hi - lo);
      if (room >= REBASE_ROOM) {
        // Re-base: the held times and t fit, with half the room left on each side.
        const base = lo - Math.floor(room / 2);
        for (let j = from; j < to; j++) this.pages[j >>> bits]![j & mask] = at(j) - base;
        this.base = base;
        return;
      }
    }
    const narrow = this.pages;
    this.wide = true;
    this.pages = narrow.map(() => this.page());
    for (let j = from; j < to; j++) {
      this.pages[j >>> bits]![j & mask] = this.base + narrow[j >>> bits]![j & mask]!;
    }
  }

  ensure(need: number): void {
    while (this.capacity < need) this.pages.push(this.page());
  }

  dropPages(n: number): void {
    this.pages.splice(0, n);
  }

  keepPages(n: number): void {
    if (this.pages.length > n) this.pages.length = n;
  }
}
