/**
 * A user's permissions, compiled: what it may publish to and subscribe to,
 * as nats-server's `permissions` block. Decisions are cached per subject
 * (a bounded map, shared by every connection of the user), so a user with a
 * hundred rules publishes at nearly full speed: a cache hit is one Map
 * lookup.
 *
 * A subscription is refused when a deny rule matches its subject taken
 * literally, as nats-server does (`deny: a.*` refuses `a.*` and `a.>`, whose
 * `>` is one token to `*`); one a deny rule only overlaps (`>` against
 * `secret.>`) is allowed and each delivery to it is checked.
 *
 * Where Weft differs from nats-server it is stricter, never looser:
 * - a subscription is allowed only when an allow rule covers all it can
 *   receive (nats-server 2.9 lets `allow: a.*` subscribe to `a.>`; so
 *   `"a.* q"` does not let group `q` subscribe to `a.>`, and still keeps
 *   other groups from it, as nats-server);
 * - a queue-group deny rule and a plain deny rule both refuse (nats-server
 *   lets a matching queue rule override a plain deny);
 * - a queue-group deny rule also filters deliveries to a wider subscription
 *   in that queue group (`deny: "secret.> q"`: a `>` subscription in `q`
 *   gets no `secret.x`; nats-server delivers it);
 * - deliveries are checked for every subscription a deny rule overlaps
 *   (`deny: secret.>`, `SUB *.a`: no `secret.a`); nats-server 2.9 checks
 *   only once a deny rule lies inside a wildcard subscription, and
 *   delivers `secret.a` there.
 *
 * test/unit/permissions-property.test.ts checks every decision against an
 * independent model, and that Weft is never looser than nats-server;
 * test/wire/permissions.test.ts shows each difference against both.
 */
import { covers, matches, overlaps, parseRule, type Rule, tokens } from './subject-rules.js';
import type { PermissionsConfig, ResponsePermission, SubjectRules } from './types.js';

/** nats-server's DEFAULT_ALLOW_RESPONSE_EXPIRATION: a response permission's life when `expires` is not set. */
export const RESPONSE_EXPIRES_DEFAULT_MS = 120_000;

/** Decisions remembered per Permissions object; the cache is cleared when full. */
export const PERMISSION_CACHE_MAX = 4096;

interface Compiled {
  readonly allow: readonly Rule[] | null;
  readonly deny: readonly Rule[];
}

function compile(r: SubjectRules): Compiled {
  return { allow: r.allow === null ? null : r.allow.map(parseRule), deny: r.deny.map(parseRule) };
}

function queueMatches(rule: Rule, queue: string): boolean {
  return rule.queue !== null && matches(rule.queue, tokens(queue));
}

export class Permissions {
  private readonly pub: Compiled;
  private readonly sub: Compiled;
  readonly responses: ResponsePermission | null;
  private readonly pubCache = new Map<string, boolean>();
  private readonly deliverCache = new Map<string, boolean>();
  /** Times a cache was full and cleared. */
  cacheResets = 0;

  constructor(readonly config: PermissionsConfig) {
    this.responses = config.allowResponses;
    // As nats-server: allowing responses without a publish allow list means
    // a user may publish only responses (an empty allow list).
    const publish =
      config.allowResponses !== null && config.publish.allow === null
        ? { allow: [], deny: config.publish.deny }
        : config.publish;
    this.pub = compile(publish);
    this.sub = compile(config.subscribe);
  }

  /** May publish a message to `subject` (responses aside: see ResponseGrants). */
  canPublish(subject: string): boolean {
    const hit = this.pubCache.get(subject);
    if (hit !== undefined) return hit;
    const t = tokens(subject);
    const { allow, deny } = this.pub;
    let ok = allow === null || allow.some((r) => matches(r.subject, t));
    if (ok) ok = !deny.some((r) => matches(r.subject, t));
    remember(this, this.pubCache, subject, ok);
    return ok;
  }

  /** May subscribe to `subject` (in `queue`, '' for none). Not cached: subscribing is rare. */
  canSubscribe(subject: string, queue: string): boolean {
    const t = tokens(subject);
    const { allow, deny } = this.sub;
    if (allow !== null) {
      // A queue subscription is decided by the queue rules that match its
      // subject (taken literally, as nats-server) when there are any, and
      // one of them for its group must cover it; a plain one, and a queue
      // one no queue rule matches, by the plain rules that cover it.
      const claimed = queue !== '' && allow.some((r) => r.queue !== null && matches(r.subject, t));
      const ok = claimed
        ? allow.some((r) => r.queue !== null && queueMatches(r, queue) && covers(r.subject, t))
        : allow.some((r) => r.queue === null && covers(r.subject, t));
      if (!ok) return false;
    }
    // The subject's tokens taken literally, as nats-server: a `*` rule
    // refuses a `>` subscription there too.
    for (const r of deny) if (appliesTo(r, queue) && matches(r.subject, t)) return false;
    return true;
  }

  /**
   * An allowed subscription to `subject` (in `queue`) that some subscribe
   * deny rule for it overlaps: each delivery must be checked with `canReceive`.
   */
  needsDeliveryCheck(subject: string, queue = ''): boolean {
    const t = tokens(subject);
    return this.sub.deny.some((r) => appliesTo(r, queue) && overlaps(r.subject, t));
  }

  /** A message on `subject` may be delivered to a subscription in `queue` ('' for none): no deny rule for it matches. */
  canReceive(subject: string, queue = ''): boolean {
    const key = queue === '' ? subject : `${subject} ${queue}`;
    const hit = this.deliverCache.get(key);
    if (hit !== undefined) return hit;
    const t = tokens(subject);
    const ok = !this.sub.deny.some((r) => appliesTo(r, queue) && matches(r.subject, t));
    remember(this, this.deliverCache, key, ok);
    return ok;
  }
}

/** A subscribe deny rule applies to subscriptions in `queue`: a plain rule to all, a queue rule to its group. */
function appliesTo(r: Rule, queue: string): boolean {
  return r.queue === null || (queue !== '' && queueMatches(r, queue));
}

function remember(p: Permissions, cache: Map<string, boolean>, key: string, ok: boolean): void {
  if (cache.size >= PERMISSION_CACHE_MAX) {
    cache.clear();
    p.cacheResets++;
  }
  cache.set(key, ok);
}

/** Most reply subjects one connection may hold open (nats-server's replyPermLimit). */
export const RESPONSE_GRANTS_MAX = 4096;

/**
 * The reply subjects a connection may publish to because it received a
 * request with that reply (`allow_responses`). Per connection, bounded: past
 * RESPONSE_GRANTS_MAX the expired grants are swept, and if none expired the
 * oldest is dropped (counted).
 */
export class ResponseGrants {
  private readonly open = new Map<string, { left: number; expires: number }>();
  dropped = 0;

  constructor(private readonly perm: ResponsePermission) {}

  grant(reply: string, now: number): void {
    if (this.open.size >= RESPONSE_GRANTS_MAX && !this.open.has(reply)) {
      for (const [k, g] of this.open) if (g.expires !== 0 && g.expires <= now) this.open.delete(k);
      if (this.open.size >= RESPONSE_GRANTS_MAX) {
        const oldest = this.open.keys().next().value as string;
        this.open.delete(oldest);
        this.dropped++;
      }
    }
    const expires = this.perm.expiresMs > 0 ? now + this.perm.expiresMs : 0;
    this.open.set(reply, { left: this.perm.max, expires });
  }

  /** Uses one reply on `subject`; false when none is open. */
  use(subject: string, now: number): boolean {
    const g = this.open.get(subject);
    if (g === undefined) return false;
    if (g.expires !== 0 && g.expires <= now) {
      this.open.delete(subject);
      return false;
    }
    if (--g.left <= 0) this.open.delete(subject);
    return true;
  }

  get size(): number {
    return this.open.size;
  }
}
