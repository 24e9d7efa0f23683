/**
 * A raw NATS protocol socket for wire-level tests: send exact bytes, expect
 * exact lines. Everything the server sends is kept in one buffer and consumed
 * in order, so a test asserts the whole conversation, not a sample of it.
 */
import net from 'node:net';

const CRLF = Buffer.from('\r\n');

export interface ServerInfo {
  server_id: string;
  version: string;
  proto: number;
  headers?: boolean;
  max_payload: number;
  client_id: number;
  [key: string]: unknown;
}

export class RawClient {
  readonly socket: net.Socket;
  /** The INFO the server sent first (set by `open`). */
  info!: ServerInfo;
  private buf: Buffer = Buffer.alloc(0);
  private closed = false;
  private wake: (() => void) | undefined;
  /** Everything received so far, for failure messages. */
  private transcript: string[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    // A reset from the server is a close for our purposes.
    socket.on('error', () => {});
  }

  /** Connects and reads the INFO line the server must send first. */
  static async open(port: number, timeoutMs = 2000): Promise<RawClient> {
    const c = await RawClient.connectOnly(port, timeoutMs);
    const line = await c.nextLine(timeoutMs);
    const m = /^INFO (\{.*\})\s*$/.exec(line);
    if (!m) {
      c.destroy();
      throw new Error(`expected INFO as the first line, got ${JSON.stringify(line)}`);
    }
    c.info = JSON.parse(m[1]!) as ServerInfo;
    return c;
  }

  /** Connects without reading anything; `localAddress` binds the client's end (another loopback address). */
  static connectOnly(port: number, timeoutMs = 2000, localAddress?: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({
        port,
        host: '127.0.0.1',
        noDelay: true,
        ...(localAddress !== undefined ? { localAddress } : {}),
      });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${port} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RawClient(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /**
   * Opens a connection and completes the handshake: INFO, CONNECT (non-verbose,
   * non-pedantic, headers on unless overridden), PING, and waits for PONG.
   */
  static async handshake(
    port: number,
    connect: Record<string, unknown> = {},
    timeoutMs = 2000,
  ): Promise<RawClient> {
    const c = await RawClient.open(port, timeoutMs);
    const opts = {
      verbose: false,
      pedantic: false,
      headers: true,
      lang: 'raw',
      version: '0.0.0',
      protocol: 1,
      ...connect,
    };
    c.send(`CONNECT ${JSON.stringify(opts)}\r\nPING\r\n`);
    if (opts.verbose) await c.expectLine(/^\+OK$/, timeoutMs);
    await c.expectLine(/^PONG$/, timeoutMs);
    return c;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Stops reading from the socket so the kernel buffers fill (slow consumer). */
  pause(): void {
    this.socket.pause();
  }

  /**
   * Resumes reading, throws away everything the server sent, and waits for the
   * close. A paused socket cannot see the server's FIN, so this is how a test
   * observes that a slow consumer was disconnected.
   */
  async discardUntilClosed(timeoutMs = 5000): Promise<void> {
    this.socket.resume();
    await this.waitFor(
      () => {
        this.buf = Buffer.alloc(0);
        return this.closed ? true : undefined;
      },
      timeoutMs,
      'the server to close the connection',
    );
  }

  /** Waits until `extract` yields a value, the socket closes, or time runs out. */
  private waitFor<T>(extract: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    if (this.wake) return Promise.reject(new Error(`one wait at a time (waiting for ${what})`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        reject(new Error(`timed out after ${timeoutMs}ms waiting for ${what}; ${this.describe()}`));
      }, timeoutMs);
      const check = () => {
        const v = extract();
        if (v !== undefined) {
          clearTimeout(timer);
          this.wake = undefined;
          resolve(v);
        } else if (this.closed) {
          clearTimeout(timer);
          this.wake = undefined;
          reject(new Error(`connection closed while waiting for ${what}; ${this.describe()}`));
        }
      };
      this.wake = check;
      check();
    });
  }

  private describe(): string {
    const pending = this.buf.subarray(0, 200).toString('latin1');
    const seen = this.transcript.slice(-8).map((l) => JSON.stringify(l));
    return `last lines [${seen.join(', ')}], unread ${JSON.stringify(pending)}`;
  }

  private takeLine(): string | undefined {
    const i = this.buf.indexOf(CRLF);
    if (i < 0) return undefined;
    const line = this.buf.subarray(0, i).toString('utf8');
    this.buf = this.buf.subarray(i + 2);
    this.transcript.push(line);
    return line;
  }

  /** The next CRLF-terminated line, without its CRLF. */
  nextLine(timeoutMs = 2000): Promise<string> {
    return this.waitFor(() => this.takeLine(), timeoutMs, 'a line');
  }

  /** The next line must match `re` (a string must match exactly). */
  async expectLine(re: RegExp | string, timeoutMs = 2000): Promise<RegExpExecArray> {
    const what = typeof re === 'string' ? JSON.stringify(re) : String(re);
    const line = await this.waitFor(() => this.takeLine(), timeoutMs, `line ${what}`);
    const m =
      typeof re === 'string'
        ? line === re
          ? (Object.assign([line], { index: 0, input: line }) as RegExpExecArray)
          : null
        : re.exec(line);
    if (!m) {
      throw new Error(`expected line ${what}, got ${JSON.stringify(line)}; ${this.describe()}`);
    }
    return m;
  }

  /** Exactly `n` bytes (e.g. a message payload), then nothing else consumed. */
  readBytes(n: number, timeoutMs = 2000): Promise<Buffer> {
    return this.waitFor(
      () => {
        if (this.buf.length < n) return undefined;
        const out = Buffer.from(this.buf.subarray(0, n));
        this.buf = this.buf.subarray(n);
        return out;
      },
      timeoutMs,
      `${n} bytes`,
    );
  }

  /**
   * Expects a message: `MSG <subject> <sid> [reply] <size>` (or HMSG with
   * headers) followed by exactly that payload and CRLF. Returns the payload.
   */
  async expectMsg(
    subject: string,
    sid: string | number,
    payload: string | Buffer,
    reply?: string,
    timeoutMs = 2000,
  ): Promise<void> {
    const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const head = ['MSG', subject, String(sid), ...(reply ? [reply] : []), String(body.length)];
    await this.expectLine(head.join(' '), timeoutMs);
    const got = await this.readBytes(body.length + 2, timeoutMs);
    if (!got.equals(Buffer.concat([body, CRLF]))) {
      throw new Error(
        `payload mismatch: expected ${JSON.stringify(body.toString('latin1'))}+CRLF, got ${JSON.stringify(got.toString('latin1'))}`,
      );
    }
  }

  /**
   * Waits for the server to close the connection. Lines received before the
   * close are returned; each must match one of `allowed` (default: none may
   * arrive), so a test states exactly what may precede the close.
   */
  async expectClosed(timeoutMs = 2000, allowed: RegExp[] = []): Promise<string[]> {
    const lines: string[] = [];
    await this.waitFor(
      () => {
        for (let l = this.takeLine(); l !== undefined; l = this.takeLine()) lines.push(l);
        return this.closed ? true : undefined;
      },
      timeoutMs,
      'the server to close the connection',
    );
    for (const l of lines) {
      if (!allowed.some((re) => re.test(l))) {
        throw new Error(
          `unexpected line before close: ${JSON.stringify(l)} (all: ${JSON.stringify(lines)})`,
        );
      }
    }
    return lines;
  }

  /** Proves the connection is open and everything before was processed. */
  async ping(timeoutMs = 2000): Promise<void> {
    this.send('PING\r\n');
    await this.expectLine(/^PONG$/, timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Opens raw clients and destroys them all at the end of a test. */
export function rawPool(): {
  open: typeof RawClient.open;
  handshake: typeof RawClient.handshake;
  connectOnly: typeof RawClient.connectOnly;
  closeAll: () => void;
} {
  const all: RawClient[] = [];
  const track = async (p: Promise<RawClient>) => {
    const c = await p;
    all.push(c);
    return c;
  };
  return {
    open: (...a) => track(RawClient.open(...a)),
    handshake: (...a) => track(RawClient.handshake(...a)),
    connectOnly: (...a) => track(RawClient.connectOnly(...a)),
    closeAll: () => {
      for (const c of all) c.destroy();
    },
  };
}
