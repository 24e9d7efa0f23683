/**
 * The router hands a published message to every interest in its account:
 * each plain subscription, and exactly one member of each queue group.
 * It knows no protocol, socket or disk; receivers are `Subscriber`s.
 */
import type { Account } from './account.js';
import type { Message, Subscriber, Subscription } from './message.js';
import type { MatchResult } from './sublist.js';

export class Router {
  /**
   * Delivers `msg` to the interest in `account`. `origin` is the party that
   * published it (null for the node itself); it does not receive its own
   * message unless it asked for echo. Returns the number of deliveries.
   */
  publish(account: Account, msg: Message, origin: Subscriber | null): number {
    return this.deliver(account.sublist.match(msg.subject), msg, origin);
  }

  /** Delivers `msg` to an interest already matched (e.g. from a per-connection cache). */
  deliver(result: MatchResult, msg: Message, origin: Subscriber | null): number {
    let delivered = 0;
    // The first collector (most often the only one: the mesh) in a variable,
    // any other in a list: no array per message (sender profile, PROFILE.md).
    let collector: Subscriber | null = null;
    let collectors: Subscriber[] | null = null;
    let later: Subscription[] | null = null;
    const plain = result.plain;
    for (let i = 0; i < plain.length; i++) {
      const sub = plain[i];
      const owner = sub.owner;
      if (owner === origin && !origin.echo) continue;
      if (owner.forwards === true) {
        if (later === null) later = [sub];
        else later.push(sub);
        continue;
      }
      owner.deliver(sub, msg);
      delivered++;
      if (owner.complete !== undefined && owner !== collector) {
        if (collector === null) collector = owner;
        else collectors = addCollector(collectors, owner);
      }
    }
    const queues = result.queues;
    for (let g = 0; g < queues.length; g++) {
      const member = pick(queues[g], result.cursors, g, origin, msg);
      if (member !== null) {
        const owner = member.owner;
        owner.deliver(member, msg);
        delivered++;
        if (owner.complete !== undefined && owner !== collector) {
          if (collector === null) collector = owner;
          else collectors = addCollector(collectors, owner);
        }
      }
    }
    if (collector !== null) {
      collector.complete!(msg);
      if (collectors !== null) for (const c of collectors) c.complete!(msg);
    }
    // Parties that publish on (imports) go last: what they publish is a
    // delivery of its own, and a collector gathers one message at a time.
    if (later !== null) {
      for (const sub of later) {
        const n = sub.owner.deliver(sub, msg);
        delivered += typeof n === 'number' ? n : 1;
      }
    }
    return delivered;
  }

  /**
   * Delivers a message another node routed here: to the local plain
   * subscriptions when `plain`, and to one local member of each group in
   * `queues` (the origin chose this node for them). Collectors (the mesh)
   * are skipped: routing was decided at the origin; so are `localOnly`
   * parties (imports ran at the origin). Returns deliveries.
   */
  deliverAssigned(
    result: MatchResult,
    msg: Message,
    plain: boolean,
    queues: readonly string[],
  ): number {
    let delivered = 0;
    if (plain) {
      for (const sub of result.plain) {
        if (sub.owner.complete !== undefined || sub.owner.localOnly === true) continue;
        sub.owner.deliver(sub, msg);
        delivered++;
      }
    }
    if (queues.length > 0) {
      for (let g = 0; g < result.queues.length; g++) {
        const members = result.queues[g];
        if (!queues.includes(members[0].queue)) continue;
        const member = pickLocal(members, result.cursors, g, msg);
        if (member !== null) {
          member.owner.deliver(member, msg);
          delivered++;
        }
      }
    }
    return delivered;
  }
}

function addCollector(list: Subscriber[] | null, c: Subscriber): Subscriber[] {
  if (list === null) return [c];
  if (!list.includes(c)) list.push(c);
  return list;
}

/** The member's owner lets it take the message (see Subscriber.accepts). */
function accepts(sub: Subscription, msg: Message): boolean {
  return sub.owner.accepts === undefined || sub.owner.accepts(sub, msg);
}

/**
 * One member of a queue group, round robin from the group's cursor: the next
 * eligible member on this node, else the nearest remote one.
 */
function pick(
  members: readonly Subscription[],
  cursors: Uint32Array,
  g: number,
  origin: Subscriber | null,
  msg: Message,
): Subscription | null {
  const n = members.length;
  const start = cursors[g] % n;
  let best = -1;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (let k = 0; k < n; k++) {
    const i = (start + k) % n;
    const sub = members[i];
    if (sub.owner === origin && !origin.echo) continue;
    if (!accepts(sub, msg)) continue;
    const d = sub.distance ?? 0;
    if (d === 0) {
      cursors[g] = i + 1;
      return sub;
    }
    if (d < bestDistance) {
      best = i;
      bestDistance = d;
    }
  }
  if (best < 0) return null;
  cursors[g] = best + 1;
  return members[best];
}

/** One member on this node (not a collector's), round robin; null when none. */
function pickLocal(
  members: readonly Subscription[],
  cursors: Uint32Array,
  g: number,
  msg: Message,
): Subscription | null {
  const n = members.length;
  const start = cursors[g] % n;
  for (let k = 0; k < n; k++) {
    const i = (start + k) % n;
    const owner = members[i].owner;
    if (owner.complete === undefined && owner.localOnly !== true && accepts(members[i], msg)) {
      cursors[g] = i + 1;
      return members[i];
    }
  }
  return null;
}
