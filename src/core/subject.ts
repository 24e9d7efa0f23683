/**
 * Subjects: `.`-separated tokens; in subscriptions a token may be the
 * wildcard `*` (exactly one token) or, last, `>` (one or more tokens).
 * The rules follow nats-server's `IsValidSubject`/`IsValidLiteralSubject`:
 * no empty tokens, no whitespace, wildcards only as whole tokens.
 */

const DOT = 0x2e;
const STAR = 0x2a;
const GT = 0x3e;

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c || c === 0x0b;
}

/**
 * Checks a subject and reports what it is. `literal` subjects carry no
 * wildcard token; `wildcard` ones may be subscribed to but not published to.
 */
export function classifySubject(subject: string): 'invalid' | 'literal' | 'wildcard' {
  const n = subject.length;
  if (n === 0) return 'invalid';
  let tokenStart = 0;
  let wildcard = false;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? subject.charCodeAt(i) : DOT;
    if (c === DOT) {
      const len = i - tokenStart;
      if (len === 0) return 'invalid';
      if (len === 1) {
        const t = subject.charCodeAt(tokenStart);
        if (t === STAR) wildcard = true;
        else if (t === GT) {
          // `>` must be the last token.
          if (i !== n) return 'invalid';
          wildcard = true;
        }
      }
      tokenStart = i + 1;
    } else if (isWhitespace(c)) {
      return 'invalid';
    }
  }
  return wildcard ? 'wildcard' : 'literal';
}

/** A subject a subscription may use (wildcards allowed). */
export function isValidSubject(subject: string): boolean {
  return classifySubject(subject) !== 'invalid';
}

/** A subject a message may be published to (no wildcards). */
export function isValidPublishSubject(subject: string): boolean {
  return classifySubject(subject) === 'literal';
}

/** A queue group name: non-empty, no whitespace. */
export function isValidQueueName(queue: string): boolean {
  if (queue.length === 0) return false;
  for (let i = 0; i < queue.length; i++) if (isWhitespace(queue.charCodeAt(i))) return false;
  return true;
}

/** Does the literal `subject` match the (possibly wildcard) `pattern`? */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const t = p[i];
    if (t === '>') return s.length > i;
    if (i >= s.length) return false;
    if (t !== '*' && t !== s[i]) return false;
  }
  return p.length === s.length;
}

/** Some subject is matched by both patterns (given as tokens). */
export function patternsOverlap(a: readonly string[], b: readonly string[]): boolean {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x === '>' || y === '>') return x !== undefined && y !== undefined;
    if (x === undefined || y === undefined) return false;
    if (x !== '*' && y !== '*' && x !== y) return false;
  }
  return true;
}
