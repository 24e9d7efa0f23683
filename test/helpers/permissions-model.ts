/**
 * An independent model of subject permissions, for the property tests. It
 * shares no code with src/auth: every relation between a rule and a subject
 * is decided by enumerating concrete subjects over a small universe (a few
 * tokens per position, a bounded length) and comparing sets, so a bug in
 * the real matchers cannot hide in the model.
 *
 * The decisions are the documented ones (src/auth/permissions.ts), for two
 * flavours: `weft`, and `nats-server` (2.9) where Weft is stricter by design.
 * Permission sets are in nats-server's config shape, so one generated set
 * goes into a security document for either server.
 */

/** Concrete subjects: sequences of 1..L tokens, the token at position i from alphabets[i]. */
export class Universe {
  private readonly sets = new Map<string, ReadonlySet<string>>();
  private readonly tails: string[][] = [];

  /** `*` and `>` may be in an alphabet: there they are literal tokens (a publish to `a.*`). */
  constructor(readonly alphabets: readonly (readonly string[])[]) {
    // tails[i]: every sequence of tokens from position i on, of any length ≥ 1.
    for (let i = alphabets.length - 1; i >= 0; i--) {
      const out: string[] = [];
      for (const tok of alphabets[i]!) {
        out.push(tok);
        for (const rest of this.tails[i + 1] ?? []) out.push(`${tok}.${rest}`);
      }
      this.tails[i] = out;
    }
  }

  /** Every subject of the universe the pattern stands for (`*` any one token, `>` one or more). */
  expand(pattern: string): ReadonlySet<string> {
    let set = this.sets.get(pattern);
    if (set !== undefined) return set;
    const toks = pattern.split('.');
    if (toks.length >= this.alphabets.length) {
      throw new Error(
        `pattern ${pattern} is too long for a universe of length ${this.alphabets.length}`,
      );
    }
    let prefixes = [''];
    const out = new Set<string>();
    for (let i = 0; i < toks.length; i++) {
      const t = toks[i]!;
      const join = (p: string, x: string) => (p === '' ? x : `${p}.${x}`);
      if (t === '>') {
        for (const p of prefixes) for (const tail of this.tails[i]!) out.add(join(p, tail));
        prefixes = [];
        break;
      }
      const options = t === '*' ? this.alphabets[i]! : [t];
      prefixes = prefixes.flatMap((p) => options.map((x) => join(p, x)));
    }
    for (const p of prefixes) out.add(p);
    set = out;
    this.sets.set(pattern, set);
    return set;
  }

  /** The subject, its tokens taken literally, is one the pattern stands for. */
  has(pattern: string, subject: string): boolean {
    return this.expand(pattern).has(subject);
  }

  /** Every subject `inner` stands for, `outer` stands for too. */
  within(inner: string, outer: string): boolean {
    const o = this.expand(outer);
    for (const s of this.expand(inner)) if (!o.has(s)) return false;
    return true;
  }

  /** Some subject both stand for. */
  meet(a: string, b: string): boolean {
    const [small, big] = this.expand(a).size <= this.expand(b).size ? [a, b] : [b, a];
    const bs = this.expand(big);
    for (const s of this.expand(small)) if (bs.has(s)) return true;
    return false;
  }
}

/** One direction of a permissions block, nats-server's shape. */
export interface RulesDoc {
  allow?: string[];
  deny?: string[];
}

/** A user's `permissions` block, nats-server's shape. */
export interface PermsDoc {
  publish?: RulesDoc;
  subscribe?: RulesDoc;
  allow_responses?: true | { max: number; expires: string };
}

export type Flavour = 'weft' | 'nats-server';

interface QRule {
  subject: string;
  queue: string | null;
}

function split(rule: string): QRule {
  const [subject, queue] = rule.trim().split(/\s+/);
  return { subject: subject!, queue: queue ?? null };
}

/** The documented decisions, over a subject universe and a queue-name universe. */
export class Model {
  constructor(
    readonly subjects: Universe,
    readonly queues: Universe,
    readonly flavour: Flavour = 'weft',
  ) {}

  /** A publish to `subject` (responses aside). */
  canPublish(p: PermsDoc, subject: string): boolean {
    const u = this.subjects;
    // allow_responses without a publish allow list: only responses (an empty list).
    const allow = p.publish?.allow ?? (p.allow_responses !== undefined ? [] : undefined);
    if (allow !== undefined && !allow.some((r) => u.has(r, subject))) return false;
    return !(p.publish?.deny ?? []).some((r) => u.has(r, subject));
  }

  private inGroup(rule: QRule, queue: string): boolean {
    return rule.queue !== null && this.queues.has(rule.queue, queue);
  }

  /** A subscription to `sub` in `queue` ('' for none). */
  canSubscribe(p: PermsDoc, sub: string, queue: string): boolean {
    const u = this.subjects;
    const allowList = p.subscribe?.allow;
    if (allowList !== undefined) {
      const allow = allowList.map(split);
      // nats-server looks the subscription's subject up among the rules as a
      // literal subject; Weft also wants the rule to cover all it can receive.
      const fits = (r: QRule) =>
        this.flavour === 'weft' ? u.within(sub, r.subject) : u.has(r.subject, sub);
      const claimedBy = allow.filter((r) => r.queue !== null && u.has(r.subject, sub));
      const ok =
        queue !== '' && claimedBy.length > 0
          ? allow.some((r) => r.queue !== null && this.inGroup(r, queue) && fits(r))
          : allow.some((r) => r.queue === null && fits(r));
      if (!ok) return false;
    }
    const deny = (p.subscribe?.deny ?? []).map(split).filter((r) => u.has(r.subject, sub));
    if (this.flavour === 'nats-server' && queue !== '' && deny.some((r) => r.queue !== null)) {
      // A queue rule matching the subject decides alone, overriding plain ones.
      return !deny.some((r) => r.queue !== null && this.inGroup(r, queue));
    }
    return !deny.some((r) => r.queue === null || (queue !== '' && this.inGroup(r, queue)));
  }

  /** Deny rules that keep messages from a subscription in `queue`. */
  private filters(p: PermsDoc, queue: string): QRule[] {
    return (p.subscribe?.deny ?? [])
      .map(split)
      .filter(
        (r) =>
          r.queue === null || (this.flavour === 'weft' && queue !== '' && this.inGroup(r, queue)),
      );
  }

  /** Some deny rule for the subscription shares a subject with it (deliveries must be checked). */
  deliveryCheckNeeded(p: PermsDoc, sub: string, queue: string): boolean {
    return this.filters(p, queue).some((r) => this.subjects.meet(r.subject, sub));
  }

  /** A message on `subject` may reach a subscription in `queue` (no deny rule for it stands for it). */
  canReceive(p: PermsDoc, subject: string, queue: string): boolean {
    return !this.filters(p, queue).some((r) => this.subjects.has(r.subject, subject));
  }

  /**
   * A message on `subject` reaches an allowed subscription to `sub` in
   * `queue`. nats-server filters deliveries only once its deny filter is
   * loaded (`natsFilter`, see natsFilterLoaded); Weft always does.
   */
  delivers(p: PermsDoc, sub: string, queue: string, subject: string, natsFilter = true): boolean {
    if (!this.subjects.has(sub, subject)) return false;
    return (this.flavour === 'nats-server' && !natsFilter) || this.canReceive(p, subject, queue);
  }

  /**
   * nats-server 2.9 checks deliveries against the deny rules only after a
   * wildcard subscription that some deny entry lies within (`deny: a.b`,
   * `SUB a.*`) was allowed, and then for every subscription of the client.
   * A deny rule that only overlaps (`deny: a.>`, `SUB *.b`) never loads the
   * filter: nats-server delivers `a.b` there. A queue entry (`"a.b g.x"`)
   * is compared as one string split on dots (`a`, `b g`, `x`), its token
   * with the space a literal only a wildcard stands for (here: `*`).
   */
  natsFilterLoaded(p: PermsDoc, accepted: readonly string[]): boolean {
    const max = this.subjects.alphabets.length - 1;
    const deny = (p.subscribe?.deny ?? []).map((d) => {
      const t = d.split('.').map((x) => (x.includes(' ') ? '*' : x));
      // Longer than any subscription: only a `>` of the subscription can
      // cover it, and then only its first tokens matter.
      return (t.length > max ? [...t.slice(0, max - 1), '>'] : t).join('.');
    });
    return accepted.some(
      (sub) => /(^|\.)[*>]($|\.)/.test(sub) && deny.some((d) => this.subjects.within(d, sub)),
    );
  }
}

// --- random cases ------------------------------------------------------------

/** A small seeded PRNG (mulberry32): the same seed, the same cases. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rand = () => number;
export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
export const chance = (r: Rand, p: number): boolean => r() < p;
const upTo = (r: Rand, n: number) => Math.floor(r() * (n + 1));

/** A family of subjects: its universe and how to draw a literal subject of it. */
export interface Family {
  readonly name: string;
  readonly universe: Universe;
  literal(r: Rand): string;
}

const WILD = ['*', '>'];

/** Subjects of 1–3 tokens over a, b, c (and reply subjects `r.<token>`, see replySubject). */
export const PLAIN: Family = {
  name: 'plain',
  universe: new Universe([
    ['a', 'b', 'c', 'r', ...WILD],
    ['a', 'b', 'c', ...WILD],
    ['a', 'b', 'c', ...WILD],
    ['a', 'b', 'c', ...WILD],
  ]),
  literal: (r) => Array.from({ length: 1 + upTo(r, 2) }, () => pick(r, ['a', 'b', 'c'])).join('.'),
};

/**
 * A reply subject of the plain family: no rule names it and nothing is
 * published to it but responses, so who may answer it depends only on the
 * requests received.
 */
export function replySubject(r: Rand): string {
  return `r.${pick(r, ['a', 'b', 'c'])}`;
}

const JS_SUBJECTS = [
  '$JS.API.STREAM.CREATE.X',
  '$JS.API.STREAM.CREATE.Y',
  '$JS.API.STREAM.INFO.X',
  '$JS.API.STREAM.DELETE.Y',
  '$JS.API.CONSUMER.CREATE.X',
  '$JS.API.CONSUMER.INFO.Y',
];

/** JetStream API subjects (`$JS.API.STREAM.CREATE.X`, …). */
export const JETSTREAM: Family = {
  name: 'jetstream',
  universe: new Universe([
    ['$JS', 'a', ...WILD],
    ['API', 'a', ...WILD],
    ['STREAM', 'CONSUMER', 'a', ...WILD],
    ['CREATE', 'INFO', 'DELETE', 'a', ...WILD],
    ['X', 'Y', 'a', ...WILD],
    ['a'],
  ]),
  literal: (r) => pick(r, JS_SUBJECTS),
};

/** Queue names, and the universe their rules' patterns stand over. */
export const QUEUE_NAMES = ['q1', 'q2', 'g.a', 'g.b'];
export const QUEUES = new Universe([['q1', 'q2', 'g'], ['a', 'b'], ['a']]);
const QUEUE_PATTERNS = ['q1', 'q2', 'g.a', 'g.*', 'g.>', '*'];

/** A pattern from a literal: some tokens become `*`, maybe a tail becomes `>`. */
export function pattern(r: Rand, f: Family): string {
  const toks = f.literal(r).split('.');
  if (chance(r, 0.35)) toks.splice(upTo(r, toks.length - 1), toks.length, '>');
  return toks.map((t) => (t !== '>' && chance(r, 0.25) ? '*' : t)).join('.');
}

/** A subject to publish to: literal, now and then with a wildcard token (taken literally). */
export function publishSubject(r: Rand, f: Family): string {
  return chance(r, 0.1) ? pattern(r, f) : f.literal(r);
}

function ruleList(r: Rand, f: Family, min: number, max: number, queues: boolean): string[] {
  return Array.from({ length: min + upTo(r, max - min) }, () => {
    const p = pattern(r, f);
    return queues && chance(r, 0.3) ? `${p} ${pick(r, QUEUE_PATTERNS)}` : p;
  });
}

function rulesDoc(r: Rand, f: Family, queues: boolean): RulesDoc | undefined {
  if (chance(r, 0.2)) return undefined;
  const doc: RulesDoc = {};
  // Never an empty allow list: nats-server reads `subscribe.allow: []` as no list.
  if (chance(r, 0.7)) doc.allow = ruleList(r, f, 1, 4, queues);
  if (chance(r, 0.6)) doc.deny = ruleList(r, f, 1, 3, queues);
  return doc;
}

/** A random permissions block. */
export function permissions(r: Rand, f: Family): PermsDoc {
  const p: PermsDoc = {};
  const pub = rulesDoc(r, f, false);
  const sub = rulesDoc(r, f, true);
  if (pub !== undefined) p.publish = pub;
  if (sub !== undefined) p.subscribe = sub;
  if (chance(r, 0.25)) {
    p.allow_responses = chance(r, 0.5) ? true : { max: 1 + upTo(r, 2), expires: '1m' };
  }
  return p;
}

/** A random subscription: a pattern, in a queue group one time in three. */
export function subscription(r: Rand, f: Family): { subject: string; queue: string } {
  return { subject: pattern(r, f), queue: chance(r, 0.35) ? pick(r, QUEUE_NAMES) : '' };
}

/** The seed for a property test: WEFT_PROPERTY_SEED, or a fresh one. */
export function propertySeed(): number {
  const env = process.env.WEFT_PROPERTY_SEED;
  return env !== undefined && env !== '' ? Number(env) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}

/** Cases to run: WEFT_PROPERTY_CASES, or the default. */
export function propertyCases(dflt: number): number {
  const env = Number(process.env.WEFT_PROPERTY_CASES);
  return Number.isInteger(env) && env > 0 ? env : dflt;
}
