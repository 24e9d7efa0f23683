/**
 * Dials one configured peer and redials it when the link drops: exponential
 * backoff from RECONNECT_MIN_MS up to the configured cap, with jitter so
 * nodes cut off together do not all dial at once.
 */
import type { Socket } from 'node:net';
import { ConfigError } from '../errors.js';
import type { MeshTransport } from './transport.js';

export const RECONNECT_MIN_MS = 50;

export interface LinkUrl {
  readonly text: string;
  readonly host: string;
  readonly port: number;
  readonly cost: number;
}

/** Parses `weft://host:port[?cost=N]`; throws ConfigError naming `key`. */
export function parseLinkUrl(text: string, key = 'mesh.links'): LinkUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(key, `"${text}" is not a URL like weft://host:7422`);
  }
  if (url.protocol !== 'weft:') {
    throw new ConfigError(key, `"${text}": the scheme must be weft:// (got ${url.protocol}//)`);
  }
  if (url.hostname === '') throw new ConfigError(key, `"${text}" has no host`);
  const port = url.port === '' ? 7422 : Number(url.port);
  if (port === 0) throw new ConfigError(key, `"${text}": port 0 cannot be dialled`);
  let cost = 1;
  const c = url.searchParams.get('cost');
  if (c !== null) {
    cost = /^\d+$/.test(c) ? Number(c) : Number.NaN;
    if (!Number.isInteger(cost) || cost < 1 || cost > 1_000_000) {
      throw new ConfigError(key, `"${text}": cost must be a whole number from 1 to 1000000`);
    }
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { text, host, port, cost };
}

export type DialerState = 'dialing' | 'connected' | 'backoff' | 'stopped';

export interface DialerHost {
  /** A connection is open: the mesh makes a link of it. */
  dialed(dialer: Dialer, socket: Socket): void;
  /** Is a link to `peer` up already (then this dialer stands by)? */
  hasLinkTo(peer: string): boolean;
  /** The dial reached the peer but TLS refused it (its certificate): counted and logged. */
  dialRefused(dialer: Dialer, detail: string): void;
}

export class Dialer {
  state: DialerState = 'backoff';
  attempts = 0;
  /** Links that came up after the first one. */
  reconnects = 0;
  lastError = '';
  /** The peer's name, once a link through this dialer came up. */
  peer = '';
  private everUp = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly url: LinkUrl,
    private readonly host: DialerHost,
    private readonly transport: MeshTransport,
    private readonly reconnectMaxMs: number,
    private readonly dialTimeoutMs: number,
  ) {}

  start(): void {
    this.dial();
  }

  private dial(): void {
    this.timer = null;
    if (this.state === 'stopped') return;
    if (this.peer !== '' && this.host.hasLinkTo(this.peer)) {
      // Linked the other way (the peer dialled us): stand by.
      this.schedule(this.reconnectMaxMs);
      return;
    }
    this.state = 'dialing';
    const socket = this.transport.connect(this.url.host, this.url.port);
    const timeout = setTimeout(() => {
      socket.destroy(new Error(`no answer within ${this.dialTimeoutMs}ms`));
    }, this.dialTimeoutMs);
    socket.once(this.transport.readyEvent, () => {
      clearTimeout(timeout);
      socket.removeAllListeners('error');
      if (this.state === 'stopped') {
        socket.destroy();
        return;
      }
      this.state = 'connected';
      this.host.dialed(this, socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timeout);
      this.lastError = err.message;
      const refusal = this.transport.dialRefusal(err);
      if (refusal !== null) this.host.dialRefused(this, refusal);
      socket.destroy();
      this.retry();
    });
  }

  /** The link through this dialer came up. */
  linkUp(peer: string): void {
    this.peer = peer;
    if (this.everUp) this.reconnects++;
    this.everUp = true;
    this.attempts = 0;
    this.lastError = '';
  }

  /** The link (or the attempt) ended: dial again after a backoff. */
  retry(reason = ''): void {
    if (this.state === 'stopped') return;
    if (reason !== '') this.lastError = reason;
    const base = Math.min(this.reconnectMaxMs, RECONNECT_MIN_MS * 2 ** this.attempts);
    this.attempts++;
    this.schedule(base * (0.5 + Math.random() / 2));
  }

  private schedule(ms: number): void {
    if (this.state === 'stopped') return;
    this.state = 'backoff';
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.dial(), ms);
    this.timer.unref();
  }

  stop(): void {
    this.state = 'stopped';
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
