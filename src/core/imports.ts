/**
 * Exports and imports between accounts, as nats-server's: the parts of one
 * account's subject space that another account sees.
 *
 * - A **stream import** (B imports A's `subject`, seen in B as `to`): a
 *   message published in A on a matching subject is published again in B on
 *   the mapped subject (subject-mapping.ts), to every interest B has: its
 *   clients, its streams, other nodes. The import is a subscription in A
 *   (a `StreamImport`, an internal subscriber) held only while B has some
 *   interest that overlaps `to`, so an unused import costs nothing.
 * - A **service import** (B imports A's service `subject`, called in B as
 *   `to`): a request published in B on `to` is published in A on the
 *   exported subject with its reply subject replaced by a fresh one of A's
 *   (`_R_.<prefix>.<token>`, as nats-server); the first response published
 *   there goes back to the requester's own reply subject in B, once, and the
 *   mapping is gone. Open mappings are bounded per import and expire.
 *
 * Where imports run: on the node where the message is published. Their
 * subscriptions are `localOnly` — the mesh neither advertises them nor
 * delivers to them — and what they publish in the other account crosses the
 * mesh as that account's message, so a message is imported once, not once
 * per node. The response subscriptions (`_R_.<prefix>.>`) are ordinary: a
 * responder on another node reaches them through the mesh.
 *
 * No loops: while a message is being published on through imports, the
 * accounts it has been in are remembered (delivery is synchronous), and an
 * import into one of them does nothing (counted as `loops`). So a chain
 * A→B→C carries a message on, and a cycle A→B→A ends at B.
 */
import { randomBytes } from 'node:crypto';
import type { Account, Accounts, InterestListener } from './account.js';
import type { Message, Subscriber, Subscription } from './message.js';
import type { Router } from './router.js';
import { patternsOverlap } from './subject.js';
import { SubjectMapping } from './subject-mapping.js';

/** One import as configured (src/auth/types.ts ImportConfig, structurally). */
export interface ImportSpec {
  readonly kind: 'stream' | 'service';
  /** The exporting account. */
  readonly account: string;
  readonly subject: string;
  /** The local subject ('' = `subject`). */
  readonly to: string;
}

export interface AccountImports {
  readonly name: string;
  readonly imports: readonly ImportSpec[];
}

/** Open service responses per import at once; past it the oldest is dropped (counted). */
export const MAX_RESPONSES = 10_000;
/** How long a service response mapping waits for its response, ms (nats-server's response threshold). */
export const RESPONSE_TTL_MS = 120_000;

export interface ImportsOptions {
  maxResponses?: number;
  responseTtlMs?: number;
  now?: () => number;
  /** A fresh random token (reply subjects); crypto-random by default. */
  token?: () => string;
}

/** What one import has done (for /accountz). */
export interface ImportCounters {
  /** Messages published on into the importing (stream) or exporting (service) account. */
  forwarded: number;
  /** Deliveries refused because the message had already been in the target account. */
  loops: number;
  /** Service: responses delivered back to requesters. */
  responses: number;
  /** Service: mappings dropped at `maxResponses` (the oldest first). */
  responsesDropped: number;
  /** Service: mappings that expired unanswered. */
  responsesExpired: number;
}

function newCounters(): ImportCounters {
  return { forwarded: 0, loops: 0, responses: 0, responsesDropped: 0, responsesExpired: 0 };
}

const defaultToken = (): string => randomBytes(9).toString('base64url');

/** `to` as a subscription pattern: explicit wildcard references (`$1`) are `*`. */
function asPattern(to: string): string[] {
  return to.split('.').map((t) => (t.startsWith('$') || t.startsWith('{{') ? '*' : t));
}

/** The base of an import's internal subscriber. */
abstract class Importer implements Subscriber {
  readonly id = 0;
  readonly kind = 'internal' as const;
  readonly echo = false;
  /** Sees only messages published on this node; the mesh ignores its interest. */
  readonly localOnly = true;
  /** Delivered to after everyone else (it publishes on). */
  readonly forwards = true;
  readonly counters = newCounters();
  protected sub: Subscription | null = null;

  constructor(
    protected readonly imports: Imports,
    readonly spec: ImportSpec,
    /** The account whose subscriber this is. */
    readonly home: Account,
    /** The account it publishes into. */
    readonly target: Account,
    readonly index: number,
  ) {}

  protected subscribe(subject: string): void {
    if (this.sub !== null) return;
    const sid = `$import.${this.spec.kind}.${this.index}`;
    this.sub = { subject, queue: '', sid, owner: this, max: 0, delivered: 0 };
    this.home.subscribe(this.sub);
  }

  unsubscribe(): void {
    if (this.sub === null) return;
    this.home.unsubscribe(this.sub);
    this.sub = null;
  }

  get installed(): boolean {
    return this.sub !== null;
  }

  abstract deliver(sub: Subscription, msg: Message): number;
}

/** A stream import: B's view of A's events, installed while B has overlapping interest. */
export class StreamImport extends Importer {
  readonly mapping: SubjectMapping;
  /** The local subjects as a pattern, for interest overlap. */
  readonly local: readonly string[];
  /** Subscriptions in the importing account that overlap `local`. */
  interest = 0;

  constructor(imports: Imports, spec: ImportSpec, from: Account, into: Account, index: number) {
    super(imports, spec, from, into, index);
    this.mapping = SubjectMapping.compile(spec.subject, spec.to);
    this.local = asPattern(this.mapping.to);
  }

  interestChanged(delta: 1 | -1): void {
    this.interest += delta;
    if (this.interest > 0) this.subscribe(this.spec.subject);
    else this.unsubscribe();
  }

  deliver(_sub: Subscription, msg: Message): number {
    // A consumer's delivery is matched (and mapped) by its `to` (nats-server's deliver subject).
    const matched = msg.to !== undefined && msg.to !== '' ? msg.to : msg.subject;
    const local = this.mapping.map(matched);
    const out: Message =
      matched === msg.subject
        ? { subject: local, reply: msg.reply, headers: msg.headers, payload: msg.payload }
        : {
            subject: msg.subject,
            reply: msg.reply,
            headers: msg.headers,
            payload: msg.payload,
            to: local,
          };
    return this.imports.forward(this, local, out);
  }
}

/** A service import: requests in B on the local subject become requests in A. */
export class ServiceImport extends Importer {
  readonly mapping: SubjectMapping;
  /** Open response mappings of this import, oldest first: token → entry. */
  readonly open = new Map<string, ResponseEntry>();

  constructor(imports: Imports, spec: ImportSpec, into: Account, from: Account, index: number) {
    super(imports, spec, into, from, index);
    // Local subject (in B) → exported subject (in A).
    this.mapping = SubjectMapping.compile(spec.to === '' ? spec.subject : spec.to, spec.subject);
  }

  install(): void {
    this.subscribe(this.mapping.from);
  }

  deliver(_sub: Subscription, msg: Message): number {
    const remote = this.mapping.map(msg.subject);
    let reply = '';
    let token = '';
    if (msg.reply !== '') {
      token = this.imports.openResponse(this, msg.reply);
      reply = this.imports.responder(this.target).prefix + token;
    }
    const out: Message = { subject: remote, reply, headers: msg.headers, payload: msg.payload };
    const n = this.imports.forward(this, remote, out);
    // Nobody took the request: no response can come, so no mapping is kept.
    if (n === 0 && token !== '') this.imports.closeResponse(this, token);
    return n;
  }
}

interface ResponseEntry {
  readonly importer: ServiceImport;
  /** The requester's reply subject, in the importing account. */
  readonly reply: string;
  readonly expiresAt: number;
}

/**
 * The response side of every service import from one account: one
 * subscription `_R_.<prefix>.>` in the exporting account per node, and the
 * open mappings token → requester.
 */
export class Responder implements Subscriber {
  readonly id = 0;
  readonly kind = 'internal' as const;
  readonly echo = false;
  readonly forwards = true;
  readonly prefix: string;
  readonly entries = new Map<string, ResponseEntry>();
  /** Responses to a reply subject no longer (or never) open: late, duplicate or forged. */
  unknown = 0;
  private readonly sub: Subscription;

  constructor(
    private readonly imports: Imports,
    readonly account: Account,
    prefix: string,
  ) {
    this.prefix = `_R_.${prefix}.`;
    this.sub = {
      subject: `${this.prefix}>`,
      queue: '',
      sid: '$import.responses',
      owner: this,
      max: 0,
      delivered: 0,
    };
    account.subscribe(this.sub);
  }

  close(): void {
    this.account.unsubscribe(this.sub);
  }

  deliver(_sub: Subscription, msg: Message): number {
    const token = msg.subject.slice(this.prefix.length);
    const e = this.entries.get(token);
    if (e === undefined) {
      this.unknown++;
      return 0;
    }
    this.imports.closeResponse(e.importer, token);
    if (e.expiresAt <= this.imports.now()) {
      e.importer.counters.responsesExpired++;
      return 0;
    }
    e.importer.counters.responses++;
    const out: Message = {
      subject: e.reply,
      reply: '',
      headers: msg.headers,
      payload: msg.payload,
    };
    return this.imports.forward(e.importer, e.reply, out, this.account, e.importer.home, false);
  }
}

/**
 * The imports of a node: built from the accounts' configs, kept in step with
 * interest (an InterestListener on every account).
 */
export class Imports implements InterestListener {
  readonly streams: StreamImport[] = [];
  readonly services: ServiceImport[] = [];
  private readonly responders = new Map<Account, Responder>();
  /** Stream imports by importing account. */
  private readonly streamsInto = new Map<Account, StreamImport[]>();
  /** Accounts the message being forwarded has been in (delivery is synchronous). */
  private readonly path: Account[] = [];
  readonly maxResponses: number;
  readonly responseTtlMs: number;
  readonly now: () => number;
  private readonly token: () => string;
  private installed = false;

  constructor(
    private readonly accounts: Accounts,
    private readonly router: Router,
    configs: readonly AccountImports[],
    options: ImportsOptions = {},
  ) {
    this.maxResponses = options.maxResponses ?? MAX_RESPONSES;
    this.responseTtlMs = options.responseTtlMs ?? RESPONSE_TTL_MS;
    this.now = options.now ?? Date.now;
    this.token = options.token ?? defaultToken;
    for (const c of configs) {
      const into = accounts.getOrCreate(c.name);
      c.imports.forEach((spec, i) => {
        const from = accounts.getOrCreate(spec.account);
        if (spec.kind === 'stream') {
          const s = new StreamImport(this, spec, from, into, i);
          this.streams.push(s);
          const list = this.streamsInto.get(into);
          if (list === undefined) this.streamsInto.set(into, [s]);
          else list.push(s);
        } else {
          this.services.push(new ServiceImport(this, spec, into, from, i));
        }
      });
    }
  }

  /** Installs the service imports and starts following interest for the stream imports. */
  install(): void {
    if (this.installed) return;
    this.installed = true;
    this.accounts.addListener(this);
    // Interest there before: counted as if it came now.
    for (const [into] of this.streamsInto) {
      for (const sub of [...into.sublist.all()]) this.interestAdded(into, sub);
    }
    for (const s of this.services) s.install();
  }

  uninstall(): void {
    if (!this.installed) return;
    this.installed = false;
    this.accounts.removeListener(this);
    for (const s of [...this.streams, ...this.services]) s.unsubscribe();
    for (const r of this.responders.values()) r.close();
    this.responders.clear();
    for (const s of this.services) s.open.clear();
  }

  interestAdded(account: Account, sub: Subscription): void {
    this.interest(account, sub, 1);
  }

  interestRemoved(account: Account, sub: Subscription): void {
    this.interest(account, sub, -1);
  }

  private interest(account: Account, sub: Subscription, delta: 1 | -1): void {
    const list = this.streamsInto.get(account);
    if (list === undefined) return;
    let tokens: string[] | null = null;
    for (const s of list) {
      if (sub.owner === s) continue;
      tokens ??= sub.subject.split('.');
      if (patternsOverlap(tokens, s.local)) s.interestChanged(delta);
    }
  }

  /**
   * Publishes `msg` (matched on `subject`) in `to` on behalf of `importer`,
   * unless the message has already been in `to` on its way here.
   */
  forward(
    importer: Importer,
    subject: string,
    msg: Message,
    from: Account = importer.home,
    to: Account = importer.target,
    /** Counted as `forwarded` (a response is counted as `responses` instead). */
    count = true,
  ): number {
    const path = this.path;
    const started = path.length === 0;
    if (started) path.push(from);
    else if (path.includes(to)) {
      importer.counters.loops++;
      return 0;
    }
    path.push(to);
    try {
      if (count) importer.counters.forwarded++;
      return this.router.deliver(to.sublist.match(subject), msg, importer);
    } finally {
      path.pop();
      if (started) path.pop();
    }
  }

  /** The response subscription of an exporting account, made on first use. */
  responder(account: Account): Responder {
    let r = this.responders.get(account);
    if (r === undefined) {
      r = new Responder(
        this,
        account,
        this.token()
          .replace(/[^A-Za-z0-9]/g, 'x')
          .slice(0, 8),
      );
      this.responders.set(account, r);
    }
    return r;
  }

  /** A new mapping for a request's reply; returns its token. */
  openResponse(importer: ServiceImport, reply: string): string {
    const now = this.now();
    this.expire(importer, now);
    if (importer.open.size >= this.maxResponses) {
      const oldest = importer.open.keys().next().value as string;
      this.closeResponse(importer, oldest);
      importer.counters.responsesDropped++;
    }
    const token = this.token();
    const e: ResponseEntry = { importer, reply, expiresAt: now + this.responseTtlMs };
    importer.open.set(token, e);
    this.responder(importer.target).entries.set(token, e);
    return token;
  }

  closeResponse(importer: ServiceImport, token: string): void {
    importer.open.delete(token);
    this.responders.get(importer.target)?.entries.delete(token);
  }

  /** Drops the expired mappings of one import (oldest first: they share one TTL). */
  private expire(importer: ServiceImport, now: number): void {
    for (const [token, e] of importer.open) {
      if (e.expiresAt > now) break;
      this.closeResponse(importer, token);
      importer.counters.responsesExpired++;
    }
  }

  /** Drops every expired mapping (the node calls it on a timer). */
  sweep(now = this.now()): void {
    for (const s of this.services) this.expire(s, now);
  }

  /** Responses to an `_R_` subject of `account` that was not (or no longer) open. */
  unknownResponses(account?: Account): number {
    let n = 0;
    for (const [a, r] of this.responders)
      if (account === undefined || a === account) n += r.unknown;
    return n;
  }

  /** Open response mappings, all imports together. */
  get openResponses(): number {
    let n = 0;
    for (const s of this.services) n += s.open.size;
    return n;
  }

  /** Imports into an account (stream and service), for monitoring. */
  of(account: string): Importer[] {
    return [...this.streams, ...this.services].filter(
      (i) => (i instanceof StreamImport ? i.target : i.home).name === account,
    );
  }
}

export type { Importer };
