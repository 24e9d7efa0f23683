/**
 * The IdKeys of the last IDs a group's `>` reads answered with, by their
 * text: an XACK names them again, in the same order, and its IDs then are
 * the very strings the PEL holds — no key built from the argument's bytes
 * (streams-view.ts `keyOfCanonical`) and no hash computed again for the
 * PEL's lookups (bench/PROFILE.md, "Issue 16 — rgroup7 (round 13)": ~40 %
 * of XACK's ID handling). A memo only: a text not found here (an older ID,
 * a full ring, another form) is keyed as before, and equal texts always
 * have equal keys, so what the group's state does is unchanged.
 *
 * Bounds: RECENT_KEYS IDs (a ring; the oldest go first), texts of at most
 * RECENT_TEXT_MAX bytes (longer ones are not kept).
 */
import type { IdKey } from './ids.js';

/** IDs kept per group. */
export const RECENT_KEYS = 64;
/** Longest ID text kept: `<ms>-<seq>`, 20 digits each at most. */
export const RECENT_TEXT_MAX = 41;

export class RecentKeys {
  private readonly text = Buffer.alloc(RECENT_KEYS * RECENT_TEXT_MAX);
  private readonly len = new Uint8Array(RECENT_KEYS);
  private readonly keys: IdKey[] = new Array(RECENT_KEYS).fill('');
  /** The slot the next ID goes to. */
  private next = 0;
  /** The slot after the last one found: where the next lookup looks first. */
  private hint = 0;

  /** Keeps `key`, whose ID is written `b[at, end)` (its canonical text). */
  add(b: Buffer, at: number, end: number, key: IdKey): void {
    const n = end - at;
    if (n <= 0 || n > RECENT_TEXT_MAX) return;
    const slot = this.next;
    const t = this.text;
    const o = slot * RECENT_TEXT_MAX;
    for (let i = 0; i < n; i++) t[o + i] = b[at + i]!;
    this.len[slot] = n;
    this.keys[slot] = key;
    this.next = slot + 1 === RECENT_KEYS ? 0 : slot + 1;
  }

  /** The key of the ID written `b` (canonical), when kept; else undefined. */
  keyOf(b: Buffer): IdKey | undefined {
    return this.keyAt(b, 0, b.length);
  }

  /** `keyOf` the ID written `b[at, end)`. */
  keyAt(b: Buffer, at: number, end: number): IdKey | undefined {
    const n = end - at;
    if (n <= 0) return undefined; // never kept; an unused slot has length 0
    let slot = this.hint;
    for (let k = 0; k < RECENT_KEYS; k++) {
      if (this.len[slot] === n && this.same(slot, b, at, n)) {
        this.hint = slot + 1 === RECENT_KEYS ? 0 : slot + 1;
        return this.keys[slot];
      }
      slot = slot + 1 === RECENT_KEYS ? 0 : slot + 1;
    }
    return undefined;
  }

  /** From the end: IDs read together differ in their last digits. */
  private same(slot: number, b: Buffer, at: number, n: number): boolean {
    const t = this.text;
    const o = slot * RECENT_TEXT_MAX;
    for (let i = n - 1; i >= 0; i--) if (t[o + i] !== b[at + i]) return false;
    return true;
  }
}
