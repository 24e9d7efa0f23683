/**
 * What a connection needs from the byte stream under it: the part of
 * `net.Socket` that `Connection` and `ReadSlicer` (and the sessions built on
 * them) use, and nothing more. A `net.Socket` or a `tls.TLSSocket` is one;
 * so is `WebSocketTransport` (websocket-transport.ts), which carries the
 * same bytes in WebSocket binary messages. A session written against this
 * runs unchanged on TCP, TLS and WebSocket.
 *
 * The contract is net.Socket's: `write` returns false once the bytes waiting
 * to leave (`writableLength`) pass the high-water mark, and a 'drain' follows
 * when there is room again; a write's callback runs once its bytes were
 * handed to the kernel; 'data' carries what the peer sent, 'end' says the
 * peer is done, 'close' comes last and once; `pause` stops 'data' (a few may
 * still arrive from what was already read), `resume` starts it again.
 */
import type { CloseReason } from '../errors.js';

export interface Transport {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  /** Bytes accepted by `write` and not yet handed to the kernel. */
  readonly writableLength: number;
  /** True once destroyed or closed: writes go nowhere. */
  readonly destroyed: boolean;
  /** True once 'close' was emitted. */
  readonly closed: boolean;
  write(chunk: Uint8Array | string, cb?: (err?: Error | null) => void): boolean;
  /** Writes until `uncork` are handed on together. */
  cork(): void;
  uncork(): void;
  /** Ends after what was written (with `chunk` last, if given). */
  end(chunk?: Uint8Array | string): unknown;
  /** Ends at once: what was not yet written is dropped. */
  destroy(): unknown;
  /**
   * The connection is about to end (or be destroyed) for `reason`: a
   * WebSocket picks its close code and text from it. Optional: a socket
   * has nothing to say.
   */
  closing?(reason: CloseReason): void;
  pause(): unknown;
  resume(): unknown;
  isPaused(): boolean;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error', listener: (err: NodeJS.ErrnoException) => void): unknown;
  on(event: 'drain' | 'end' | 'close', listener: () => void): unknown;
  once(event: 'data', listener: (chunk: Buffer) => void): unknown;
  once(event: 'error', listener: (err: NodeJS.ErrnoException) => void): unknown;
  once(event: 'drain' | 'end' | 'close', listener: () => void): unknown;
}
