/**
 * Sending a message on towards its destination nodes: each destination's
 * next link from the link-state database (the last route found is kept, a
 * run of messages to one node looks it up once), one copy per neighbour.
 */
import type { Message } from '../core/message.js';
import type { Dest } from './frames.js';
import type { Link } from './link.js';
import type { LinkStateDb } from './lsdb.js';

export class Forwarder {
  /** Data messages that had no route. */
  noRoute = 0;
  /**
   * The last two routes found (a node and its next link), newest first.
   * Two, not one: a relay between a requester's node and a responder's
   * sends every other message to each, and a one-entry cache missed on
   * every message there (bench/PROFILE.md, "Issue 16 — chainrr (round 9)").
   * Forgotten whenever routes or links change (`forget`).
   */
  private routeNode = '';
  private routeLink: Link | null = null;
  private olderNode = '';
  private olderLink: Link | null = null;
  /** A one-entry list reused to send one destination of a longer array. */
  private readonly oneDest: Dest[] = [{ node: '', plain: false, queues: [] }];

  constructor(
    private readonly lsdb: LinkStateDb,
    private readonly links: ReadonlyMap<string, Link>,
  ) {}

  forget(): void {
    // Each link's kept relay decision too (`Link.relayTo`).
    for (const l of this.links.values()) l.relayTo = null;
    this.routeNode = '';
    this.routeLink = null;
    this.olderNode = '';
    this.olderLink = null;
  }

  /**
   * Splits destinations dests[0, n) by next hop and sends one copy per
   * neighbour. The destination objects may be reused by the caller after
   * this returns: the links encode them synchronously.
   */
  forward(account: string, msg: Message, dests: readonly Dest[], n: number, ttl: number): void {
    if (n === 1) {
      const link = this.nextLink(dests[0].node);
      if (link !== null) {
        let one = dests;
        if (dests.length !== 1) {
          one = this.oneDest;
          this.oneDest[0] = dests[0];
        }
        link.sendMessage(ttl, account, one, msg);
      }
      return;
    }
    const byLink = new Map<Link, Dest[]>();
    for (let i = 0; i < n; i++) {
      const d = dests[i];
      const link = this.nextLink(d.node);
      if (link === null) continue;
      const list = byLink.get(link);
      if (list === undefined) byLink.set(link, [d]);
      else list.push(d);
    }
    // The link splits destinations that do not fit one frame.
    for (const [link, list] of byLink) link.sendMessage(ttl, account, list, msg);
  }

  /** The link towards `node`, without counting a missing route. */
  nextLinkOf(node: string): Link | undefined {
    const s = this.lsdb.nodes.get(node);
    return s?.reachable ? this.links.get(s.nextHop) : undefined;
  }

  /** The link towards `node`; null (counted in `noRoute`) when there is none. */
  nextLink(node: string): Link | null {
    if (node === this.routeNode) return this.routeLink;
    let link: Link | undefined;
    if (node === this.olderNode) link = this.olderLink!;
    else {
      const s = this.lsdb.nodes.get(node);
      link = s?.reachable ? this.links.get(s.nextHop) : undefined;
      if (link === undefined) {
        this.noRoute++;
        return null;
      }
    }
    this.olderNode = this.routeNode;
    this.olderLink = this.routeLink;
    this.routeNode = node;
    this.routeLink = link;
    return link;
  }
}
