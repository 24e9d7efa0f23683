/**
 * The HTTP API's parameters read and checked: subjects from the path,
 * `?timeout=` durations. Pure: each returns the value or a string saying
 * why it is refused (answered 400).
 */
import { classifySubject } from '../../core/subject.js';

/** `?timeout=` when absent, ms. */
export const REQUEST_TIMEOUT_DEFAULT_MS = 5000;
/** The longest `?timeout=` a request may ask, ms (longer is refused, not shortened). */
export const REQUEST_TIMEOUT_MAX_MS = 60_000;
/** The longest subject the API takes, bytes (well under any client's control line). */
export const SUBJECT_MAX = 4096;

/** A subject to publish to: literal, no wildcard, no empty token, no whitespace. */
export function publishSubject(s: string): string | { readonly why: string } {
  const base = subjectCheck(s);
  if (typeof base !== 'string') return base;
  if (classifySubject(s) === 'wildcard') {
    return { why: `invalid publish subject ${JSON.stringify(s)}: wildcards are not allowed` };
  }
  return s;
}

/** A subject to subscribe to: wildcards `*` and `>` allowed as whole tokens. */
export function subscribeSubject(s: string): string | { readonly why: string } {
  return subjectCheck(s);
}

function subjectCheck(s: string): string | { readonly why: string } {
  if (s === '') return { why: 'the subject is empty' };
  if (Buffer.byteLength(s) > SUBJECT_MAX) {
    return { why: `the subject is longer than ${SUBJECT_MAX} bytes` };
  }
  // Control characters are refused with whitespace: no client could subscribe to them.
  if (/[\x00-\x1f\x7f]/.test(s) || classifySubject(s) === 'invalid') {
    return {
      why: `invalid subject ${JSON.stringify(s)}: tokens are separated by single dots, with no whitespace and wildcards only as whole tokens`,
    };
  }
  return s;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/**
 * A `?timeout=` value: a number with a unit (`250ms`, `2s`, `1.5s`, `1m`),
 * more than 0 and at most `max` ms. The ms it means, rounded up.
 */
export function parseTimeout(
  text: string | null,
  max = REQUEST_TIMEOUT_MAX_MS,
  dflt = REQUEST_TIMEOUT_DEFAULT_MS,
): number | { readonly why: string } {
  if (text === null) return dflt;
  const m = /^(\d{1,9}(?:\.\d{1,6})?)(ms|s|m)$/.exec(text.trim());
  if (m === null) {
    return {
      why: `timeout ${JSON.stringify(text)} is not a duration such as 500ms, 2s or 1m`,
    };
  }
  const ms = Math.ceil(Number(m[1]) * UNITS[m[2]!]!);
  if (ms <= 0) return { why: 'timeout must be longer than 0' };
  if (ms > max) return { why: `timeout ${text} is longer than the most allowed, ${max}ms` };
  return ms;
}
