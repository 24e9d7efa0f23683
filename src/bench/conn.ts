/**
 * One raw NATS connection of the load generator: a socket, a frame scanner
 * and the PING/PONG round trip that says "the server has seen everything
 * written before it". No client library: the generator must outrun the server.
 */

import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { connectFrame, PING, PONG, type ServerAddress } from './protocol.js';
import { FrameScanner } from './scanner.js';
import { SocketConn } from './socket-conn.js';
import { WsSocket } from './ws-socket.js';

export class BenchConn extends SocketConn {
  readonly scanner = new FrameScanner();
  /** The server's INFO, once received (it comes before the first PONG). */
  info: { max_payload?: number; [key: string]: unknown } = {};
  private readonly pongWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  private constructor(socket: net.Socket) {
    super(socket);
    const scanner = this.scanner;
    scanner.onPing = () => {
      if (!this.closed) socket.write(PONG);
    };
    scanner.onPong = () => this.pongWaiters.shift()?.resolve();
    scanner.onErr = (text) => this.errors.push(`-ERR ${text}`);
    scanner.onInfo = (json) => {
      try {
        this.info = JSON.parse(json);
      } catch {}
    };
    scanner.onProtocolError = (text) => {
      this.errors.push(text);
      socket.destroy();
    };
    socket.on('data', (chunk: Buffer) => scanner.push(chunk));
  }

  protected rejectWaiters(why: string): void {
    for (const w of this.pongWaiters.splice(0)) w.reject(new Error(why));
  }

  /** Connects, sends CONNECT + PING and resolves once the PONG is back. */
  static async open(addr: ServerAddress, name: string, timeoutMs = 10_000): Promise<BenchConn> {
    if (addr.caFile !== undefined) return BenchConn.openTls(addr, name, timeoutMs);
    if (addr.ws === true) {
      const socket = await WsSocket.open(`ws://${addr.host}:${addr.port}/`, timeoutMs);
      return BenchConn.start(socket, addr, name, timeoutMs);
    }
    return BenchConn.start(
      net.connect({ host: addr.host, port: addr.port }),
      addr,
      name,
      timeoutMs,
    );
  }

  /** INFO in clear, then the TLS handshake, then CONNECT, as NATS clients do. */
  private static async openTls(
    addr: ServerAddress,
    name: string,
    timeoutMs: number,
  ): Promise<BenchConn> {
    const raw = net.connect({ host: addr.host, port: addr.port });
    raw.setNoDelay(true);
    const timer = setTimeout(
      () => raw.destroy(new Error(`no TLS within ${timeoutMs} ms`)),
      timeoutMs,
    );
    try {
      const info = await new Promise<Buffer>((resolve, reject) => {
        let buf = Buffer.alloc(0);
        const onData = (d: Buffer) => {
          buf = Buffer.concat([buf, d]);
          if (buf.indexOf('\r\n') < 0) return;
          raw.off('data', onData);
          raw.pause();
          resolve(buf);
        };
        raw.on('data', onData);
        raw.once('error', reject);
        raw.once('close', () => reject(new Error('closed before INFO')));
      });
      const socket = tls.connect({
        socket: raw,
        host: addr.host,
        ...(net.isIP(addr.host) === 0 ? { servername: addr.host } : {}),
        ca: readFileSync(addr.caFile!),
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', () => resolve());
        socket.once('error', reject);
      });
      const conn = await BenchConn.start(socket, addr, name, timeoutMs, info);
      return conn;
    } catch (err) {
      raw.destroy();
      throw new Error(`TLS connect to ${addr.host}:${addr.port}: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  private static async start(
    socket: net.Socket,
    addr: ServerAddress,
    name: string,
    timeoutMs: number,
    /** Bytes already read (the INFO a TLS connection reads in clear). */
    head: Buffer | null = null,
  ): Promise<BenchConn> {
    const conn = new BenchConn(socket);
    if (head !== null) conn.scanner.push(head);
    const timer = setTimeout(() => {
      conn.errors.push(`no PONG within ${timeoutMs} ms`);
      socket.destroy();
    }, timeoutMs);
    try {
      const pong = conn.expectPong();
      socket.write(connectFrame(name, addr));
      await pong;
    } catch (err) {
      socket.destroy();
      throw new Error(`connect to ${addr.host}:${addr.port}: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    return conn;
  }

  /** Throws if the server would refuse payloads of `size` bytes. */
  checkPayload(size: number): void {
    const max = this.info.max_payload;
    if (typeof max === 'number' && size > max) {
      this.close();
      throw new Error(`--size ${size} is more than the server's max_payload of ${max} bytes`);
    }
  }

  /** Resolves when the server answers a PING sent now (all prior writes processed). */
  flush(): Promise<void> {
    const pong = this.expectPong();
    this.socket.write(PING);
    return pong;
  }

  private expectPong(): Promise<void> {
    if (this.closed) return Promise.reject(new Error(this.closeReason()));
    return new Promise((resolve, reject) => this.pongWaiters.push({ resolve, reject }));
  }
}
