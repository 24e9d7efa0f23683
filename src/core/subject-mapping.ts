/**
 * The subject mapping of an import, nats-server's rule for `to` (its
 * `newTransform` for imports): a subject matched by the pattern `from` is
 * rewritten by the pattern `to`, token by token.
 *
 * - A literal token of `to` is written as it is.
 * - The k-th `*` of `to` takes the token the k-th `*` of `from` matched
 *   (`events.*.created` → `a.*.new`: `events.eu.created` → `a.eu.new`);
 *   `$k` or `{{wildcard(k)}}` names the k-th `*` of `from` explicitly, so
 *   tokens can be reordered (`x.*.*` → `y.$2.$1`).
 * - `>` in `to` (last) takes every token the `>` of `from` matched, so the
 *   two have it both or neither. nats-server's `prefix: p` is `to: p.<from>`:
 *   `public.>` with prefix `imp` maps `public.a.b` → `imp.public.a.b`.
 * - Every `*` of `from` must be used; a literal `from` needs a literal `to`.
 *
 * `to` may thus have more or fewer tokens than `from`. Pure, no I/O.
 */

/** What one token of the mapped subject is made of. */
type Piece =
  | { readonly kind: 'literal'; readonly text: string }
  /** Index into the tokens of the subject being mapped. */
  | { readonly kind: 'token'; readonly at: number }
  /** The subject's tokens from this index on. */
  | { readonly kind: 'tail'; readonly at: number };

const EXPLICIT = /^(?:\$(\d+)|\{\{\s*wildcard\s*\(\s*(\d+)\s*\)\s*\}\})$/;

export class SubjectMapping {
  private readonly pieces: readonly Piece[];
  /** `to` when `from` is literal (every subject maps to it); null otherwise. */
  private readonly constant: string | null;
  private readonly identity: boolean;

  private constructor(
    readonly from: string,
    readonly to: string,
    pieces: readonly Piece[],
  ) {
    this.pieces = pieces;
    this.identity = from === to;
    this.constant = pieces.every((p) => p.kind === 'literal') ? to : null;
  }

  /** The mapping from `from` to `to` ('' or equal: the identity); throws with the reason when invalid. */
  static compile(from: string, to: string): SubjectMapping {
    const why = mappingError(from, to);
    if (why !== null) throw new Error(why);
    if (to === '' || to === from) return new SubjectMapping(from, from, identityPieces(from));
    return new SubjectMapping(from, to, buildPieces(from, to));
  }

  /** Maps a literal subject that `from` matches. */
  map(subject: string): string {
    if (this.identity) return subject;
    if (this.constant !== null) return this.constant;
    const t = subject.split('.');
    let out = '';
    const pieces = this.pieces;
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i];
      const text =
        p.kind === 'literal' ? p.text : p.kind === 'token' ? t[p.at] : t.slice(p.at).join('.');
      out = i === 0 ? text : `${out}.${text}`;
    }
    return out;
  }
}

function identityPieces(from: string): Piece[] {
  return from.split('.').map((text) => ({ kind: 'literal', text }) as Piece);
}

/** Positions of the `*` tokens of `from`, and of its `>` (-1 when none). */
function wildcards(from: string): { stars: number[]; tail: number } {
  const t = from.split('.');
  const stars: number[] = [];
  t.forEach((x, i) => {
    if (x === '*') stars.push(i);
  });
  return { stars, tail: t[t.length - 1] === '>' ? t.length - 1 : -1 };
}

function buildPieces(from: string, to: string): Piece[] {
  const { stars, tail } = wildcards(from);
  let next = 0;
  return to.split('.').map((x): Piece => {
    if (x === '*') return { kind: 'token', at: stars[next++] };
    if (x === '>') return { kind: 'tail', at: tail };
    const m = EXPLICIT.exec(x);
    if (m !== null) return { kind: 'token', at: stars[Number(m[1] ?? m[2]) - 1] };
    return { kind: 'literal', text: x };
  });
}

/** Why `to` cannot map subjects of `from` (both valid subject patterns), or null. */
export function mappingError(from: string, to: string): string | null {
  if (to === '' || to === from) return null;
  const { stars, tail } = wildcards(from);
  const t = to.split('.');
  const toTail = t[t.length - 1] === '>';
  if (tail >= 0 !== toTail) {
    return `"${to}" must end in '>' exactly when "${from}" does`;
  }
  const used = new Set<number>();
  let positional = 0;
  for (const x of t) {
    if (x === '*') {
      positional++;
      if (positional > stars.length) {
        return `"${to}" has more '*' than "${from}" has wildcards to fill them`;
      }
      used.add(positional);
      continue;
    }
    const m = EXPLICIT.exec(x);
    if (m === null) continue;
    const k = Number(m[1] ?? m[2]);
    if (k < 1 || k > stars.length) {
      return `"${x}" in "${to}" names wildcard ${k}, but "${from}" has ${stars.length}`;
    }
    used.add(k);
  }
  if (used.size < stars.length) {
    return `"${to}" must use every '*' of "${from}" (${stars.length}), uses ${used.size}`;
  }
  return null;
}
