/**
 * Redis's glob matching (stringmatchlen in util.c), as PSUBSCRIBE uses it:
 * `*` any run of bytes (dots too), `?` one byte, `[abc]`, `[^a]`, `[a-z]`
 * (either order), `\x` the byte x, anything else itself. Bytes, not
 * characters: a channel is bytes. Pure.
 */

const STAR = 0x2a;
const QM = 0x3f;
const LB = 0x5b;
const RB = 0x5d;
const BS = 0x5c;
const CARET = 0x5e;
const DASH = 0x2d;

/** The most nested `*` backtracking steps before giving up (Redis bounds its recursion too). */
const NESTING_MAX = 1000;

/** Whether `s` matches the glob `p`. */
export function globMatch(p: Buffer, s: Buffer): boolean {
  return match(p, 0, s, 0, 0) === 1;
}

/**
 * 1 matched; 0 not; -1 not, and no earlier `*` can help either: the rest
 * after a `*` matched nowhere in what was left (Redis's skipLongerMatches).
 * Past the pattern's end a byte reads as undefined, as C reads the NUL.
 */
function match(p: Buffer, pi: number, s: Buffer, si: number, nesting: number): number {
  if (nesting > NESTING_MAX) return 0;
  const plen = p.length;
  const slen = s.length;
  while (pi < plen && si < slen) {
    const c = p[pi]!;
    if (c === STAR) {
      while (pi < plen && p[pi + 1] === STAR) pi++;
      if (plen - pi === 1) return 1;
      for (; si < slen; si++) {
        const r = match(p, pi + 1, s, si, nesting + 1);
        if (r !== 0) return r;
      }
      return -1;
    }
    if (c === QM) {
      si++;
    } else if (c === LB) {
      pi++;
      const not = p[pi] === CARET;
      if (not) pi++;
      let hit = false;
      const ch = s[si]!;
      for (;;) {
        if (p[pi] === BS && plen - pi >= 2) {
          pi++;
          if (p[pi] === ch) hit = true;
        } else if (p[pi] === RB) {
          break;
        } else if (pi >= plen) {
          pi--;
          break;
        } else if (plen - pi >= 3 && p[pi + 1] === DASH) {
          let lo = p[pi]!;
          let hi = p[pi + 2]!;
          if (lo > hi) [lo, hi] = [hi, lo];
          pi += 2;
          if (ch >= lo && ch <= hi) hit = true;
        } else if (p[pi] === ch) {
          hit = true;
        }
        pi++;
      }
      if (not) hit = !hit;
      if (!hit) return 0;
      si++;
    } else {
      if (c === BS && plen - pi >= 2) pi++;
      if (p[pi] !== s[si]) return 0;
      si++;
    }
    pi++;
    if (si === slen) {
      while (p[pi] === STAR) pi++;
      break;
    }
  }
  return pi >= plen && si === slen ? 1 : 0;
}

/** Whether a byte is special in a glob. */
export function isGlobSpecial(c: number): boolean {
  return c === STAR || c === QM || c === LB || c === BS;
}
