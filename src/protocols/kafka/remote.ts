/**
 * Partitions whose stream another node of the mesh owns, reached the way a
 * NATS client reaches them, through the router (docs/kafka.md, "Across the
 * mesh"):
 *
 * - the stream's state and config: `$JS.API.STREAM.INFO.<stream>`;
 * - reading: `$JS.API.DIRECT.GET.<stream>` with `{seq, next_by_subj: ">"}`,
 *   one message per round trip (streams made by Kafka allow direct gets;
 *   another face's stream must have `allow_direct` to be read from afar);
 * - producing: a publish on the partition's subject with a reply inbox, the
 *   owner's PubAck giving the sequence; an idempotent producer's records
 *   carry `Nats-Msg-Id: kafka:<pid>:<epoch>:<seq>` so the owner's duplicate
 *   window drops a retry.
 *
 * Answers come to one inbox subscription per account; at most
 * REMOTE_WAITERS_MAX requests wait at once (past it: refused, counted), each
 * at most REMOTE_TIMEOUT_MS.
 */
import { randomBytes } from 'node:crypto';
import type { Account } from '../../core/account.js';
import { headerPairs, headerStatus } from '../../core/headers.js';
import {
  internalSubscription,
  type Message,
  type Subscriber,
  type Subscription,
} from '../../core/message.js';
import type { Router } from '../../core/router.js';
import type { StoredMessage } from '../../streams/store.js';

export const REMOTE_WAITERS_MAX = 10_000;
export const REMOTE_TIMEOUT_MS = 5_000;

export interface RemoteInfo {
  subjects: string[];
  description: string;
  firstSeq: number;
  lastSeq: number;
  maxMsgSize: number;
}

export class RemoteError extends Error {}

const DIRECT_HEADERS = new Set(['nats-stream', 'nats-subject', 'nats-sequence', 'nats-time-stamp']);

export class RemoteStreams implements Subscriber {
  static nextId = 1_960_000_000;
  readonly id = RemoteStreams.nextId++;
  readonly kind = 'internal' as const;
  readonly echo = false;
  private readonly inboxes = new Map<Account, { prefix: string; sub: Subscription }>();
  private readonly waiters = new Map<string, (m: Message) => void>();
  private next = 1;
  readonly counters = { remoteRequests: 0, remoteTimeouts: 0, remoteRefused: 0 };

  constructor(private readonly router: Router) {}

  deliver(_sub: Subscription, msg: Message): void {
    const w = this.waiters.get(msg.subject);
    if (w === undefined) return;
    this.waiters.delete(msg.subject);
    w({
      subject: msg.subject,
      reply: '',
      headers: msg.headers === null ? null : Buffer.from(msg.headers),
      payload: Buffer.from(msg.payload),
    });
  }

  /** Publishes `msg` with a reply subject and resolves with the first answer. */
  request(
    account: Account,
    subject: string,
    headers: Buffer | null,
    payload: Buffer,
  ): Promise<Message> {
    if (this.waiters.size >= REMOTE_WAITERS_MAX) {
      this.counters.remoteRefused++;
      return Promise.reject(
        new RemoteError(`more than ${REMOTE_WAITERS_MAX} requests to other nodes wait`),
      );
    }
    let inbox = this.inboxes.get(account);
    if (inbox === undefined) {
      const prefix = `_INBOX.${randomBytes(11).toString('base64url')}.`;
      const sub = internalSubscription(`${prefix}>`, this);
      account.subscribe(sub);
      inbox = { prefix, sub };
      this.inboxes.set(account, inbox);
    }
    const reply = inbox.prefix + (this.next++).toString(36);
    this.counters.remoteRequests++;
    return new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(reply);
        this.counters.remoteTimeouts++;
        reject(new RemoteError(`no answer to ${subject} within ${REMOTE_TIMEOUT_MS}ms`));
      }, REMOTE_TIMEOUT_MS);
      this.waiters.set(reply, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.router.publish(account, { subject, reply, headers, payload }, this);
    });
  }

  /** The stream's config and state, or null when no node has it. */
  async info(account: Account, stream: string): Promise<RemoteInfo | null> {
    const m = await this.request(account, `$JS.API.STREAM.INFO.${stream}`, null, Buffer.alloc(0));
    const body = JSON.parse(m.payload.toString('utf8')) as {
      error?: { code: number };
      config?: { subjects?: string[]; description?: string; max_msg_size?: number };
      state?: { first_seq: number; last_seq: number };
    };
    if (body.error !== undefined || body.config === undefined || body.state === undefined)
      return null;
    return {
      subjects: body.config.subjects ?? [],
      description: body.config.description ?? '',
      firstSeq: body.state.first_seq,
      lastSeq: body.state.last_seq,
      maxMsgSize: body.config.max_msg_size ?? -1,
    };
  }

  /** The first message at or after `seq`, or null (none, or the stream allows no direct get). */
  async get(account: Account, stream: string, seq: number): Promise<StoredMessage | null> {
    const m = await this.request(
      account,
      `$JS.API.DIRECT.GET.${stream}`,
      null,
      Buffer.from(JSON.stringify({ seq, next_by_subj: '>' })),
    );
    if (headerStatus(m.headers).status !== 0) return null;
    let subject = '';
    let at = 0;
    let time = 0;
    let kept = 'NATS/1.0\r\n';
    for (const [name, value] of headerPairs(m.headers, 'utf8')) {
      const lower = name.toLowerCase();
      if (!DIRECT_HEADERS.has(lower)) kept += `${name}: ${value}\r\n`;
      else if (lower === 'nats-subject') subject = value;
      else if (lower === 'nats-sequence') at = Number(value);
      else if (lower === 'nats-time-stamp') time = Date.parse(value);
    }
    if (!Number.isSafeInteger(at) || at < seq) return null;
    return {
      seq: at,
      subject,
      time: Number.isFinite(time) ? time : Date.now(),
      headers: kept === 'NATS/1.0\r\n' ? null : Buffer.from(`${kept}\r\n`),
      payload: m.payload,
    };
  }

  /** Publishes to a stream's subject and resolves with the sequence the owner stored it at. */
  async publish(
    account: Account,
    subject: string,
    headers: Buffer | null,
    payload: Buffer,
  ): Promise<number> {
    const m = await this.request(account, subject, headers, payload);
    if (headerStatus(m.headers).status === 503)
      throw new RemoteError('no stream captures the subject (no responders)');
    const ack = JSON.parse(m.payload.toString('utf8')) as {
      seq?: number;
      error?: { code: number; description: string };
    };
    if (ack.error !== undefined || typeof ack.seq !== 'number') {
      throw new RemoteError(ack.error?.description ?? 'the owner refused the record');
    }
    return ack.seq;
  }

  close(): void {
    for (const [account, inbox] of this.inboxes) account.unsubscribe(inbox.sub);
    this.inboxes.clear();
    this.waiters.clear();
  }
}
