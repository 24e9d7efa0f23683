/**
 * `GET /v1/subscribe/{subject}`: messages as Server-Sent Events
 * (docs/http.md, "Server-Sent Events"). The request is checked (subject,
 * parameters, the identity's subscribe permission, the bounds) and answered
 * with a JSON error, or with `200 text/event-stream`: a `retry:` hint, then
 * one event per message and `: hb` comments while idle, until the client
 * goes away or the response is closed for a counted reason.
 *
 * Bounds: `http.sse_max_streams` responses per node (503 past it) and
 * `http.sse_max_per_identity` per user of an account (429); each response's
 * bytes held by `http.sse_max_pending` (sse-writer.ts). Every refusal and
 * every close is counted by reason (/varz `weft.faces.http.sse`, /metrics
 * `weft_http_sse_refused_total{reason}`, `weft_http_sse_closed_total{reason}`).
 */
import type { Registry } from 'prom-client';
import type { ConnectionIdentity } from '../../auth/connection-identity.js';
import { reservedSubject } from '../../auth/reserved.js';
import type { ServerOptions } from '../../config/options.js';
import { byKey, scrapeReaders } from '../../monitor/metric-kit.js';
import type { FaceHost } from '../face.js';
import type { HttpContext } from './context.js';
import type { HttpModuleFactory } from './module.js';
import { retryField } from './sse-event.js';
import { LiveSubscription, type SseDeliveryCounters } from './sse-live.js';
import { SUBSCRIBE_OPENAPI } from './sse-openapi.js';
import { parseSseRequest } from './sse-request.js';
import { SseRefused, StreamSubscription } from './sse-stream.js';
import { type SseCloseReason, SseWriter } from './sse-writer.js';

/** The SSE settings (`http.sse_*`), read at each request (a reload applies to the next ones). */
export interface SseSettings {
  /** `http.sse_heartbeat`: a `: hb` comment after this long without a write (ms; 0: none). */
  readonly heartbeatMs: number;
  /** `http.sse_retry`: the `retry:` hint sent first (ms). */
  readonly retryMs: number;
  /** `http.sse_max_pending`: bytes held for one response before it is closed (slow_consumer). */
  readonly maxPending: number;
  /** `http.sse_max_streams`: open SSE responses per node (0: no limit). */
  readonly maxStreams: number;
  /** `http.sse_max_per_identity`: open SSE responses per user of an account (0: no limit). */
  readonly maxPerIdentity: number;
  /** `write_deadline`: a full socket that takes nothing for this long is closed (ms). */
  readonly writeDeadlineMs: number;
}

/** A stream-backed response pauses its consumer past this many bytes held (at most half of max_pending). */
const PAUSE_BYTES = 256 * 1024;

export const SSE_REFUSALS = [
  'bad_request',
  'permission',
  'subscription_limit',
  'max_streams',
  'max_per_identity',
  'stream',
] as const;
export const SSE_CLOSES: readonly SseCloseReason[] = [
  'client_closed',
  'slow_consumer',
  'write_deadline',
  'server_shutdown',
  'stream_gone',
  'permissions_changed',
];

/** The settings as they are now (a reload applies to the next responses). */
export function sseSettings(o: ServerOptions): SseSettings {
  return {
    heartbeatMs: o.httpSseHeartbeatMs,
    retryMs: o.httpSseRetryMs,
    maxPending: o.httpSseMaxPending,
    maxStreams: o.httpSseMaxStreams,
    maxPerIdentity: o.httpSseMaxPerIdentity,
    writeDeadlineMs: o.writeDeadlineMs,
  };
}

/** The `sse` module of the HTTP API (mount.ts). */
export const sseModule: HttpModuleFactory = (m) => {
  const sse = new SseService(m.host, () => sseSettings(m.host.options));
  return {
    name: 'sse',
    routes: [
      {
        method: 'GET',
        path: '/v1/subscribe/{subject}',
        module: 'sse',
        openapi: SUBSCRIBE_OPENAPI,
        handle: (ctx) => sse.handle(ctx),
      },
    ],
    stop: async () => sse.closeAll(),
    varz: () => sse.varz(),
    metrics: (registry) => sse.metrics(registry),
  };
};

export class SseService {
  private readonly open = new Set<SseWriter>();
  private readonly perIdentity = new Map<string, number>();
  readonly refused = new Map<string, number>();
  readonly closed = new Map<string, number>();
  readonly counters: SseDeliveryCounters & { opened: number; events: number; bytes: number } = {
    opened: 0,
    deliveriesDenied: 0,
    events: 0,
    bytes: 0,
  };

  constructor(
    private readonly host: FaceHost,
    private readonly settings: () => SseSettings,
  ) {}

  get size(): number {
    return this.open.size;
  }

  private count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  private refuse(ctx: HttpContext, reason: string, status: number, description: string): void {
    this.count(this.refused, reason);
    ctx.error(status, description);
  }

  /** Serves one request (the route's handler). */
  async handle(ctx: HttpContext): Promise<void> {
    const { req, res } = ctx;
    const header = req.headers['last-event-id'];
    const lastId = Array.isArray(header) ? header[0] : header;
    const parsed = parseSseRequest(ctx.params.subject ?? '', ctx.query, lastId);
    if (!parsed.ok) {
      this.refuse(ctx, 'bad_request', 400, parsed.why);
      return;
    }
    const r = parsed.req;
    const allowed = ctx.maySubscribe(r.subject, r.queue);
    if (allowed === null) {
      this.count(this.refused, 'permission');
      return;
    }
    const address = `${ctx.conn.remoteAddress}:${ctx.conn.remotePort}`;
    const s = this.settings();
    if (s.maxStreams > 0 && this.open.size >= s.maxStreams) {
      this.host.log.warn(
        `http ${address} - SSE refused: http.sse_max_streams (${s.maxStreams}) reached`,
      );
      this.refuse(ctx, 'max_streams', 503, `maximum SSE streams (${s.maxStreams}) reached`);
      return;
    }
    const identity = ctx.identity;
    const key = `${identity.account.name}\u0000${identity.user}`;
    const mine = this.perIdentity.get(key) ?? 0;
    if (s.maxPerIdentity > 0 && mine >= s.maxPerIdentity) {
      this.refuse(
        ctx,
        'max_per_identity',
        429,
        `maximum SSE streams per user (${s.maxPerIdentity}) reached`,
      );
      return;
    }
    const who = ctx.who;
    if (who.subscribe() !== null) {
      this.refuse(
        ctx,
        'subscription_limit',
        429,
        "the user's or account's max_subscriptions reached",
      );
      return;
    }
    const writer = new SseWriter(res, {
      maxPending: s.maxPending,
      pauseBytes: Math.min(PAUSE_BYTES, Math.floor(s.maxPending / 2)),
      heartbeatMs: s.heartbeatMs,
      writeDeadlineMs: s.writeDeadlineMs,
    });
    // Counted from here: a stream's consumer is made asynchronously.
    this.open.add(writer);
    this.perIdentity.set(key, mine + 1);
    const conn = ctx.conn;
    conn.subjects.set(writer, r.subject);
    const release = (): void => {
      this.open.delete(writer);
      conn.subjects.delete(writer);
      conn.reauthorizeHooks.delete(reauthorized);
      who.unsubscribe();
      const left = (this.perIdentity.get(key) ?? 1) - 1;
      if (left > 0) this.perIdentity.set(key, left);
      else this.perIdentity.delete(key);
    };
    const account = ctx.account;
    const guard = who.guard;
    const check = allowed.check;
    const source =
      r.stream === ''
        ? new LiveSubscription(account, writer, r.format, guard, check, this.counters)
        : new StreamSubscription(
            account,
            this.host.jetstream,
            writer,
            {
              stream: r.stream,
              subject: r.subject,
              start: r.start,
              format: r.format,
              client: address,
            },
            guard,
            check,
            this.counters,
          );
    // A reload narrowed the identity's permissions: keep the subscription only if still allowed.
    const reauthorized = (now: ConnectionIdentity): number => {
      const g = now.guard;
      const verdict =
        reservedSubject(r.subject) || g === null
          ? { ok: !reservedSubject(r.subject), check: false }
          : g.subscribe(r.subject, r.queue);
      if (verdict.ok) {
        source.permit(g, verdict.check);
        return 0;
      }
      writer.close('permissions_changed');
      return 1;
    };
    conn.reauthorizeHooks.add(reauthorized);
    writer.onClose = (why) => {
      source.stop();
      release();
      this.counters.events += writer.eventsOut;
      this.counters.bytes += writer.bytesOut;
      this.count(this.closed, why);
      if (why === 'slow_consumer' || why === 'write_deadline') {
        const detail =
          why === 'slow_consumer'
            ? `more than http.sse_max_pending (${s.maxPending} bytes) held`
            : `its socket took nothing for write_deadline (${s.writeDeadlineMs} ms)`;
        this.host.log.warn(
          `http ${address} - SSE on "${r.subject}" closed, slow consumer: ${detail}`,
        );
      }
    };
    if (source instanceof StreamSubscription) {
      writer.onTick = () => {
        if (!source.alive()) writer.close('stream_gone');
      };
      try {
        await source.start();
      } catch (err) {
        // The client went away meanwhile: onClose counted it.
        if (writer.closed !== null) return;
        writer.onClose = null;
        writer.close('client_closed');
        release();
        if (err instanceof SseRefused) {
          this.refuse(ctx, 'stream', err.status, err.message);
          return;
        }
        throw err;
      }
      // The client went away while the consumer was made: onClose stopped it.
      if (writer.closed !== null) return;
    } else {
      source.start(r.subject, r.queue);
    }
    this.counters.opened++;
    req.socket.setTimeout(0);
    req.socket.setNoDelay(true);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      // Proxies such as nginx must not buffer the stream.
      'X-Accel-Buffering': 'no',
    });
    writer.begin(retryField(s.retryMs));
  }

  /** Shutdown: every response ends (the client may reconnect elsewhere). */
  closeAll(): void {
    for (const w of [...this.open]) w.close('server_shutdown');
  }

  varz(): Record<string, unknown> {
    const s = this.settings();
    let events = this.counters.events;
    let bytes = this.counters.bytes;
    for (const w of this.open) {
      events += w.eventsOut;
      bytes += w.bytesOut;
    }
    return {
      streams: this.open.size,
      opened: this.counters.opened,
      events_out: events,
      bytes_out: bytes,
      deliveries_denied: this.counters.deliveriesDenied,
      heartbeat_ms: s.heartbeatMs,
      max_pending: s.maxPending,
      max_streams: s.maxStreams,
      max_per_identity: s.maxPerIdentity,
      refused: Object.fromEntries(this.refused),
      closed: Object.fromEntries(this.closed),
    };
  }

  metrics(registry: Registry): void {
    const m = scrapeReaders(registry);
    m.gauge('weft_http_sse_streams', 'SSE responses open now', () => this.open.size);
    m.labelledCounter(
      'weft_http_sse_refused_total',
      'SSE requests refused, by reason',
      'reason',
      byKey(this.refused, SSE_REFUSALS),
    );
    m.labelledCounter(
      'weft_http_sse_closed_total',
      'SSE responses ended, by reason (slow_consumer: http.sse_max_pending; write_deadline: a socket that took nothing)',
      'reason',
      byKey(this.closed, SSE_CLOSES),
    );
  }
}
