/**
 * The Redis benchmark harness (bench/redis.ts and the rows other files add:
 * bench/redis-streams.ts, XREADGROUP rows): raw RESP connections, a reply
 * counter that reads any RESP reply, a pipelined command generator with a
 * window of commands in flight, a pub/sub generator, and the two servers —
 * redis-server 7 (Debian's) and a Weft node with --redis-port — started on
 * free loopback ports. Same generator for both servers.
 */
import { spawnSync } from 'node:child_process';
import { connect as netConnect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, type ServerProc, startListening, startWeft, which } from './servers.js';

export interface RedisAddr {
  readonly host: string;
  readonly port: number;
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

/**
 * Counts whole RESP replies in a stream (any type, nested), keeping the
 * bytes of an incomplete one for the next chunk. `errors` counts top-level
 * error replies (`-…`), `lastError` keeps the last one's text.
 */
export class ReplyCounter {
  private rest: Buffer | null = null;
  count = 0;
  errors = 0;
  lastError = '';

  feed(chunk: Buffer): number {
    const b = this.rest === null ? chunk : Buffer.concat([this.rest, chunk]);
    let pos = 0;
    let n = 0;
    for (;;) {
      const len = replyLength(b, pos);
      if (len < 0) break;
      if (b[pos] === 0x2d) {
        this.errors++;
        this.lastError = b.toString('latin1', pos + 1, pos + len - 2);
      }
      pos += len;
      n++;
    }
    this.rest = pos < b.length ? b.subarray(pos) : null;
    this.count += n;
    return n;
  }
}

/** The length of the whole RESP reply at `at`, or -1 when it is not complete. */
export function replyLength(b: Buffer, at: number): number {
  if (at >= b.length) return -1;
  const lf = b.indexOf(0x0a, at);
  if (lf < 0) return -1;
  const type = b[at]!;
  const next = lf + 1;
  // + - : _ , # (
  if (
    type === 0x2b ||
    type === 0x2d ||
    type === 0x3a ||
    type === 0x5f ||
    type === 0x2c ||
    type === 0x23 ||
    type === 0x28
  ) {
    return next - at;
  }
  let n = 0;
  let neg = false;
  for (let i = at + 1; i < lf - 1; i++) {
    const c = b[i]!;
    if (c === 0x2d) neg = true;
    else n = n * 10 + (c - 0x30);
  }
  // $ = !
  if (type === 0x24 || type === 0x3d || type === 0x21) {
    if (neg) return next - at;
    return b.length >= next + n + 2 ? next + n + 2 - at : -1;
  }
  if (neg) return next - at;
  // % | : pairs
  if (type === 0x25 || type === 0x7c) n *= 2;
  let pos = next;
  for (let i = 0; i < n; i++) {
    const len = replyLength(b, pos);
    if (len < 0) return -1;
    pos += len;
  }
  return pos - at;
}

export function openConn(addr: RedisAddr, timeoutMs = 3000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: addr.host, port: addr.port, noDelay: true });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no connection to ${addr.host}:${addr.port} in ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Sends `wire` and resolves with the next `n` replies' bytes. */
export function call(s: Socket, wire: Buffer, n = 1, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const counter = new ReplyCounter();
    let got = '';
    const timer = setTimeout(() => {
      s.off('data', onData);
      reject(new Error(`no reply in ${timeoutMs} ms (got ${JSON.stringify(got.slice(0, 200))})`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      got += d.toString('latin1');
      if (counter.feed(d) >= 0 && counter.count >= n) {
        clearTimeout(timer);
        s.off('data', onData);
        resolve(got);
      }
    };
    s.on('data', onData);
    s.write(wire);
  });
}

export interface RunResult {
  /** Operations (or deliveries) per second. */
  readonly perSec: number;
  readonly elapsedMs: number;
  /** Finished before the deadline, with no error reply. */
  readonly complete: boolean;
  /** Why not. */
  readonly ended: string;
}

/**
 * Sends `total` commands made by `make(i)` on one connection, at most
 * `depth` unanswered, and counts the replies; resolves when all are
 * answered (or at `deadlineMs`). As redis-benchmark -P <depth>: a batch of
 * `depth` commands in one write, the next once all of it is answered.
 */
export async function runPipelined(opts: {
  addr: RedisAddr;
  total: number;
  depth: number;
  make: (i: number) => Buffer;
  deadlineMs?: number;
  setup?: Buffer[];
}): Promise<RunResult> {
  const s = await openConn(opts.addr);
  try {
    for (const w of opts.setup ?? []) await call(s, w);
    const counter = new ReplyCounter();
    let sent = 0;
    const t0 = performance.now();
    const done = new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), opts.deadlineMs ?? 120_000);
      const fill = () => {
        // As redis-benchmark -P: the next batch once the last is all answered.
        if (sent !== counter.count) return;
        const room = Math.min(opts.depth, opts.total - sent);
        if (room <= 0) return;
        const batch: Buffer[] = [];
        for (let k = 0; k < room; k++) batch.push(opts.make(sent + k));
        sent += room;
        s.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch));
      };
      s.on('data', (d: Buffer) => {
        counter.feed(d);
        if (counter.count >= opts.total) {
          clearTimeout(timer);
          resolve('done');
          return;
        }
        fill();
      });
      s.on('close', () => resolve('closed'));
      fill();
    });
    const ended = await done;
    const elapsedMs = performance.now() - t0;
    const complete = ended === 'done' && counter.errors === 0;
    return {
      perSec: (counter.count / elapsedMs) * 1000,
      elapsedMs,
      complete,
      ended: counter.errors > 0 ? `${counter.errors} errors: ${counter.lastError}` : ended,
    };
  } finally {
    s.destroy();
  }
}

/**
 * PUBLISH to `subs` subscribers of one channel: `total` publishes of
 * `size`-byte payloads in batches of `depth` (redis-benchmark -P); resolves when every
 * subscriber has every message (counted by bytes: each message is one
 * frame of known size). `perSec` counts messages delivered.
 */
export async function runPubSub(opts: {
  addr: RedisAddr;
  total: number;
  subs: number;
  size: number;
  depth: number;
  /** Publishing connections, each sending its share in batches of `depth` (default 1). */
  publishers?: number;
  deadlineMs?: number;
}): Promise<RunResult> {
  const channel = `bench.${process.pid}`;
  const payload = Buffer.alloc(opts.size, 0x78);
  const frame =
    Buffer.byteLength(
      `*3\r\n$7\r\nmessage\r\n$${channel.length}\r\n${channel}\r\n$${opts.size}\r\n`,
    ) +
    opts.size +
    2;
  const subs: Socket[] = [];
  const pubs: Socket[] = [];
  try {
    for (let i = 0; i < opts.subs; i++) {
      const s = await openConn(opts.addr);
      subs.push(s);
      await call(s, resp('SUBSCRIBE', channel));
    }
    const np = opts.publishers ?? 1;
    for (let i = 0; i < np; i++) pubs.push(await openConn(opts.addr));
    const total = Math.floor(opts.total / np) * np;
    const want = total * frame;
    const got = new Array<number>(opts.subs).fill(0);
    let finished = 0;
    const command = resp('PUBLISH', channel, payload);
    const batch = Buffer.concat(Array.from({ length: opts.depth }, () => command));
    let errors = 0;
    let lastError = '';
    const t0 = performance.now();
    const ended = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), opts.deadlineMs ?? 120_000);
      subs.forEach((s, i) => {
        s.on('data', (d: Buffer) => {
          got[i]! += d.length;
          if (got[i] === want && ++finished === opts.subs) {
            clearTimeout(timer);
            resolve('done');
          }
        });
        s.on('close', () => resolve(`subscriber ${i} closed`));
      });
      for (const pub of pubs) {
        const counter = new ReplyCounter();
        const mine = total / np;
        let sent = 0;
        const fill = () => {
          // As redis-benchmark -P: the next batch once the last is all answered.
          if (sent !== counter.count) return;
          const room = Math.min(opts.depth, mine - sent);
          if (room <= 0) return;
          sent += room;
          pub.write(
            room === opts.depth
              ? batch
              : Buffer.concat(Array.from({ length: room }, () => command)),
          );
        };
        pub.on('data', (d: Buffer) => {
          counter.feed(d);
          if (counter.errors > errors) {
            errors = counter.errors;
            lastError = counter.lastError;
          }
          fill();
        });
        pub.on('close', () => resolve('publisher closed'));
        fill();
      }
    });
    const elapsedMs = performance.now() - t0;
    const delivered = got.reduce((a, b) => a + b, 0) / frame;
    return {
      perSec: (delivered / elapsedMs) * 1000,
      elapsedMs,
      complete: ended === 'done' && errors === 0,
      ended: errors > 0 ? `${errors} errors: ${lastError}` : ended,
    };
  } finally {
    for (const s of [...pubs, ...subs]) s.destroy();
  }
}

/** `redis-server --version`: "Redis server v=7.0.15 …". */
export function redisServerVersion(bin: string): string {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return /v=(\S+)/.exec(String(r.stdout))?.[1] ?? 'unknown';
}

/** Waits until `addr` answers PING (or a NOAUTH). */
async function answering(addr: RedisAddr, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms;
  for (;;) {
    try {
      const s = await openConn(addr, 1000);
      try {
        const r = await call(s, resp('PING'), 1, 1000);
        if (/^(\+PONG|-NOAUTH)/.test(r)) return;
      } finally {
        s.destroy();
      }
    } catch (err) {
      if (performance.now() > deadline) throw err;
    }
    await sleep(100);
  }
}

export interface RedisServers {
  redis?: { proc: ServerProc; addr: RedisAddr; version: string };
  weft?: { proc: ServerProc; addr: RedisAddr };
  notes: string[];
  stop(): Promise<void>;
}

/**
 * redis-server (in memory, `redisArgs` appended: `--appendonly yes
 * --appendfsync everysec` for a durable comparison) and a Weft node with
 * `--redis-port` (`weftArgs` appended); a missing or failing side is a note.
 */
export async function startRedisServers(
  mainJs: string,
  opts: { redisArgs?: string[]; weftArgs?: string[] } = {},
): Promise<RedisServers> {
  const out: RedisServers = {
    notes: [],
    stop: async () => {
      await Promise.all([out.redis?.proc.stop(), out.weft?.proc.stop()]);
    },
  };
  const bin = which('redis-server');
  if (bin === null) {
    out.notes.push(
      'redis-server rows skipped: redis-server is not installed (Debian: apt-get install redis-server)',
    );
  } else {
    const port = await freePort();
    const proc = await startListening(
      'redis-server',
      bin,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        ...(opts.redisArgs ?? []),
      ],
      port,
    );
    const addr = { host: '127.0.0.1', port };
    await answering(addr);
    out.redis = { proc, addr, version: redisServerVersion(bin) };
  }
  const port = await freePort();
  try {
    const proc = await startWeft(
      mainJs,
      ['--mesh-port', '-1', '--redis-port', String(port), ...(opts.weftArgs ?? [])],
      'weft-redis',
    );
    const addr = { host: '127.0.0.1', port };
    await answering(addr);
    out.weft = { proc, addr };
  } catch (err) {
    out.notes.push(`Weft Redis rows skipped: ${(err as Error).message.split('\n')[0]}`);
  }
  return out;
}
