/**
 * Local interest, aggregated for advertising: each distinct (account,
 * subject, queue) once, however many subscriptions share it, and a plain
 * subject not at all while a plain wildcard of the same account covers it.
 * Pure: `add`/`remove` return what to advertise and withdraw.
 */
import { classifySubject } from '../core/subject.js';
import { type InterestEntry, interestKey } from './lsdb.js';

export interface InterestChange {
  add: InterestEntry[];
  del: InterestEntry[];
}

/** Does `pattern` match every subject `other` matches? (Both may have wildcards.) */
export function covers(pattern: string, other: string): boolean {
  if (pattern === other) return true;
  const p = pattern.split('.');
  const o = other.split('.');
  for (let i = 0; i < p.length; i++) {
    const t = p[i];
    if (t === '>') return o.length > i;
    if (i >= o.length) return false;
    if (t === '*') {
      if (o[i] === '>') return false;
      continue;
    }
    if (t !== o[i]) return false;
  }
  return p.length === o.length;
}

interface AccountInterest {
  /** Plain subjects with their subscription counts. */
  plain: Map<string, number>;
  /** Plain subjects advertised now. */
  advertised: Set<string>;
  /** The advertised plain wildcards (what can cover others). */
  wildcards: Set<string>;
}

export class LocalInterest {
  private readonly accounts = new Map<string, AccountInterest>();
  /** Queue interest: key → [entry, count]. Never covered (group semantics differ). */
  private readonly queues = new Map<string, [InterestEntry, number]>();

  private acc(name: string): AccountInterest {
    let a = this.accounts.get(name);
    if (a === undefined) {
      a = { plain: new Map(), advertised: new Set(), wildcards: new Set() };
      this.accounts.set(name, a);
    }
    return a;
  }

  /** Count of distinct entries advertised. */
  get advertisedCount(): number {
    let n = this.queues.size;
    for (const a of this.accounts.values()) n += a.advertised.size;
    return n;
  }

  add(account: string, subject: string, queue: string): InterestChange {
    const change: InterestChange = { add: [], del: [] };
    if (queue !== '') {
      const e: InterestEntry = [account, subject, queue];
      const k = interestKey(e);
      const have = this.queues.get(k);
      if (have !== undefined) have[1]++;
      else {
        this.queues.set(k, [e, 1]);
        change.add.push(e);
      }
      return change;
    }
    const a = this.acc(account);
    const n = a.plain.get(subject) ?? 0;
    a.plain.set(subject, n + 1);
    if (n > 0) return change;
    for (const w of a.wildcards) if (w !== subject && covers(w, subject)) return change;
    a.advertised.add(subject);
    change.add.push([account, subject, '']);
    if (classifySubject(subject) === 'wildcard') {
      a.wildcards.add(subject);
      // It covers advertised subjects: withdraw them.
      for (const s of [...a.advertised]) {
        if (s !== subject && covers(subject, s)) {
          a.advertised.delete(s);
          a.wildcards.delete(s);
          change.del.push([account, s, '']);
        }
      }
    }
    return change;
  }

  remove(account: string, subject: string, queue: string): InterestChange {
    const change: InterestChange = { add: [], del: [] };
    if (queue !== '') {
      const e: InterestEntry = [account, subject, queue];
      const k = interestKey(e);
      const have = this.queues.get(k);
      if (have === undefined) return change;
      if (--have[1] === 0) {
        this.queues.delete(k);
        change.del.push(have[0]);
      }
      return change;
    }
    const a = this.accounts.get(account);
    const n = a?.plain.get(subject);
    if (a === undefined || n === undefined) return change;
    if (n > 1) {
      a.plain.set(subject, n - 1);
      return change;
    }
    a.plain.delete(subject);
    if (!a.advertised.delete(subject)) return change; // it was covered
    change.del.push([account, subject, '']);
    if (a.wildcards.delete(subject)) {
      // What it covered may need advertising now: those not covered by
      // another advertised wildcard, nor by another candidate wildcard.
      const candidates: string[] = [];
      for (const s of a.plain.keys()) {
        if (a.advertised.has(s) || !covers(subject, s)) continue;
        let covered = false;
        for (const w of a.wildcards) if (covers(w, s)) covered = true;
        if (!covered) candidates.push(s);
      }
      for (const s of candidates) {
        const wild = candidates.some(
          (w) => w !== s && classifySubject(w) === 'wildcard' && covers(w, s),
        );
        if (wild) continue;
        a.advertised.add(s);
        if (classifySubject(s) === 'wildcard') a.wildcards.add(s);
        change.add.push([account, s, '']);
      }
    }
    if (a.plain.size === 0) this.accounts.delete(account);
    return change;
  }
}
