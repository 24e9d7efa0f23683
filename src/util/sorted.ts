/** Helpers for ascending arrays of numbers (sequence lists). */

/** The index of the first element of the ascending `a` that is ≥ `x` (a.length when none). */
export function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
