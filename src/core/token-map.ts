/**
 * The literal tokens of one trie level: a hash table that is looked up by a
 * range of the subject string, so matching a subject never cuts it into
 * token strings (no `split`, no `substring`, nothing allocated).
 *
 * Open addressing with linear probing over a power-of-two table, at most
 * half full; deletion shifts the following entries back, so there are no
 * tombstones. null marks a free slot (an empty token is a key like any
 * other: a peer may send a subject with one, and it must not break). The hash is
 * FNV-1a over UTF-16 code units, seeded per process (tokens come from
 * clients: a fixed hash would let one choose colliding tokens), with a final
 * mix so the low bits used for the slot depend on every unit.
 */

const SEED = (Math.random() * 0x7fffffff) | 0 || 0x2545f491;

/** Start value of a token hash; feed units with `hashStep`, finish with `hashEnd`. */
export const HASH_START = SEED ^ 0x811c9dc5;

export function hashStep(h: number, unit: number): number {
  return Math.imul(h ^ unit, 0x01000193);
}

export function hashEnd(h: number): number {
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 12);
}

/** Hash of subject[start, end). */
export function hashRange(s: string, start: number, end: number): number {
  let h = HASH_START;
  for (let i = start; i < end; i++) h = hashStep(h, s.charCodeAt(i));
  return hashEnd(h);
}

function equalsRange(key: string, s: string, start: number, end: number): boolean {
  if (key.length !== end - start) return false;
  for (let i = 0; i < key.length; i++)
    if (key.charCodeAt(i) !== s.charCodeAt(start + i)) return false;
  return true;
}

const MIN_CAPACITY = 4;

export class TokenMap<V> {
  private keys: (string | null)[] = new Array<string | null>(MIN_CAPACITY).fill(null);
  private vals: (V | null)[] = new Array<V | null>(MIN_CAPACITY).fill(null);
  private hashes = new Int32Array(MIN_CAPACITY);
  size = 0;
  /**
   * When `size` is 1: the one token and its value. A level with one literal
   * child is common (a shared prefix, `orders.eu.`): matching compares with
   * it directly instead of hashing.
   */
  soleKey = '';
  soleValue: V | null = null;

  /** The value for the token s[start, end), if any. */
  get(s: string, start: number, end: number): V | undefined {
    if (this.size === 0) return undefined;
    return this.getHashed(s, start, end, hashRange(s, start, end));
  }

  /** `get` when the caller has hashed the token already (`hashRange`'s value). */
  getHashed(s: string, start: number, end: number, h: number): V | undefined {
    if (this.size === 0) return undefined;
    const keys = this.keys;
    const mask = keys.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const k = keys[i]!;
      if (k === null) return undefined;
      if (this.hashes[i] === h && equalsRange(k, s, start, end)) return this.vals[i]!;
    }
  }

  /** Adds or replaces `token`'s value. */
  set(token: string, value: V): void {
    if ((this.size + 1) * 2 > this.keys.length) this.resize(this.keys.length * 2);
    const h = hashRange(token, 0, token.length);
    const mask = this.keys.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const k = this.keys[i]!;
      if (k === null) {
        this.keys[i] = token;
        this.vals[i] = value;
        this.hashes[i] = h;
        this.size++;
        this.noteSole();
        return;
      }
      if (this.hashes[i] === h && k === token) {
        this.vals[i] = value;
        this.noteSole();
        return;
      }
    }
  }

  /** Removes the token s[start, end); returns whether it was there. */
  delete(s: string, start: number, end: number): boolean {
    const h = hashRange(s, start, end);
    const keys = this.keys;
    const mask = keys.length - 1;
    let i = h & mask;
    for (; ; i = (i + 1) & mask) {
      const k = keys[i]!;
      if (k === null) return false;
      if (this.hashes[i] === h && equalsRange(k, s, start, end)) break;
    }
    // Backward-shift: move later entries of the probe run into the hole
    // when their home slot does not lie (cyclically) in (hole, j].
    let hole = i;
    for (let j = (i + 1) & mask; keys[j] !== null; j = (j + 1) & mask) {
      const home = this.hashes[j]! & mask;
      const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (between) continue;
      keys[hole] = keys[j]!;
      this.vals[hole] = this.vals[j]!;
      this.hashes[hole] = this.hashes[j]!;
      hole = j;
    }
    keys[hole] = null;
    this.vals[hole] = null;
    this.size--;
    if (this.keys.length > MIN_CAPACITY && this.size * 8 < this.keys.length) {
      this.resize(this.keys.length / 2);
    }
    this.noteSole();
    return true;
  }

  private noteSole(): void {
    this.soleKey = '';
    this.soleValue = null;
    if (this.size !== 1) return;
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i] !== null) {
        this.soleKey = this.keys[i]!;
        this.soleValue = this.vals[i]!;
        return;
      }
    }
  }

  forEach(fn: (value: V) => void): void {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] !== null) fn(this.vals[i]!);
  }

  private resize(capacity: number): void {
    const { keys, vals } = this;
    this.keys = new Array<string | null>(capacity).fill(null);
    this.vals = new Array<V | null>(capacity).fill(null);
    this.hashes = new Int32Array(capacity);
    this.size = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== null) this.set(keys[i]!, vals[i]!);
  }
}
