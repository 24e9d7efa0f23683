/**
 * A WebSocket as a `Transport` (transport.ts): the byte stream a session
 * built on `Connection` reads and writes, carried in WebSocket binary
 * messages, so the same session runs over TCP, TLS and WebSocket unchanged.
 *
 * - Writes: each write (or each corked batch) goes out as one binary
 *   message; a batch larger than CONCAT_MAX is sent as fragments of one
 *   message instead of being copied. A write's callback runs once ws has
 *   handed the frame to the socket. `writableLength` is the WebSocket's
 *   `bufferedAmount` (the socket's queue plus frames waiting for
 *   compression) plus corked bytes; `write` returns false at
 *   WS_HIGH_WATER_MARK, and 'drain' follows once it is below again — the
 *   same backpressure a net.Socket gives, measured where the bytes wait.
 * - Reads: every binary message is 'data'. Messages ws parses from one read
 *   of the socket are handed on together (one 'data' per read, as TCP does),
 *   so a session answers a burst with one write, not one per message. A
 *   session must not assume its packets are aligned on messages: a frame may
 *   hold several packets or part of one ([MQTT-6.0.0-2]); its parser already
 *   copes, as it does with TCP reads.
 * - Text messages: refused when `binaryOnly` (MQTT: "MQTT Control Packets
 *   MUST be sent in WebSocket binary data frames. If any other type of data
 *   frame is received the recipient MUST close the Network Connection"
 *   [MQTT-6.0.0-1]): an 'error' (code WS_TEXT_FRAME), then close 1003.
 * - Closing: `end()` sends a close frame after everything written, with
 *   `closeCode` (1000 normal; the listener sets 1001 "going away" when the
 *   node shuts down; `closing(reason)` sets nats-server's code for a
 *   session's close reason, see wsCloseCode); `destroy()` drops the TCP connection without one (the
 *   peer sees 1006). The peer's close is 'end' then 'close'. Frame-level
 *   errors (an oversized message: 1009, a bad frame: 1002, bad UTF-8: 1007)
 *   are closed by ws with their code and reported as 'error'.
 */
import { EventEmitter } from 'node:events';
import type { RawData, WebSocket } from 'ws';
import { CloseReason } from '../errors.js';
import type { Transport } from './transport.js';

/** `write` returns false once this many bytes wait (net.Socket's default high-water mark). */
export const WS_HIGH_WATER_MARK = 16 * 1024;
/** A corked batch up to this size is copied into one frame; a larger one is sent as fragments. */
export const CONCAT_MAX = 64 * 1024;

/** `readyState` of an open WebSocket (ws's `WebSocket.OPEN`, the WHATWG value). */
const WS_OPEN = 1;

/** WebSocket close codes used here (RFC 6455 §7.4.1). */
export const WS_CLOSE = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  policyViolation: 1008,
  tooBig: 1009,
  internalError: 1011,
} as const;

/**
 * The close code for a connection closed for `reason`, as nats-server's
 * websocket listener picks it: a client's own close 1000; a limit or a
 * login refused 1008; a protocol error 1002; a payload over max_payload
 * 1009; a read or write error, a stale connection, shutdown 1001; else 1011.
 */
export function wsCloseCode(reason: CloseReason): number {
  switch (reason) {
    case CloseReason.ClientClosed:
      return WS_CLOSE.normal;
    case CloseReason.AuthTimeout:
    case CloseReason.AuthViolation:
    case CloseReason.AuthRevoked:
    case CloseReason.AuthExpired:
    case CloseReason.SlowConsumer:
    case CloseReason.SlowConsumerWriteDeadline:
    case CloseReason.SlowConsumerPendingTotal:
    case CloseReason.MaxAccountConnections:
    case CloseReason.MaxUserConnections:
    case CloseReason.MaxConnections:
    case CloseReason.MaxControlLine:
    case CloseReason.MaxSubscriptions:
      return WS_CLOSE.policyViolation;
    case CloseReason.ParseError:
    case CloseReason.ProtocolViolation:
      return WS_CLOSE.protocolError;
    case CloseReason.MaxPayload:
      return WS_CLOSE.tooBig;
    case CloseReason.WriteError:
    case CloseReason.ReadError:
    case CloseReason.StaleConnection:
    case CloseReason.ServerShutdown:
      return WS_CLOSE.goingAway;
    default:
      return WS_CLOSE.internalError;
  }
}

type WriteCallback = (err?: Error | null) => void;

export interface WebSocketTransportOptions {
  /** The peer, from the HTTP request's socket (no proxy header is trusted). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Text messages close the connection with 1003 (MQTT [MQTT-6.0.0-1]). */
  readonly binaryOnly: boolean;
}

/** An Error with the code ws gives its own (`WS_ERR_…`), or WS_TEXT_FRAME. */
export class WebSocketTransportError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export class WebSocketTransport extends EventEmitter implements Transport {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The code `end()` closes with, and its text. */
  closeCode: number = WS_CLOSE.normal;
  closeText = '';
  private readonly binaryOnly: boolean;
  private corks = 0;
  private corked: Buffer[] = [];
  private corkedBytes = 0;
  private corkedCallbacks: WriteCallback[] = [];
  /** Messages received in this turn, handed on together in a microtask. */
  private received: Buffer[] = [];
  private needDrain = false;
  private ending = false;
  private isDestroyed = false;
  private isClosed = false;
  private paused = false;
  private refusing = false;

  constructor(
    private readonly ws: WebSocket,
    options: WebSocketTransportOptions,
  ) {
    super();
    this.remoteAddress = options.remoteAddress;
    this.remotePort = options.remotePort;
    this.binaryOnly = options.binaryOnly;
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('error', (err: Error) => this.fail(err));
    ws.on('close', () => this.onClose());
  }

  /** The subprotocol agreed in the handshake ('' for none). */
  get protocol(): string {
    return this.ws.protocol;
  }

  get writableLength(): number {
    // Read per message queued (max_pending): our flag, not ws's readyState getter.
    if (this.isClosed) return this.corkedBytes;
    return this.ws.bufferedAmount + this.corkedBytes;
  }

  get destroyed(): boolean {
    return this.isDestroyed || this.isClosed;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  write(chunk: Uint8Array | string, cb?: WriteCallback): boolean {
    if (this.ending || this.isDestroyed || this.ws.readyState !== WS_OPEN) {
      // As a net.Socket after end(): nothing is sent; the callback hears why.
      if (cb !== undefined) process.nextTick(cb, new Error('write after the WebSocket closed'));
      return false;
    }
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.corks > 0) {
      this.corked.push(
        Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.length),
      );
      this.corkedBytes += buf.length;
      if (cb !== undefined) this.corkedCallbacks.push(cb);
    } else {
      this.send(buf, true, cb);
    }
    return this.room();
  }

  cork(): void {
    this.corks++;
  }

  uncork(): void {
    if (this.corks === 0 || --this.corks > 0) return;
    this.sendCorked();
  }

  end(chunk?: Uint8Array | string): this {
    if (chunk !== undefined) this.write(chunk);
    if (this.ending || this.isDestroyed) return this;
    this.corks = 0;
    this.sendCorked();
    this.ending = true;
    // The close frame follows everything sent (one queue in ws's sender).
    this.ws.close(this.closeCode, this.closeText);
    return this;
  }

  /**
   * The session ends for `reason`: the close frame says why (wsCloseCode,
   * and the reason's name), unless the listener already chose the code
   * (1001 at shutdown, 1003 for a text frame).
   */
  closing(reason: CloseReason): void {
    if (this.closeCode !== WS_CLOSE.normal || this.ending) return;
    this.closeCode = wsCloseCode(reason);
    this.closeText = reason;
  }

  destroy(): this {
    if (this.isDestroyed) return this;
    this.isDestroyed = true;
    this.corked = [];
    this.corkedBytes = 0;
    this.ws.terminate();
    return this;
  }

  pause(): this {
    this.paused = true;
    this.ws.pause();
    return this;
  }

  resume(): this {
    this.paused = false;
    this.ws.resume();
    return this;
  }

  isPaused(): boolean {
    return this.paused;
  }

  private room(): boolean {
    if (this.writableLength < WS_HIGH_WATER_MARK) return true;
    this.needDrain = true;
    return false;
  }

  private send(buf: Uint8Array, fin: boolean, cb: WriteCallback | undefined): void {
    this.ws.send(buf, { binary: true, fin }, (err?: Error | null) => {
      cb?.(err);
      // Every frame has this callback: the last one to run sees the queue empty.
      if (this.needDrain && this.writableLength < WS_HIGH_WATER_MARK && !this.isClosed) {
        this.needDrain = false;
        this.emit('drain');
      }
    });
  }

  /** The TCP (or TLS) socket under the WebSocket: ws keeps it as `_socket`. */
  private rawSocket(): { cork(): void; uncork(): void } | null {
    return (this.ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket ?? null;
  }

  private sendCorked(): void {
    const parts = this.corked;
    if (parts.length === 0) return;
    const callbacks = this.corkedCallbacks;
    const bytes = this.corkedBytes;
    this.corked = [];
    this.corkedCallbacks = [];
    this.corkedBytes = 0;
    const cb =
      callbacks.length === 0
        ? undefined
        : callbacks.length === 1
          ? callbacks[0]
          : (err?: Error | null) => {
              for (const c of callbacks) c(err);
            };
    if (parts.length === 1) this.send(parts[0], true, cb);
    else if (bytes <= CONCAT_MAX) this.send(Buffer.concat(parts, bytes), true, cb);
    else {
      // One message in fragments: no copy of large payloads. The TCP socket
      // is corked meanwhile, so the frames leave in one writev, not one each.
      const raw = this.rawSocket();
      raw?.cork();
      const last = parts.length - 1;
      for (let i = 0; i < last; i++) this.send(parts[i], false, undefined);
      this.send(parts[last], true, cb);
      raw?.uncork();
    }
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.refusing || this.isDestroyed) return;
    if (!isBinary && this.binaryOnly) {
      this.refusing = true;
      // The close frame first: a session that closes on the error ends with the same code.
      this.closeCode = WS_CLOSE.unsupportedData;
      this.ws.close(WS_CLOSE.unsupportedData, 'binary frames only');
      this.fail(
        new WebSocketTransportError(
          'a text frame where only binary frames are allowed',
          'WS_TEXT_FRAME',
        ),
      );
      return;
    }
    // binaryType 'nodebuffer': one Buffer per message, fragments joined.
    const buf = data as Buffer;
    if (buf.length === 0) return;
    this.received.push(buf);
    if (this.received.length === 1) queueMicrotask(this.deliver);
  }

  /** Hands on the messages of this turn as one chunk. */
  private readonly deliver = (): void => {
    const list = this.received;
    if (list.length === 0) return;
    this.received = [];
    if (this.refusing) return;
    this.emit('data', list.length === 1 ? list[0] : Buffer.concat(list));
  };

  private fail(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private onClose(): void {
    if (this.isClosed) return;
    // What arrived before the close is read first.
    this.deliver();
    const byPeer = !this.ending && !this.isDestroyed;
    this.isClosed = true;
    this.corked = [];
    this.corkedBytes = 0;
    if (byPeer) this.emit('end');
    this.emit('close');
  }
}
