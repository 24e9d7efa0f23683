/**
 * A small Server-Sent Events client for tests: reads a response body
 * (`fetch`'s ReadableStream) and parses it as the WHATWG HTML spec's
 * "Interpreting an event stream" does (CR, LF or CRLF line ends; `data`
 * lines joined with LF; one space after the colon stripped; comments).
 * Events and comments are kept in order for the test to poll.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ServerOptions } from '../../src/config/options.js';
import { BASE64_MARKER } from '../../src/protocols/http/sse-event.js';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { checkFor } from './poll.js';

/** The options that turn the HTTP face on at a random port. */
const HTTP_FACE_ON: Partial<ServerOptions> = { httpApiPort: 0, logLevel: 'silent', meshPort: -1 };

export interface SseEvent {
  event: string;
  data: string;
  /** The `id:` field of this event ('' when it had none). */
  id: string;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  retry = -1;
  /** The last event id seen (what a browser would send as Last-Event-ID). */
  lastEventId = '';
  ended = false;
  error: unknown = null;
  private readonly abort = new AbortController();
  private buf = '';
  private ev: SseEvent = { event: '', data: '', id: '' };
  private hasData = false;
  status = 0;
  headers: Headers | null = null;

  private constructor(readonly url: string) {}

  /** Opens the stream; resolves once the response head arrived (any status). */
  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = new SseClient(url);
    const res = await fetch(url, { headers, signal: c.abort.signal });
    c.status = res.status;
    c.headers = res.headers;
    if (res.status !== 200 || res.body === null) {
      c.bodyText = await res.text();
      c.ended = true;
      return c;
    }
    void c.read(res.body);
    return c;
  }

  /**
   * Opens the stream with node:http, reading nothing until `resume()`: the
   * socket's receive buffer fills and the node sees a client that does not
   * read (a slow consumer).
   */
  static async openPaused(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = new SseClient(url);
    await new Promise<void>((resolve, reject) => {
      const req = http.get(url, { headers, signal: c.abort.signal, agent: false }, (res) => {
        c.status = res.statusCode ?? 0;
        res.pause();
        c.resumeFn = () => {
          res.setEncoding('utf8');
          res.on('data', (t: string) => c.feed(t));
          res.resume();
        };
        res.on('close', () => {
          c.ended = true;
        });
        res.on('error', (err) => {
          c.error = err;
        });
        resolve();
      });
      req.on('error', (err) => {
        c.error = err;
        c.ended = true;
        reject(err);
      });
    });
    return c;
  }

  private resumeFn: (() => void) | null = null;

  /** Starts reading a stream opened with `openPaused`. */
  resume(): void {
    this.resumeFn?.();
    this.resumeFn = null;
  }

  /** The body of a refused request. */
  bodyText = '';

  close(): void {
    this.abort.abort();
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        this.feed(decoder.decode(chunk, { stream: true }));
      }
    } catch (err) {
      this.error = err;
    }
    this.ended = true;
  }

  private feed(text: string): void {
    this.buf += text;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (m === null) return;
      // A lone CR at the end may be the start of CRLF: wait for more.
      if (m[0] === '\r' && m.index === this.buf.length - 1) return;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.hasData) {
        this.ev.data = this.ev.data.endsWith('\n') ? this.ev.data.slice(0, -1) : this.ev.data;
        this.ev.id = this.ev.id || '';
        this.events.push(this.ev);
      }
      this.ev = { event: '', data: '', id: '' };
      this.hasData = false;
      return;
    }
    if (line.startsWith(':')) {
      this.comments.push(line.slice(1).trimStart());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.ev.event = value;
        break;
      case 'data':
        this.ev.data += `${value}\n`;
        this.hasData = true;
        break;
      case 'id':
        this.ev.id = value;
        this.lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
    }
  }
}

/** The payload of a text-format event: base64 decoded when it carries the marker. */
export function payloadOf(ev: SseEvent): Buffer {
  return ev.data.startsWith(BASE64_MARKER)
    ? Buffer.from(ev.data.slice(BASE64_MARKER.length), 'base64')
    : Buffer.from(ev.data, 'utf8');
}

/** A node for SSE tests: NATS, monitoring and the HTTP face on random ports, JetStream in a temp dir. */
export interface SseNode {
  readonly srv: WeftServer;
  /** `http://127.0.0.1:<http face port>` */
  readonly base: string;
  /** `http://127.0.0.1:<monitoring port>` */
  readonly monitor: string;
  readonly natsUrl: string;
  close(): Promise<void>;
}

export async function startSseNode(options: Partial<ServerOptions> = {}): Promise<SseNode> {
  const dir = await mkdtemp(path.join(tmpdir(), 'weft-sse-'));
  const srv = await startServer({
    host: '127.0.0.1',
    port: 0,
    httpPort: 0,
    dataDir: dir,
    ...HTTP_FACE_ON,
    ...options,
  });
  const port = srv.node.faces.find((f) => f.name === 'http')?.listeners[0]?.port ?? 0;
  return {
    srv,
    base: `http://127.0.0.1:${port}`,
    monitor: `http://127.0.0.1:${srv.httpPort}`,
    natsUrl: `nats://127.0.0.1:${srv.port}`,
    async close() {
      await srv.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Waits for `n` events (or fails with what arrived). */
export async function eventsOf(c: SseClient, n: number, timeoutMs = 5000): Promise<SseEvent[]> {
  await checkFor(() => {
    if (c.events.length >= n) return true;
    throw new Error(`${c.events.length} of ${n} events (ended: ${c.ended})`);
  }, timeoutMs);
  return c.events.slice(0, n);
}
