/**
 * The last few names a face was sent, by their bytes, with what they
 * became (a command, a stream name, a group's string): clients repeat a
 * few names (XREADGROUP and XACK of one key, group and consumer), and
 * making the string again per command was a native call, a new string and
 * its hash at the Map lookup after it (bench/PROFILE.md, "Issue 16 —
 * rgroup5 (round 11)"). Pure: bytes in, a remembered value out.
 */

/** Whether two short byte strings are the same (a JS loop: cheaper than a native call for a few bytes). */
export function sameBytes(a: Buffer, b: Buffer): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  if (n > 64) return a.equals(b);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * At most `size` names of at most `maxBytes` bytes each (copied), replaced
 * round-robin; longer names are never kept.
 */
export class RecentNames<T> {
  private readonly names: (Buffer | null)[];
  private readonly values: (T | undefined)[];
  private next = 0;
  /** Names asked for and not held (`get` returned undefined). */
  misses = 0;

  constructor(
    readonly size: number,
    readonly maxBytes: number,
  ) {
    this.names = new Array<Buffer | null>(size).fill(null);
    this.values = new Array<T | undefined>(size).fill(undefined);
  }

  /** The value kept for `name`'s bytes, or undefined. */
  get(name: Buffer): T | undefined {
    const names = this.names;
    for (let i = 0; i < names.length; i++) {
      const n = names[i]!;
      if (n === null) break;
      if (sameBytes(n, name)) return this.values[i];
    }
    this.misses++;
    return undefined;
  }

  /** Keeps `value` for a copy of `name`'s bytes (if short enough), in place of the oldest. */
  add(name: Buffer, value: T): void {
    if (name.length > this.maxBytes) return;
    this.names[this.next] = Buffer.from(name);
    this.values[this.next] = value;
    this.next = (this.next + 1) % this.size;
  }

  clear(): void {
    this.names.fill(null);
    this.values.fill(undefined);
    this.next = 0;
  }
}
