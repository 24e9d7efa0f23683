/**
 * How permission rules compare with subjects. Pure functions over subject
 * strings (tokens split on `.`; `*` one token, `>` one or more at the end).
 *
 * Three relations, and where each is used:
 * - `matches(rule, subject)`: the rule covers a published subject. A
 *   publish subject's tokens are taken literally, as the router does: a
 *   message to `a.*` reaches only subscriptions whose pattern matches the
 *   token `*`, so `allow: a.b` does not let one publish to `a.*`.
 * - `covers(rule, sub)`: every subject a subscription `sub` can receive is
 *   covered by the rule (`a.>` covers `a.*`; `a.*` does not cover `a.>`).
 *   A subscription is allowed only when an allow rule covers it. It is
 *   refused when a deny rule `matches` its subject taken literally (as
 *   nats-server; this includes every rule that covers it).
 * - `overlaps(rule, sub)`: some subject is matched by both. A subscription
 *   that a deny rule overlaps but does not cover (`>` against `secret.>`) is
 *   allowed, and each delivery to it is checked against the deny rules.
 */
import { patternsOverlap } from '../core/subject.js';

export function tokens(subject: string): string[] {
  return subject.split('.');
}

/** The rule (a pattern) matches the subject, whose tokens are literal. */
export function matches(rule: readonly string[], subject: readonly string[]): boolean {
  const n = rule.length;
  for (let i = 0; i < n; i++) {
    const r = rule[i];
    if (r === '>') return subject.length > i;
    if (i >= subject.length) return false;
    if (r !== '*' && r !== subject[i]) return false;
  }
  return subject.length === n;
}

/** Every subject matched by the pattern `sub` is matched by the pattern `rule`. */
export function covers(rule: readonly string[], sub: readonly string[]): boolean {
  const n = rule.length;
  for (let i = 0; i < n; i++) {
    const r = rule[i];
    if (r === '>') return sub.length > i;
    if (i >= sub.length) return false;
    const s = sub[i];
    if (s === '>') return false;
    if (r === '*') continue;
    if (s === '*' || r !== s) return false;
  }
  return sub.length === n;
}

/** Some subject is matched by both patterns (the core's relation, used by the router's imports too). */
export const overlaps = patternsOverlap;

/**
 * One rule of a permission list: `orders.>` or, for subscriptions,
 * `orders.> workers` (only that queue group; the queue may use `*`).
 */
export interface Rule {
  readonly text: string;
  readonly subject: readonly string[];
  /** null: any (or no) queue. */
  readonly queue: readonly string[] | null;
}

export function parseRule(text: string): Rule {
  const parts = text.trim().split(/\s+/);
  return {
    text,
    subject: tokens(parts[0]),
    queue: parts.length > 1 ? tokens(parts[1]) : null,
  };
}

/** A rule's subject is a valid pattern and its queue (if any) a valid name: the message when not. */
export function checkRule(text: string): string | null {
  const parts = text.trim().split(/\s+/);
  if (parts.length === 0 || parts[0] === '') return 'is empty';
  if (parts.length > 2) return 'must be a subject and at most one queue group';
  const t = parts[0].split('.');
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '') return `has an empty token in "${parts[0]}"`;
    if (t[i] === '>' && i !== t.length - 1) return `has '>' before the end of "${parts[0]}"`;
    if (t[i].length > 1 && (t[i].includes('*') || t[i].includes('>'))) {
      return `has a wildcard inside a token in "${parts[0]}"`;
    }
  }
  return null;
}
