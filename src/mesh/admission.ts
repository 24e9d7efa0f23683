/**
 * Admission: links from their first byte until they are up. Every link
 * starts as a stranger: it gets the handshake and nothing else, within a
 * deadline, and only a bounded number of inbound strangers exist at once.
 * A proven peer is then checked against the links this node has (itself,
 * a name taken, a second link to one node) before the mesh brings it up.
 * Each refusal is logged and counted by reason (/meshz `refused`).
 */
import type { Socket } from 'node:net';
import { CloseReason } from '../errors.js';
import type { Logger } from '../util/logger.js';
import { FrameType } from './frames.js';
import {
  type Authenticator,
  Handshake,
  type HandshakeRefusal,
  type LinkIdentity,
} from './handshake.js';
import type { Link } from './link.js';

/** Default time a new link has to complete the handshake. */
export const HANDSHAKE_TIMEOUT_MS = 2000;
/** Default bound on inbound links still in their handshake (strangers until proven). */
export const MAX_HANDSHAKES = 64;
/**
 * Refusals are logged at warn at most once per reason in this window (the
 * rest at debug, all counted): strangers must not flood the log.
 */
export const REFUSAL_LOG_WINDOW_MS = 10_000;

export type RefusalReason =
  | HandshakeRefusal
  | 'self'
  | 'name'
  | 'duplicate'
  | 'unauthenticated'
  | 'handshake_timeout'
  | 'handshake_limit'
  /** TLS refused the connection: no certificate, not of the mesh CA, expired, a failed or stalled TLS handshake. */
  | 'tls';

export interface AdmissionHost {
  readonly log: Logger;
  /** The links that are up, by peer name. */
  readonly links: ReadonlyMap<string, Link>;
  /** A proven, admitted peer: bring the link up. */
  linkUp(link: Link, peer: LinkIdentity): void;
}

export interface AdmissionOptions {
  handshakeTimeoutMs: number;
  maxHandshakes: number;
}

export class Admission {
  readonly refused: Record<RefusalReason, number> = {
    token: 0,
    version: 0,
    self: 0,
    name: 0,
    duplicate: 0,
    protocol: 0,
    unauthenticated: 0,
    handshake_timeout: 0,
    handshake_limit: 0,
    tls: 0,
    certificate: 0,
  };
  /** Links in their handshake, with its state and deadline. */
  private readonly pending = new Map<Link, { hs: Handshake; timer: NodeJS.Timeout }>();
  private inbound = 0;
  private readonly lastWarn = new Map<RefusalReason, number>();

  constructor(
    private readonly host: AdmissionHost,
    private readonly self: LinkIdentity,
    private readonly auth: Authenticator,
    private readonly options: AdmissionOptions,
  ) {}

  /** Links in their handshake now. */
  get size(): number {
    return this.pending.size;
  }

  links(): Iterable<Link> {
    return this.pending.keys();
  }

  /**
   * May one more stranger connect? `tlsPending` strangers are still in their
   * TLS handshake (they count towards the same bound). Counts (and now and
   * then logs) the refusals.
   */
  canAccept(tlsPending = 0): boolean {
    const max = this.options.maxHandshakes;
    if (this.inbound + tlsPending < max) return true;
    const n = ++this.refused.handshake_limit;
    if (n === 1 || n % 1000 === 0) {
      this.host.log.warn(
        `mesh: ${max} links already in their handshake; closing new ones (${n} so far)`,
      );
    }
    return false;
  }

  /** A new link: HELLO goes out, the deadline starts. */
  begin(link: Link, socket: Socket): void {
    const hs = new Handshake(
      link.direction,
      this.auth,
      this.self,
      link.cost,
      (f) => link.sendControl(f),
      socket,
    );
    const ms = this.options.handshakeTimeoutMs;
    const timer = setTimeout(() => {
      if (link.state === 'handshake') {
        this.refuse(link, 'handshake_timeout', `no handshake within ${ms}ms`);
      }
    }, ms);
    timer.unref();
    this.pending.set(link, { hs, timer });
    if (link.direction === 'in') this.inbound++;
    hs.start();
  }

  /** The link leaves its handshake (up or closed). */
  end(link: Link): void {
    const p = this.pending.get(link);
    if (p === undefined) return;
    clearTimeout(p.timer);
    this.pending.delete(link);
    if (link.direction === 'in') this.inbound--;
  }

  refuse(link: Link, reason: RefusalReason, detail: string): void {
    this.count(`${link.remoteAddress}:${link.remotePort}`, reason, detail);
    link.refuse(detail);
  }

  /** Counts and logs a refusal (also one before any link: TLS, by the transport or a dialer). */
  count(where: string, reason: RefusalReason, detail: string): void {
    const n = ++this.refused[reason];
    const now = Date.now();
    const last = this.lastWarn.get(reason);
    if (reason === 'duplicate') this.host.log.debug(`mesh link ${where}: ${detail}`);
    else if (last === undefined || now - last >= REFUSAL_LOG_WINDOW_MS) {
      this.lastWarn.set(reason, now);
      this.host.log.warn(`mesh link ${where} refused (${reason}, ${n} so far): ${detail}`);
    } else this.host.log.debug(`mesh link ${where} refused (${reason}): ${detail}`);
  }

  /**
   * Any frame from a link not yet up. Prove, then trust: only the
   * handshake is obeyed; anything else closes the link.
   */
  frame(link: Link, type: number, body: unknown): void {
    if (type === FrameType.Hello || type === FrameType.Auth) {
      const hs = this.pending.get(link)?.hs;
      if (hs === undefined) return;
      const r = hs.onFrame(type, body as Record<string, unknown>);
      if (r.kind === 'refuse') this.refuse(link, r.reason, r.detail);
      else if (r.kind === 'proven' && this.admit(link, r.peer, r.cost)) {
        hs.finish();
        this.end(link);
        this.host.linkUp(link, r.peer);
      }
    } else if (type === FrameType.Err) {
      this.host.log.warn(
        `mesh link ${link.url || link.remoteAddress} refused by peer: ${String(body).slice(0, 200)}`,
      );
      link.close(CloseReason.LinkRefused);
    } else {
      this.refuse(link, 'unauthenticated', `frame type ${type} before the handshake completed`);
    }
  }

  /** A proven peer: is it someone this node can link to now? */
  private admit(link: Link, peer: LinkIdentity, cost: number | null): boolean {
    const self = this.self.name;
    const { name, id } = peer;
    if (name === self) {
      if (id === this.self.id) this.refuse(link, 'self', 'a link to itself');
      else this.refuse(link, 'name', `another node is also named "${name}"`);
      return false;
    }
    const existing = this.host.links.get(name);
    if (existing !== undefined) {
      if (existing.peerId !== id) {
        this.refuse(link, 'name', `a node named "${name}" is already linked with another id`);
        return false;
      }
      // Two links to one peer: both ends keep the one dialled by the
      // smaller name, so they agree without talking.
      const dialer = (l: Link): string => (l.direction === 'out' ? self : name);
      const keepNew = dialer(link) < dialer(existing);
      const loser = keepNew ? existing : link;
      this.refuse(loser, 'duplicate', `already linked to "${name}"`);
      if (!keepNew) return false;
    }
    if (link.direction === 'in' && cost !== null) link.cost = cost;
    return true;
  }
}
