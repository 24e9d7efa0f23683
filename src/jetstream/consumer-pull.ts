/**
 * The waiting pull requests of one pull consumer
 * (`$JS.API.CONSUMER.MSG.NEXT`, and `+NXT` acks), as nats-server 2.9 keeps
 * them: first come, first served, each until its batch is delivered, it
 * expires (408 Request Timeout, with pending counts), it is a no-wait
 * request and nothing more is there (404 No Messages, or 408 once some was
 * delivered), its requester is gone, or the consumer is deleted (409).
 * A request may ask for idle heartbeats (100 Idle Heartbeat) while it waits.
 *
 * The consumer's delivery loop asks `next()` where the next message goes and
 * reports each delivery with `delivered()`.
 */
import type { Account } from '../core/account.js';
import type { Message, Subscriber } from '../core/message.js';
import type { Router } from '../core/router.js';
import { NS_PER_MS } from './consumer-config.js';
import { statusBlock } from './consumer-wire.js';

export interface PullHost {
  readonly account: Account;
  readonly router: Router;
  /** Statuses are sent as this party (the consumer). */
  readonly origin: Subscriber;
  /** The last consumer sequence delivered, and the stream sequence the consumer is past. */
  lastSeqs(): { consumer: number; stream: number };
  /** The consumer's `max_waiting`: the bound on waiting requests. */
  maxWaiting(): number;
}

export interface PullRequest {
  reply: string;
  remaining: number;
  delivered: number;
  noWait: boolean;
  timer: NodeJS.Timeout | null;
  hb: NodeJS.Timeout | null;
}

/** What a `MSG.NEXT` body asks for (times in ns, 0: none). */
interface PullAsk {
  batch: number;
  expiresNs: number;
  noWait: boolean;
  hbNs: number;
}

/**
 * Reads a `MSG.NEXT` body: `{batch, expires, no_wait, idle_heartbeat}`, a
 * bare batch, or nothing (one message). Null when it is not JSON.
 */
function parsePullAsk(payload: Buffer): PullAsk | null {
  const ask: PullAsk = { batch: 1, expiresNs: 0, noWait: false, hbNs: 0 };
  const text = payload.toString('utf8').trim();
  if (text !== '') {
    try {
      const v = JSON.parse(text) as unknown;
      if (typeof v === 'number') ask.batch = v;
      else if (v !== null && typeof v === 'object') {
        const b = v as Record<string, unknown>;
        if (typeof b.batch === 'number') ask.batch = b.batch;
        if (typeof b.expires === 'number') ask.expiresNs = b.expires;
        if (b.no_wait === true) ask.noWait = true;
        if (typeof b.idle_heartbeat === 'number') ask.hbNs = b.idle_heartbeat;
      }
    } catch {
      return null;
    }
  }
  if (!Number.isInteger(ask.batch) || ask.batch <= 0) ask.batch = 1;
  return ask;
}

/** Whether anyone subscribes to `subject` now. */
export function hasInterest(account: Account, subject: string): boolean {
  const r = account.sublist.match(subject);
  return r.plain.length > 0 || r.queues.length > 0;
}

export class PullRequests {
  /**
   * Oldest first. Each leaves when served, expired, or its requester is
   * gone. At most the config's `max_waiting`: a request past it is refused
   * with 409 Exceeded MaxWaiting (silently when it asked for heartbeats, as
   * nats-server does, so a client does not spin), counted in `refused`.
   */
  private waiting: PullRequest[] = [];
  refused = 0;

  constructor(private readonly host: PullHost) {}

  /** For consumer info's `num_waiting`. */
  get size(): number {
    return this.waiting.length;
  }

  /**
   * Adds a request from `MSG.NEXT` (answered at `reply`). False when its body
   * is not JSON (answered with 400 Bad Request) or max_waiting are waiting.
   */
  add(reply: string, payload: Buffer): boolean {
    const ask = parsePullAsk(payload);
    if (ask === null) {
      this.status(reply, '400 Bad Request');
      return false;
    }
    const max = this.host.maxWaiting();
    if (max > 0 && this.waiting.length >= max) {
      this.refused++;
      if (ask.hbNs <= 0) this.status(reply, '409 Exceeded MaxWaiting');
      return false;
    }
    const req: PullRequest = {
      reply,
      remaining: ask.batch,
      delivered: 0,
      // With an expiry, a no-wait request waits like any other (nats-server 2.9).
      noWait: ask.noWait && ask.expiresNs <= 0,
      timer: null,
      hb: null,
    };
    if (ask.expiresNs > 0) {
      req.timer = setTimeout(() => {
        this.end(req, '408 Request Timeout');
      }, ask.expiresNs / NS_PER_MS);
      req.timer.unref();
    }
    if (ask.hbNs > 0) {
      req.hb = setInterval(() => {
        const last = this.host.lastSeqs();
        this.status(req.reply, '100 Idle Heartbeat', {
          'Nats-Last-Consumer': last.consumer,
          'Nats-Last-Stream': last.stream,
        });
      }, ask.hbNs / NS_PER_MS);
      req.hb.unref();
    }
    this.waiting.push(req);
    return true;
  }

  /** The oldest request whose requester still listens; those gone are dropped. */
  next(): PullRequest | null {
    while (this.waiting.length > 0) {
      const req = this.waiting[0]!;
      if (hasInterest(this.host.account, req.reply)) return req;
      // The requester is gone.
      this.waiting.shift();
      this.clear(req);
    }
    return null;
  }

  /** A message went to `req`: it leaves once its batch is complete. */
  delivered(req: PullRequest): void {
    req.remaining--;
    req.delivered++;
    if (req.remaining <= 0) {
      const i = this.waiting.indexOf(req);
      if (i >= 0) this.waiting.splice(i, 1);
      this.clear(req);
    }
  }

  /** No-wait requests end once what is there has been delivered. */
  endNoWait(): void {
    // Called after every delivery round (one per ack): no copy unless one is there.
    if (!this.waiting.some((r) => r.noWait)) return;
    for (const req of [...this.waiting]) {
      if (req.noWait) {
        this.end(req, req.delivered === 0 ? '404 No Messages' : '408 Request Timeout');
      }
    }
  }

  /** Drops every request; with `deleted`, tells each requester (409 Consumer Deleted). */
  close(deleted: boolean): void {
    for (const r of this.waiting) {
      if (deleted) this.status(r.reply, '409 Consumer Deleted');
      this.clear(r);
    }
    this.waiting = [];
  }

  /** Sends a status message (`NATS/1.0 <status>`, no payload) to `to`. */
  status(to: string, status: string, headers: Record<string, string | number> = {}): void {
    const msg: Message = {
      subject: to,
      reply: '',
      headers: statusBlock(status, headers),
      payload: Buffer.alloc(0),
    };
    this.host.router.deliver(this.host.account.sublist.match(to), msg, this.host.origin);
  }

  private end(req: PullRequest, status: string): void {
    const i = this.waiting.indexOf(req);
    if (i < 0) return;
    this.waiting.splice(i, 1);
    this.clear(req);
    if (status.startsWith('404')) this.status(req.reply, status);
    else {
      this.status(req.reply, status, {
        'Nats-Pending-Messages': req.remaining,
        'Nats-Pending-Bytes': 0,
      });
    }
  }

  private clear(req: PullRequest): void {
    if (req.timer !== null) clearTimeout(req.timer);
    if (req.hb !== null) clearInterval(req.hb);
    req.timer = null;
    req.hb = null;
  }
}
