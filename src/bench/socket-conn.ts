/**
 * What the generator's connections share, whatever the protocol (conn.ts
 * for NATS, mqtt-conn.ts for MQTT): errors in order, writes that wait for
 * 'drain', close listeners, and a deliberate close that is not reported.
 */
import type net from 'node:net';

export abstract class SocketConn {
  /** Server errors and socket errors, in order. */
  readonly errors: string[] = [];
  closed = false;
  /** Set by `close()`: a close we asked for is not reported to listeners. */
  private deliberate = false;
  private closeListeners: Array<(why: string) => void> = [];

  protected constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('error', (err) => this.errors.push(err.message));
    socket.on('close', () => {
      this.closed = true;
      const why = this.closeReason();
      this.rejectWaiters(why);
      const listeners = this.closeListeners.splice(0);
      if (!this.deliberate) for (const l of listeners) l(why);
    });
  }

  /** The socket closed: every pending wait fails with `why`. */
  protected abstract rejectWaiters(why: string): void;

  /** Writes `buf`; resolves at once, or on 'drain' if the socket is backed up. */
  write(buf: Buffer): Promise<void> | undefined {
    if (this.socket.write(buf)) return undefined;
    return this.drained();
  }

  drained(): Promise<void> {
    if (this.closed) return Promise.reject(new Error(this.closeReason()));
    return new Promise((resolve, reject) => {
      const onClose = (why: string) => reject(new Error(why));
      this.closeListeners.push(onClose);
      this.socket.once('drain', () => {
        const i = this.closeListeners.indexOf(onClose);
        if (i >= 0) this.closeListeners.splice(i, 1);
        resolve();
      });
    });
  }

  onClose(listener: (why: string) => void): void {
    if (this.closed) listener(this.closeReason());
    else this.closeListeners.push(listener);
  }

  close(): void {
    this.deliberate = true;
    this.closed = true;
    this.socket.destroy();
  }

  protected closeReason(): string {
    return this.errors.length > 0 ? this.errors.join('; ') : 'connection closed by server';
  }
}
