/**
 * Subject spreads: workloads that publish to many distinct subjects instead
 * of one, so a server's subject index (its match cache and trie walk) is on
 * the hot path, not just its cache hit.
 *
 * - `patterns: 0` — the publisher cycles through `subjects` subjects
 *   `<base>.<i>`; one subscription `<base>.*` takes them all.
 * - `patterns: P` — P wildcard subscriptions `<base>.<k>.*` (k < P); the
 *   publisher cycles through `subjects` subjects `<base>.<i mod P>.<i div P>`,
 *   each matching exactly one pattern.
 *
 * Numbers are zero-padded so every PUB frame has the same length, and a
 * batch of frames is a plain slice of one buffer that holds them all.
 */

export interface Spread {
  /** Distinct subjects the publisher cycles through. */
  subjects: number;
  /** Wildcard subscriptions (0: one `<base>.*`). */
  patterns: number;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function digits(max: number): number {
  return String(Math.max(0, max)).length;
}

/** The subjects the subscriber subscribes to (one subscription each). */
export function spreadSubSubjects(base: string, s: Spread): string[] {
  if (s.patterns === 0) return [`${base}.*`];
  const w = digits(s.patterns - 1);
  return Array.from({ length: s.patterns }, (_, k) => `${base}.${pad(k, w)}.*`);
}

/** The subjects the publisher cycles through, in order. */
export function spreadPubSubjects(base: string, s: Spread): string[] {
  if (s.patterns === 0) {
    const w = digits(s.subjects - 1);
    return Array.from({ length: s.subjects }, (_, i) => `${base}.${pad(i, w)}`);
  }
  const wk = digits(s.patterns - 1);
  const wj = digits(Math.ceil(s.subjects / s.patterns) - 1);
  return Array.from(
    { length: s.subjects },
    (_, i) => `${base}.${pad(i % s.patterns, wk)}.${pad(Math.floor(i / s.patterns), wj)}`,
  );
}

/** One PUB frame per subject, back to back; every frame is `frameLength` bytes. */
export interface SpreadBatch {
  buf: Buffer;
  frameLength: number;
  count: number;
}

export function spreadBatch(subjects: readonly string[], size: number): SpreadBatch {
  const heads = subjects.map((s) => `PUB ${s} ${size}\r\n`);
  const frameLength = heads[0]!.length + size + 2;
  const buf = Buffer.alloc(frameLength * subjects.length, 0x78);
  for (let i = 0; i < heads.length; i++) {
    const at = i * frameLength;
    if (heads[i]!.length !== heads[0]!.length) throw new Error('spread subjects differ in length');
    buf.write(heads[i]!, at, 'latin1');
    buf[at + frameLength - 2] = 13;
    buf[at + frameLength - 1] = 10;
  }
  return { buf, frameLength, count: subjects.length };
}
