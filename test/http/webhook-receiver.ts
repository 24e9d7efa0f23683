/**
 * A local webhook receiver for tests: a `node:http` server on a random
 * port that records every request (when it arrived, its headers, its
 * body) and answers as the test's `answer` function says — a status, a
 * delay, a hang (never answers), headers — so a test can make it fail N
 * times, answer slowly, hang, go away and come back, or answer 410/429.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Received {
  /** Arrival time (ms since the epoch). */
  readonly at: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  /** Answer after this many ms. */
  delayMs?: number;
  /** Never answer (the webhook's timeout must end it). */
  hang?: boolean;
  body?: string;
}

/** The answer for the n-th request (0-based), and the request itself. */
export type Answerer = (n: number, r: Received) => Answer;

export class Receiver {
  readonly received: Received[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;
  /** Connections accepted. */
  accepted = 0;

  constructor(public answer: Answerer = () => ({ status: 200 })) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Starts listening (on `port` when given: to come back where it was). */
  async start(port = 0): Promise<this> {
    const server = createServer((req, res) => this.onRequest(req, res));
    server.keepAliveTimeout = 60_000;
    server.on('connection', (s: Socket) => {
      this.accepted++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { at: Date.now(), headers: req.headers, body: Buffer.concat(chunks) };
      const n = this.received.length;
      this.received.push(r);
      const a = this.answer(n, r);
      if (a.hang === true) return;
      const send = (): void => {
        if (res.destroyed) return;
        res.writeHead(a.status ?? 200, a.headers ?? {});
        res.end(a.body ?? '');
      };
      if ((a.delayMs ?? 0) > 0) setTimeout(send, a.delayMs);
      else send();
    });
  }

  /** Stops listening and drops every connection (a receiver that went down). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server === null) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }

  /** Connections open now. */
  openConnections(): number {
    return this.sockets.size;
  }

  bodies(): string[] {
    return this.received.map((r) => r.body.toString());
  }
}
