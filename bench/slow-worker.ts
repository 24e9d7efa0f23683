/**
 * The live parts of the slow-consumer benchmark (bench/slow.ts), each in its
 * own thread so that none of them waits on another's event loop:
 *
 * - `busy`: publishes to the busy subject as fast as the server takes it
 *   (batches of about 64 KiB, each followed by PING, two batches in flight);
 * - `healthy`: a publisher and a subscriber on another subject, 16 B
 *   messages, the same flow control; reports deliveries every 50 ms;
 * - `probe`: a PING every 20 ms (the next one after the PONG), and the round
 *   trip of each, with the time it was sent.
 *
 * Each runs until the main thread posts 'stop', then posts its totals.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BenchConn } from '../src/bench/conn.js';
import { batchCount, pubBatch, type ServerAddress, subFrame } from '../src/bench/protocol.js';

export type Role = 'busy' | 'healthy' | 'probe';

export interface WorkerInput {
  role: Role;
  addr: ServerAddress;
  subject: string;
  size: number;
}

export type WorkerReport =
  | { kind: 'ready' }
  | { kind: 'progress'; at: number; received: number }
  /** A probe PING was sent at `sent` (ms since the epoch); `rtt` once its PONG is back. */
  | { kind: 'ping'; sent: number; rtt?: number }
  | { kind: 'done'; published: number; received: number; error?: string };

const input = workerData as WorkerInput;
const port = parentPort!;
let stopping = false;
port.on('message', (m) => {
  if (m === 'stop') stopping = true;
});

const post = (r: WorkerReport) => port.postMessage(r);

/** Publishes batches of `size`-byte messages until stopped; PING after each, two in flight. */
async function publishLoop(conn: BenchConn, subject: string, size: number): Promise<number> {
  const frame = pubBatch(subject, size, 1).frameLength;
  const batch = pubBatch(subject, size, batchCount(frame, 64 * 1024));
  let published = 0;
  const inFlight: Promise<void>[] = [];
  while (!stopping && !conn.closed) {
    conn.socket.write(batch.buf);
    inFlight.push(conn.flush());
    published += batch.count;
    if (inFlight.length >= 2) await inFlight.shift();
  }
  await Promise.allSettled(inFlight);
  return published;
}

async function main(): Promise<void> {
  const { role, addr, subject, size } = input;
  let published = 0;
  let received = 0;
  // A connection of ours the server closed is an error of the run, not a slow consumer to count.
  const cut: string[] = [];
  const watch = (c: BenchConn, what: string) =>
    c.onClose((why) => {
      if (!stopping) cut.push(`${what} closed by the server: ${why}`);
    });
  try {
    if (role === 'busy') {
      const pub = await BenchConn.open(addr, 'slow-bench-busy');
      watch(pub, 'busy publisher');
      post({ kind: 'ready' });
      published = await publishLoop(pub, subject, size);
      pub.close();
    } else if (role === 'healthy') {
      const sub = await BenchConn.open(addr, 'slow-bench-healthy-sub');
      watch(sub, 'healthy subscriber');
      sub.scanner.onMsg = () => {
        received++;
      };
      sub.socket.write(subFrame(subject, 1));
      await sub.flush();
      const timer = setInterval(() => post({ kind: 'progress', at: Date.now(), received }), 50);
      const pub = await BenchConn.open(addr, 'slow-bench-healthy-pub');
      watch(pub, 'healthy publisher');
      post({ kind: 'ready' });
      published = await publishLoop(pub, subject, size);
      await sub.flush().catch(() => {});
      clearInterval(timer);
      post({ kind: 'progress', at: Date.now(), received });
      pub.close();
      sub.close();
    } else {
      const conn = await BenchConn.open(addr, 'slow-bench-probe');
      watch(conn, 'probe');
      post({ kind: 'ready' });
      while (!stopping && !conn.closed) {
        const sent = Date.now();
        const t0 = performance.now();
        post({ kind: 'ping', sent });
        await conn.flush();
        post({ kind: 'ping', sent, rtt: performance.now() - t0 });
        await new Promise((r) => setTimeout(r, 20));
      }
      conn.close();
    }
    post({ kind: 'done', published, received, error: cut.join('; ') || undefined });
  } catch (err) {
    post({ kind: 'done', published, received, error: (err as Error).message });
  }
}

void main();
