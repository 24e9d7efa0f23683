/**
 * The mesh: links to neighbour nodes, the link-state database, remote
 * interest in the subject index, and forwarding along shortest paths with
 * destination lists (docs/mesh.md). It is a Subscriber to the core: remote
 * interest is owned by it, and the router hands it every message a remote
 * node wants, once per message (`complete`).
 */
import type { Socket } from 'node:net';
import type { Congestion } from '../connection/congestion.js';
import type { Flusher } from '../connection/connection.js';
import type { TlsFiles } from '../connection/tls.js';
import type { Account, Accounts, InterestListener } from '../core/account.js';
import type { Message, Subscriber, Subscription } from '../core/message.js';
import type { Router } from '../core/router.js';
import { CloseReason } from '../errors.js';
import type { Logger } from '../util/logger.js';
import { AccountSet, foreignFrame, peerAccountsUp } from './accounts.js';
import {
  Admission,
  type AdmissionHost,
  HANDSHAKE_TIMEOUT_MS,
  MAX_HANDSHAKES,
} from './admission.js';
import { Dialer, type LinkUrl } from './dialer.js';
import { Forwarder } from './forwarder.js';
import {
  type Dest,
  encodeControl,
  type FrameError,
  FrameType,
  MSG_TTL,
  type MsgFrame,
} from './frames.js';
import { type Authenticator, type LinkIdentity, tokenAuthenticator } from './handshake.js';
import { LocalInterest } from './interest.js';
import { InterestBatch } from './interest-batch.js';
import { Link, type LinkHost } from './link.js';
import { LocalMatch } from './local-match.js';
import { type InterestUpdate, LinkStateDb, type Lsa } from './lsdb.js';
import { tlsNameCheck } from './peer-cert.js';
import { RemoteInterest, type RemoteSub } from './remote.js';
import { type MeshListener, type MeshTransport, tcpTransport, tlsTransport } from './transport.js';
import { validInterestUpdate, validLsa, wireSafe } from './validate.js';

export interface MeshOptions {
  name: string;
  id: string;
  boot: number;
  host: string;
  /** Port for links; -1 listens for none (an edge that only dials). */
  port: number;
  links: readonly LinkUrl[];
  token: string;
  /** How links prove themselves; default: HMAC over the token (`tokenAuthenticator`). */
  authenticator?: Authenticator;
  /** Mutual TLS on links (`mesh.tls`); null or absent: plain TCP. */
  tls?: TlsFiles | null;
  /**
   * The accounts this node serves and forwards (src/mesh/accounts.ts);
   * null or absent: every account.
   */
  accounts?: readonly string[] | null;
  /** Time a new link has to complete the handshake, ms (HANDSHAKE_TIMEOUT_MS). */
  handshakeTimeoutMs?: number;
  /** Inbound links in their handshake at once; more are closed at once (MAX_HANDSHAKES). */
  maxHandshakes?: number;
  heartbeatMs: number;
  deadAfterMs: number;
  reconnectMaxMs: number;
  maxPending: number;
}

export interface MeshCore {
  readonly congestion: Congestion;
  readonly accounts: Accounts;
  readonly router: Router;
  readonly flusher: Flusher;
  readonly log: Logger;
}

/** How long an unreachable node is remembered before it is forgotten. */
export const FORGET_AFTER_MS = 60_000;

export type { RefusalReason } from './admission.js';
export { DELTA_BYTES, DELTA_ENTRIES } from './interest-batch.js';

export class Mesh implements Subscriber, InterestListener, LinkHost, AdmissionHost {
  readonly id = 0;
  readonly kind = 'link' as const;
  readonly echo = false;
  readonly lsdb: LinkStateDb;
  readonly links = new Map<string, Link>();
  readonly dialers: Dialer[] = [];
  readonly admission: Admission;

  /** Refusals by reason (/meshz `refused`). */
  get refused(): Admission['refused'] {
    return this.admission.refused;
  }
  /** Messages dropped because a link's format could not carry them, by reason. */
  readonly unencodable: Record<string, number> = {};
  /** Frames from peers naming an account this node does not serve: dropped (/meshz `foreign_account`). */
  readonly foreignAccount = { msgs: 0, interest: 0 };
  /** The accounts this node serves. */
  readonly served: AccountSet;
  /** Data messages that had no route (`ttlExpired`: ran out of hops). */
  get noRoute(): number {
    return this.forwarder.noRoute;
  }
  ttlExpired = 0;
  port = -1;
  private readonly remote: RemoteInterest;
  private readonly local = new LocalInterest();
  /** This node's interest changes, one delta per turn (flooded by `broadcastInterest`). */
  private readonly interestOut = new InterestBatch(
    (add, del) => this.broadcastInterest(this.lsdb.localDelta(add, del), null),
    () => this.stopped,
  );
  private nextLinkId = 1;
  private listener: MeshListener | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  // Destinations of the message being collected.
  private curMsg: Message | null = null;
  private curAccount = '';
  private curDests: Dest[] = [];
  /** Entries of `curDests` that belong to `curMsg` (the array is reused, not truncated). */
  private curCount = 0;
  /** Next links and the copies per neighbour (the last route kept). */
  private readonly forwarder: Forwarder;
  private readonly localMatch: LocalMatch;

  readonly transport: MeshTransport;

  constructor(
    private readonly core: MeshCore,
    readonly options: MeshOptions,
    transport?: MeshTransport,
  ) {
    const tls = options.tls ?? null;
    this.transport = transport ?? (tls === null ? tcpTransport : tlsTransport(tls));
    const accounts = options.accounts ?? null;
    this.served = new AccountSet(accounts);
    this.lsdb = new LinkStateDb(options.name, options.id, options.boot);
    this.forwarder = new Forwarder(this.lsdb, this.links);
    this.localMatch = new LocalMatch(core.accounts);
    const auth = options.authenticator ?? tokenAuthenticator(options.token);
    this.admission = new Admission(
      this,
      { name: options.name, id: options.id, boot: options.boot, accounts },
      tls === null ? auth : tlsNameCheck(auth),
      {
        handshakeTimeoutMs: options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
        maxHandshakes: options.maxHandshakes ?? MAX_HANDSHAKES,
      },
    );
    this.remote = new RemoteInterest(core.accounts, this);
    this.lsdb.onReset = (s, removed) => this.remote.apply(s, [], removed);
    this.lsdb.setLocalLinks([]);
  }

  get flusher(): Flusher {
    return this.core.flusher;
  }

  get congestion(): Congestion {
    return this.core.congestion;
  }

  get log(): Logger {
    return this.core.log;
  }

  async start(): Promise<void> {
    const o = this.options;
    this.core.accounts.addListener(this);
    // Interest that was there before the mesh (JetStream's, restored at
    // start) is advertised like any that comes later.
    for (const account of this.core.accounts.all()) {
      for (const sub of account.sublist.all()) this.interestAdded(account, sub);
    }
    if (o.port >= 0) {
      this.listener = await this.transport.listen(o.host, o.port, {
        onSocket: (socket) => this.accept(socket),
        onRefused: (where, detail) => this.admission.count(where, 'tls', detail),
        canAccept: (pending) => this.admission.canAccept(pending),
      });
      this.port = this.listener.port;
      this.log.info(`Listening for mesh links on ${o.host}:${this.port} (${this.transport.name})`);
    }
    for (const url of o.links) {
      const d = new Dialer(
        url,
        this,
        this.transport,
        o.reconnectMaxMs,
        Math.max(1000, o.deadAfterMs),
      );
      this.dialers.push(d);
      d.start();
    }
    this.timer = setInterval(() => this.tick(), o.heartbeatMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    for (const d of this.dialers) d.stop();
    for (const l of [...this.links.values(), ...this.admission.links()])
      l.close(CloseReason.ServerShutdown);
    if (this.listener !== null) await this.listener.close();
  }

  // --- links ---------------------------------------------------------------

  /** New links use the certificate files as they are now; links up keep theirs (SIGHUP). */
  reloadTls(): void {
    this.transport.reload();
    this.log.info(`mesh: TLS certificates reloaded (${this.transport.name})`);
  }

  dialRefused(dialer: Dialer, detail: string): void {
    this.admission.count(dialer.url.text, 'tls', detail);
  }

  private accept(socket: Socket): void {
    if (this.stopped || !this.admission.canAccept(this.transport.pending)) {
      socket.destroy();
      return;
    }
    this.openLink(socket, 'in', 1, '');
  }

  dialed(dialer: Dialer, socket: Socket): void {
    const link = this.openLink(socket, 'out', dialer.url.cost, dialer.url.text);
    this.linkDialers.set(link, dialer);
  }

  private readonly linkDialers = new Map<Link, Dialer>();

  hasLinkTo(peer: string): boolean {
    return this.links.has(peer);
  }

  private openLink(socket: Socket, direction: 'in' | 'out', cost: number, url: string): Link {
    const o = this.options;
    const link = new Link(
      this.nextLinkId++,
      socket,
      this,
      direction,
      cost,
      { maxPending: o.maxPending },
      url,
    );
    this.admission.begin(link, socket);
    return link;
  }

  /** Admitted: the link is up; both ends send their whole state. */
  linkUp(link: Link, peer: LinkIdentity): void {
    this.forwarder.forget();
    link.authenticated();
    link.peer = peer.name;
    link.peerId = peer.id;
    link.upSince = Date.now();
    peerAccountsUp(link, this.served.list, peer.accounts, this.log);
    this.links.set(peer.name, link);
    this.linkDialers.get(link)?.linkUp(peer.name);
    this.log.info(`mesh link to "${peer.name}" up (${link.direction}, cost ${link.cost})`);
    this.sendState(link);
    this.linksChanged();
  }

  linkControl(link: Link, type: number, body: unknown): void {
    if (link.state !== 'up') {
      this.admission.frame(link, type, body);
      return;
    }
    switch (type) {
      case FrameType.Lsa:
        if (!validLsa(body)) {
          this.protocolError(link, 'malformed LSA');
          return;
        }
        this.onLsa(link, body);
        return;
      case FrameType.Interest:
        if (!validInterestUpdate(body)) {
          this.protocolError(link, 'malformed INTEREST');
          return;
        }
        this.onInterest(link, body);
        return;
      case FrameType.Sync:
        this.sendState(link);
        return;
      case FrameType.Err:
        this.log.warn(`mesh link to "${link.peer}" closed by peer: ${String(body)}`);
        link.close(CloseReason.LinkRefused);
        return;
      case FrameType.Hello:
      case FrameType.Auth:
        this.protocolError(link, `frame type ${type} after the handshake`);
        return;
      default:
        this.protocolError(link, `unexpected frame type ${type}`);
        return;
    }
  }

  linkError(link: Link, err: FrameError): void {
    if (link.state === 'up') this.protocolError(link, err.message);
    else this.admission.refuse(link, 'protocol', err.message);
  }

  linkUnencodable(link: Link, reason: string, detail: string): void {
    const n = (this.unencodable[reason] ?? 0) + 1;
    this.unencodable[reason] = n;
    // Once per reason: one client must not flood the log.
    if (n === 1) {
      this.log.warn(
        `mesh: a message to "${link.peer}" was dropped (${reason}): ${detail}; further drops for this reason are only counted (/meshz unencodable)`,
      );
    }
  }

  private protocolError(link: Link, detail: string): void {
    this.admission.refused.protocol++;
    this.log.warn(`mesh link to "${link.peer || link.remoteAddress}": ${detail}`);
    link.sendControl(encodeControl(FrameType.Err, detail));
    link.close(CloseReason.LinkProtocol);
  }

  linkClosed(link: Link): void {
    this.forwarder.forget();
    this.admission.end(link);
    const dialer = this.linkDialers.get(link);
    this.linkDialers.delete(link);
    const wasUp = this.links.get(link.peer) === link;
    if (wasUp) {
      this.links.delete(link.peer);
      this.log.info(`mesh link to "${link.peer}" down: ${link.closeReason}`);
      if (!this.stopped) this.linksChanged();
    }
    dialer?.retry(wasUp ? `link down: ${link.closeReason}` : (link.closeReason ?? ''));
  }

  /** Our links changed: a new LSA for everyone, new routes. */
  private linksChanged(): void {
    const links = [...this.links.values()].map((l) => ({ node: l.peer, cost: l.cost }));
    const lsa = this.lsdb.setLocalLinks(links);
    this.broadcast(encodeControl(FrameType.Lsa, lsa), null);
    this.routesChanged();
  }

  /** Everything this node knows, to a neighbour that just linked (or asked). */
  private sendState(link: Link): void {
    for (const s of this.lsdb.nodes.values()) {
      if (s.lsaSeq > 0) link.sendControl(encodeControl(FrameType.Lsa, this.lsdb.lsaOf(s)));
      if (s.interestKnown) {
        for (const u of this.lsdb.snapshotOf(s))
          link.sendControl(encodeControl(FrameType.Interest, link.peerAccounts.filter(u)));
      }
    }
  }

  private broadcast(frame: Buffer, except: Link | null): void {
    for (const l of this.links.values()) if (l !== except) l.sendControl(frame);
  }

  /** Floods an interest update: to each link only the accounts its peer serves. */
  private broadcastInterest(u: InterestUpdate, except: Link | null): void {
    let all: Buffer | null = null;
    for (const l of this.links.values()) {
      if (l === except) continue;
      const f = l.peerAccounts.filter(u);
      if (f !== u) l.sendControl(encodeControl(FrameType.Interest, f));
      else {
        all ??= encodeControl(FrameType.Interest, u);
        l.sendControl(all);
      }
    }
  }

  private onLsa(from: Link, lsa: Lsa): void {
    const r = this.lsdb.applyLsa(lsa);
    if (r === 'conflict') {
      this.log.warn(
        `mesh: node "${lsa.node}" (${lsa.id}) elsewhere in the mesh uses this node's name`,
      );
      return;
    }
    if (r !== 'new') return;
    this.broadcast(encodeControl(FrameType.Lsa, lsa), from);
    this.routesChanged();
  }

  private onInterest(from: Link, got: InterestUpdate): void {
    // Entries of accounts this node does not serve go no further (a
    // conforming peer never sends them).
    const u = this.served.filter(got);
    if (u !== got) foreignFrame(this, from, 'interest', got, u);
    const diff = this.lsdb.applyInterest(u);
    const state = this.lsdb.nodes.get(u.node);
    // A new incarnation's dropped interest goes even when its update did not apply.
    if (diff.result !== 'new' && diff.removed.length > 0 && state !== undefined) {
      this.remote.apply(state, [], diff.removed);
    }
    if (diff.result === 'gap') {
      this.log.warn(
        `mesh: interest of "${u.node}" skipped a sequence; asking "${from.peer}" to resync`,
      );
      from.sendControl(SYNC_FRAME);
      return;
    }
    if (diff.result === 'conflict') {
      this.log.warn(`mesh: interest from another node named "${u.node}" ignored`);
      return;
    }
    if (diff.result !== 'new') return;
    this.broadcastInterest(u, from);
    if (state !== undefined) this.remote.apply(state, diff.added, diff.removed);
  }

  /** Routes changed: remote interest enters or leaves the sublist, distances move. */
  private routesChanged(): void {
    this.forwarder.forget();
    const now = Date.now();
    for (const s of this.lsdb.computeRoutes(now)) this.remote.sync(s);
    for (const s of this.lsdb.forget(now, FORGET_AFTER_MS)) this.remote.drop(s.name);
  }

  /** Links in their handshake now. */
  get handshakeCount(): number {
    return this.admission.size;
  }

  get remoteInterestCount(): number {
    return this.remote.count;
  }

  // --- local interest --------------------------------------------------------

  interestAdded(account: Account, sub: Subscription): void {
    // Interest in an account this node does not serve (made through the
    // embedding API) stays here, like its messages; an import's interest is
    // served where messages are published (core/imports.ts).
    if (sub.owner === this || sub.owner.localOnly === true || !this.served.has(account.name)) {
      return;
    }
    this.interestOut.queue(this.local.add(account.name, sub.subject, sub.queue));
  }

  interestRemoved(account: Account, sub: Subscription): void {
    if (sub.owner === this || sub.owner.localOnly === true || !this.served.has(account.name)) {
      return;
    }
    this.interestOut.queue(this.local.remove(account.name, sub.subject, sub.queue));
  }

  get localInterestCount(): number {
    return this.local.advertisedCount;
  }

  // --- data ----------------------------------------------------------------

  /** Collects one remote destination of the message being routed. */
  deliver(sub: Subscription, msg: Message): void {
    const rs = sub as RemoteSub;
    if (this.curMsg !== msg) {
      this.curMsg = msg;
      this.curAccount = rs.account;
      this.curCount = 0;
    }
    const rn = this.remote.node(rs.node);
    if (rn === undefined) return;
    const d = rn.dest;
    if (rn.destMsg !== msg) {
      rn.destMsg = msg;
      d.plain = false;
      if (d.queues.length > 0) d.queues = [];
      this.curDests[this.curCount++] = d;
    }
    if (sub.queue === '') d.plain = true;
    else if (!d.queues.includes(sub.queue)) d.queues.push(sub.queue);
  }

  /**
   * Sends the collected message towards its destinations. The destination
   * objects are reused per message: `forward` encodes them synchronously.
   */
  complete(msg: Message): void {
    if (this.curMsg !== msg) return;
    this.curMsg = null;
    // Interest this node has not announced yet goes first: a request must
    // not overtake the requester's new inbox subscription (links are FIFO,
    // and every hop handles frames in order).
    if (this.interestOut.size > 0) this.interestOut.flush();
    this.forwarder.forward(this.curAccount, msg, this.curDests, this.curCount, MSG_TTL);
  }

  /** A message from a neighbour: deliver here if listed, forward the rest. */
  linkMsg(link: Link, frame: MsgFrame): void {
    // An account this node does not serve is neither delivered nor relayed.
    if (!this.served.has(frame.account)) {
      foreignFrame(this, link, 'msgs', frame.account, null);
      return;
    }
    // Decoded strings repeat as the same string: check each new one once (per link).
    if (frame.subject !== link.safeSubject || frame.reply !== link.safeReply || frame.to !== '') {
      if (!this.checkSubjects(link, frame)) return;
    }
    const self = this.options.name;
    const dests = frame.dests;
    // A Message of its own only when one is delivered here or split here:
    // a frame passed on whole is relayed as bytes.
    let msg: Message | null = null;
    let here = 0;
    for (let i = 0; i < dests.length; i++) {
      const d = dests[i];
      if (d.node !== self) continue;
      here++;
      msg ??= frame.message();
      this.core.router.deliverAssigned(
        this.localMatch.match(frame.account, frame.to === '' ? frame.subject : frame.to),
        msg,
        d.plain,
        d.queues,
      );
    }
    if (here === dests.length) return;
    if (frame.ttl <= 1) {
      this.ttlExpired++;
      return;
    }
    if (here === 0) {
      // Passing through to one next hop: relay the bytes as they came.
      const first = this.forwarder.nextLink(dests[0].node);
      if (first === null) return;
      let same = true;
      for (let i = 1; i < dests.length && same; i++)
        same = this.forwarder.nextLinkOf(dests[i].node) === first;
      if (same) {
        first.relayMsg(frame, frame.ttl - 1);
        link.relaysTo(first, frame.head);
        return;
      }
    }
    const rest = here === 0 ? dests : dests.filter((d) => d.node !== self);
    this.forwarder.forward(frame.account, msg ?? frame.message(), rest, rest.length, frame.ttl - 1);
  }

  /** Messages from peers dropped for a subject no client could be sent. */
  invalidSubjects = 0;

  private checkSubjects(link: Link, frame: MsgFrame): boolean {
    const ok =
      wireSafe(frame.subject) &&
      (frame.reply === '' || wireSafe(frame.reply)) &&
      (frame.to === '' || wireSafe(frame.to));
    if (ok) {
      link.safeSubject = frame.subject;
      link.safeReply = frame.reply;
      return true;
    }
    if (this.invalidSubjects++ === 0) {
      this.log.warn(
        `mesh: a message from "${link.peer}" has a subject no client can be sent (${JSON.stringify(frame.subject.slice(0, 64))}): dropped; further ones are only counted (/meshz invalid_subjects)`,
      );
    }
    return false;
  }

  // --- liveness --------------------------------------------------------------

  private tick(): void {
    const now = Date.now();
    const dead = this.options.deadAfterMs;
    // Links in their handshake answer to its deadline (Admission), not to this.
    for (const l of [...this.links.values()]) {
      l.checkCongestion();
      if (now - l.lastRecv > dead) {
        this.log.warn(
          `mesh link to "${l.peer || l.remoteAddress}" silent for ${now - l.lastRecv}ms: closing`,
        );
        l.close(CloseReason.LinkDead, true);
      } else l.ping(now);
    }
    if (this.lsdb.nodes.size > 1) {
      this.forwarder.forget();
      for (const s of this.lsdb.forget(now, FORGET_AFTER_MS)) this.remote.drop(s.name);
    }
  }
}

const SYNC_FRAME = encodeControl(FrameType.Sync);
