/**
 * A raw NATS client over WebSocket for wire-level tests: the `ws` library
 * with the request headers a browser would send (Cookie, Origin), exact
 * bytes out in binary or text frames, and everything the server sends
 * kept as one text, consumed line by line in order.
 */
import { WebSocket } from 'ws';

export class RawWsClient {
  /** The INFO the server sent first (set by `open`). */
  info: Record<string, unknown> = {};
  /** How the server closed the WebSocket (code), once it did. */
  closeCode: number | null = null;
  private text = '';
  private wake: (() => void) | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer) => {
      this.text += d.toString('latin1');
      this.wake?.();
    });
    ws.on('close', (code: number) => {
      this.closeCode = code;
      this.wake?.();
    });
    ws.on('error', () => {});
  }

  /** Connects to `url` with `headers`, and reads the INFO line. */
  static async open(
    url: string,
    opts: { headers?: Record<string, string>; localAddress?: string } = {},
  ): Promise<RawWsClient> {
    const ws = new WebSocket(url, {
      headers: opts.headers,
      ...(opts.localAddress === undefined ? {} : { localAddress: opts.localAddress }),
    });
    const c = new RawWsClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`upgrade refused: ${res.statusCode}`)),
      );
      ws.once('error', reject);
    });
    const line = await c.nextLine();
    const m = /^INFO (\{.*\})\s*$/.exec(line);
    if (m === null) throw new Error(`expected INFO first, got ${JSON.stringify(line)}`);
    c.info = JSON.parse(m[1]!) as Record<string, unknown>;
    return c;
  }

  send(data: string | Buffer, binary = true): void {
    this.ws.send(data, { binary });
  }

  /** The next line the server sent (without CRLF); throws on close or after `ms`. */
  async nextLine(ms = 3000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.text.indexOf('\r\n');
      if (i >= 0) {
        const line = this.text.slice(0, i);
        this.text = this.text.slice(i + 2);
        return line;
      }
      if (this.closeCode !== null) throw new Error(`closed (${this.closeCode}) before a line`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line within ${ms} ms; have ${JSON.stringify(this.text)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Waits for the server to close the WebSocket; its close code. */
  async closed(ms = 3000): Promise<number> {
    const deadline = Date.now() + ms;
    while (this.closeCode === null) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`not closed within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.closeCode;
  }

  /** CONNECT with `fields`, then PING: the first line back (PONG, or the -ERR). */
  async connect(fields: Record<string, unknown> = {}): Promise<string> {
    this.send(`CONNECT ${JSON.stringify({ verbose: false, ...fields })}\r\nPING\r\n`);
    return this.nextLine();
  }

  close(): void {
    this.ws.terminate();
  }
}
