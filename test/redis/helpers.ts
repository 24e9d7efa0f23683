/**
 * Redis face test helpers: a node with the Redis face on a random port, a
 * reference redis-server (Debian's) on a free port, and a raw RESP client
 * that sends bytes and reads whole replies — so a test can send the same
 * bytes to both and compare what comes back.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import type { ServerOptions } from '../../src/config/options.js';
import type { WeftServer } from '../../src/server/server.js';
import { startFaceNode } from '../helpers/face-node.js';
import { checkFor, within } from '../helpers/poll.js';

/** redis-server is installed (CI installs it: a missing one fails there). */
export const HAVE_REDIS = spawnSync('redis-server', ['--version']).status === 0;
if (!HAVE_REDIS && process.env.CI) throw new Error('redis-server is missing (.ci/run installs it)');
export const HAVE_REDIS_CLI = spawnSync('redis-cli', ['--version']).status === 0;

export interface RedisNode {
  readonly srv: WeftServer;
  readonly port: number;
  close(): Promise<void>;
}

/** A node on random ports with the Redis face on (JetStream off unless asked). */
export async function startRedisNode(opts: Partial<ServerOptions> = {}): Promise<RedisNode> {
  const n = await startFaceNode('redis', { jetstream: false, redisPort: 0 }, opts);
  return { srv: n.srv, port: n.port, close: n.close };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface ReferenceRedis {
  readonly port: number;
  stop(): void;
}

/** A redis-server 7 on a free port, in memory only; `args` are more of its options. */
export async function startReferenceRedis(args: string[] = []): Promise<ReferenceRedis> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
    { stdio: 'ignore' },
  );
  await checkFor(async () => {
    const c = await RawRedis.connect(port);
    try {
      // (With requirepass the answer is -NOAUTH: up all the same.)
      return /^(\+PONG|-NOAUTH)/.test(await c.call('PING\r\n'));
    } finally {
      c.close();
    }
  }, 10_000);
  return { port, stop: () => child.kill() };
}

/**
 * The length of the first whole RESP reply in `b` from `at` (RESP2 and
 * RESP3 types), or -1 when it is not complete yet.
 */
export function replyLength(b: Buffer, at = 0): number {
  if (at >= b.length) return -1;
  const lf = b.indexOf(0x0a, at);
  if (lf < 0) return -1;
  const type = String.fromCharCode(b[at]!);
  const line = b.toString('latin1', at + 1, lf - 1);
  const next = lf + 1;
  switch (type) {
    case '+':
    case '-':
    case ':':
    case '_':
    case ',':
    case '#':
    case '(':
      return next - at;
    case '$':
    case '=':
    case '!': {
      const n = Number(line);
      if (n < 0) return next - at;
      return b.length >= next + n + 2 ? next + n + 2 - at : -1;
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      let n = Number(line);
      if (n < 0) return next - at;
      if (type === '%' || type === '|') n *= 2;
      let pos = next;
      for (let i = 0; i < n; i++) {
        const len = replyLength(b, pos);
        if (len < 0) return -1;
        pos += len;
      }
      return pos - at;
    }
    default:
      throw new Error(`not RESP at ${at}: ${JSON.stringify(b.toString('latin1', at, at + 40))}`);
  }
}

/** A raw RESP connection: write bytes, read whole replies (as latin1 text). */
export class RawRedis {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => {});
  }

  static connect(port: number): Promise<RawRedis> {
    return new Promise((resolve, reject) => {
      const s = netConnect(port, '127.0.0.1', () => resolve(new RawRedis(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  write(wire: string | Buffer): void {
    this.sock.write(typeof wire === 'string' ? Buffer.from(wire, 'latin1') : wire);
  }

  /** The next `n` whole replies, joined (rejects after `ms`). */
  async read(n = 1, ms = 3000): Promise<string> {
    return within(
      (async () => {
        for (;;) {
          let pos = 0;
          let k = 0;
          while (k < n) {
            const len = replyLength(this.buf, pos);
            if (len < 0) break;
            pos += len;
            k++;
          }
          if (k === n) {
            const out = this.buf.toString('latin1', 0, pos);
            this.buf = this.buf.subarray(pos);
            return out;
          }
          if (this.closed) {
            throw new Error(
              `closed after ${k} of ${n} replies: ${JSON.stringify(this.buf.toString('latin1'))}`,
            );
          }
          await new Promise<void>((r) => this.waiters.push(r));
        }
      })(),
      ms,
      `${n} RESP replies`,
    );
  }

  /** Everything until the peer closes (rejects after `ms`). */
  async untilClose(ms = 3000): Promise<string> {
    return within(
      (async () => {
        while (!this.closed) await new Promise<void>((r) => this.waiters.push(r));
        const out = this.buf.toString('latin1');
        this.buf = Buffer.alloc(0);
        return out;
      })(),
      ms,
      'the close',
    );
  }

  /** Writes `wire` and reads `n` replies. */
  async call(wire: string | Buffer, n = 1): Promise<string> {
    this.write(wire);
    return this.read(n);
  }

  close(): void {
    this.sock.destroy();
  }
}

/** A request as RESP: an array of bulk strings. */
export function resp(...args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a, 'utf8') : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Replaces what differs between two servers by nature (ids, versions) before comparing. */
export function normalize(s: string): string {
  return s.replace(/\$2\r\nid\r\n:\d+\r\n/g, '$2\r\nid\r\n:N\r\n');
}
