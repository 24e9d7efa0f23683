/**
 * How the JetStream API is routed across a mesh.
 *
 * A stream lives on one node. That node subscribes, for each stream it owns,
 * to the API subjects that name the stream (`streamApiSubjects`, in the
 * queue group OWNER_QUEUE), through `Account.subscribe`, so the mesh
 * advertises them and a request made on any
 * node reaches the owner like any other request. The owner's
 * `$JS.API.STREAM.*.<name>` subscription doubles as the mesh-wide directory
 * of streams: `RemoteStreams` watches for it in other nodes' interest.
 *
 * Every node with JetStream also subscribes to all of `$JS.API.>` in the
 * queue group `API_QUEUE`. The router serves a queue group on the local node
 * first, so each request is seen by exactly one such "general" handler: the
 * one where it was published (or the nearest, where JetStream is off). It
 * answers what no owner answers: account-wide requests (`INFO`, stream names
 * and lists), creating a stream nobody owns, and "stream not found". It
 * stays silent about a stream another node owns, which answers itself.
 */
import type { Account, InterestListener } from '../core/account.js';
import type { Subscription } from '../core/message.js';
import { API_PREFIX } from './shapes.js';

/** The queue group of the general API handlers. */
export const API_QUEUE = '$WEFT_JS';
/**
 * The queue group of a stream owner's API subscriptions. A queue group,
 * though there is one owner, because the mesh advertises queue interest as
 * it is: a plain wildcard elsewhere on the owner's node (a `nats sub '>'`)
 * would cover plain API subscriptions and hide them from the directory.
 * And should two nodes ever own one name (both created it while apart),
 * each request still reaches only one of them.
 */
export const OWNER_QUEUE = '$WEFT_JS_OWNER';

const STREAM_MARKER = `${API_PREFIX}STREAM.*.`;

/** The API subjects a stream's owner subscribes to. The first is the directory marker. */
export function streamApiSubjects(name: string): string[] {
  return [
    `${STREAM_MARKER}${name}`,
    `${API_PREFIX}STREAM.MSG.*.${name}`,
    `${API_PREFIX}DIRECT.GET.${name}`,
    `${API_PREFIX}DIRECT.GET.${name}.>`,
    `${API_PREFIX}CONSUMER.*.${name}`,
    `${API_PREFIX}CONSUMER.*.${name}.>`,
    `${API_PREFIX}CONSUMER.DURABLE.CREATE.${name}.>`,
    `${API_PREFIX}CONSUMER.MSG.NEXT.${name}.>`,
  ];
}

/**
 * The stream an API subject (after `$JS.API.`) is about, or null for the
 * account-wide requests (`INFO`, `STREAM.NAMES`, `STREAM.LIST`) and
 * subjects of no known form.
 */
export function apiStreamName(api: string): string | null {
  const t = api.split('.');
  switch (t[0]) {
    case 'STREAM':
      if (t[1] === 'MSG') return t[3] ?? null;
      if (t[1] === 'NAMES' || t[1] === 'LIST') return null;
      return t[2] ?? null;
    case 'DIRECT':
      return t[1] === 'GET' ? (t[2] ?? null) : null;
    case 'CONSUMER':
      if (t[1] === 'DURABLE') return t[3] ?? null;
      if (t[1] === 'MSG') return t[3] ?? null;
      return t[2] ?? null;
    default:
      return null;
  }
}

/** The streams other nodes own, per account, learned from their advertised interest. */
export class RemoteStreams implements InterestListener {
  /** account → stream name → how many nodes claim it (more than one only by a split-brain create). */
  private readonly byAccount = new Map<string, Map<string, number>>();
  private readonly watchers = new Set<(account: string, name: string) => void>();

  private nameOf(sub: Subscription): string | null {
    if (sub.queue !== OWNER_QUEUE || sub.owner.kind !== 'link') return null;
    if (!sub.subject.startsWith(STREAM_MARKER)) return null;
    const name = sub.subject.slice(STREAM_MARKER.length);
    return name === '' || name.includes('.') ? null : name;
  }

  interestAdded(account: Account, sub: Subscription): void {
    const name = this.nameOf(sub);
    if (name === null) return;
    let m = this.byAccount.get(account.name);
    if (m === undefined) {
      m = new Map();
      this.byAccount.set(account.name, m);
    }
    m.set(name, (m.get(name) ?? 0) + 1);
    for (const w of this.watchers) w(account.name, name);
  }

  interestRemoved(account: Account, sub: Subscription): void {
    const name = this.nameOf(sub);
    if (name === null) return;
    const m = this.byAccount.get(account.name);
    const n = m?.get(name);
    if (m === undefined || n === undefined) return;
    if (n <= 1) m.delete(name);
    else m.set(name, n - 1);
  }

  has(account: string, name: string): boolean {
    return this.byAccount.get(account)?.has(name) === true;
  }

  names(account: string): string[] {
    return [...(this.byAccount.get(account)?.keys() ?? [])];
  }

  /** Calls `fn` whenever another node's stream becomes reachable. Returns an unwatch. */
  watch(fn: (account: string, name: string) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }
}
