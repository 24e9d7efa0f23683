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
    const plain = result.plain;
    for (let i = 0; i < plain.length; i++) {
      const sub = plain[i];
      if (sub.owner === origin && !origin.echo) continue;
      sub.owner.deliver(sub, msg);
      delivered++;
    }
    const queues = result.queues;
    for (let g = 0; g < queues.length; g++) {
      const member = pick(queues[g], result.cursors, g, origin);
      if (member !== null) {
        member.owner.deliver(member, msg);
        delivered++;
      }
    }
    return delivered;
  }
}

/**
 * One member of a queue group, round robin from the group's cursor: the next
 * eligible member, preferring members on this node over mesh links.
 */
function pick(
  members: readonly Subscription[],
  cursors: Uint32Array,
  g: number,
  origin: Subscriber | null,
): Subscription | null {
  const n = members.length;
  const start = cursors[g] % n;
  let remote = -1;
  for (let k = 0; k < n; k++) {
    const i = (start + k) % n;
    const sub = members[i];
    if (sub.owner === origin && !origin.echo) continue;
    if (sub.owner.kind !== 'link') {
      cursors[g] = i + 1;
      return sub;
    }
    if (remote < 0) remote = i;
  }
  if (remote < 0) return null;
  cursors[g] = remote + 1;
  return members[remote];
}
