/**
 * The load generator's NATS connection over WebSocket: a `ws` client made to
 * look like the net.Socket the generator writes to (write → false when
 * backed up, then 'drain'; cork/uncork; 'data', 'close', 'error'), so the
 * same workers, batches and scanner run over TCP and over WebSocket.
 *
 * Each write is one binary message (a batch of PUB frames, as the TCP
 * generator writes it); writes between cork and uncork leave as one
 * message too (joined here: a latency stamp and its batch), as browser
 * clients send, not as fragments a server must join. Every message the server sends is
 * one 'data' chunk: NATS frames may span messages, and the scanner copes,
 * as with TCP reads. Messages that arrive before the first 'data' listener
 * (the INFO sent right after the upgrade) are kept and handed to it.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { WebSocket } from 'ws';

/** `write` returns false once this many bytes wait (net.Socket's default high-water mark). */
const HIGH_WATER_MARK = 64 * 1024;

export class WsSocket extends EventEmitter {
  private corked: Buffer[] | null = null;
  private early: Buffer[] | null = [];
  private needDrain = false;

  private constructor(private readonly ws: WebSocket) {
    super();
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer) => {
      if (this.early !== null) this.early.push(data);
      else this.emit('data', data);
    });
    ws.on('error', (err) => this.emit('error', err));
    ws.on('close', () => this.emit('close'));
    this.on('newListener', (event: string) => {
      if (event !== 'data' || this.early === null) return;
      // After the listener is added (this runs before): hand over what came early.
      queueMicrotask(() => {
        const early = this.early ?? [];
        this.early = null;
        for (const d of early) this.emit('data', d);
      });
    });
  }

  /** Connects to `url` (ws://host:port/); resolves once upgraded, as a socket for BenchConn. */
  static open(url: string, timeoutMs: number): Promise<net.Socket> {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    const s = new WsSocket(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        ws.removeListener('error', reject);
        resolve(s as unknown as net.Socket);
      });
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => {
        ws.terminate();
        reject(new Error(`WebSocket upgrade refused: HTTP ${res.statusCode}`));
      });
    });
  }

  get writableLength(): number {
    return this.ws.bufferedAmount;
  }

  write(buf: Buffer): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    if (this.corked !== null) this.corked.push(buf);
    else this.send(buf);
    return this.room();
  }

  cork(): void {
    this.corked ??= [];
  }

  uncork(): void {
    const parts = this.corked;
    this.corked = null;
    if (parts === null || parts.length === 0 || this.ws.readyState !== WebSocket.OPEN) return;
    this.send(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  }

  setNoDelay(): this {
    // ws's client socket has Nagle off already.
    return this;
  }

  destroy(): this {
    this.ws.terminate();
    return this;
  }

  end(): this {
    this.ws.close();
    return this;
  }

  private room(): boolean {
    if (this.ws.bufferedAmount < HIGH_WATER_MARK) return true;
    this.needDrain = true;
    return false;
  }

  private send(buf: Buffer): void {
    this.ws.send(buf, { binary: true }, () => {
      if (this.needDrain && this.ws.bufferedAmount < HIGH_WATER_MARK) {
        this.needDrain = false;
        this.emit('drain');
      }
    });
  }
}
