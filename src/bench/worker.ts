/**
 * Entry point of a load-generator worker thread. One worker plays one role
 * (publisher, subscribers, responder, requester, idle connections) on its own
 * event loop, so the generator spreads over the cores the server leaves free.
 *
 * Lifecycle: connect and subscribe → post 'ready' → on 'start' run → post
 * 'done' with a report (on its own when finished, or when told to 'stop').
 */

import { workerData } from 'node:worker_threads';
import { BenchConn } from './conn.js';
import {
  COUNTER,
  emptyReport,
  type IdleTask,
  nowNs,
  type PubTask,
  type RequesterTask,
  type ResponderTask,
  type SubTask,
  type Task,
} from './messages.js';
import {
  batchCount,
  pubBatch,
  pubFrameLength,
  STAMP_BYTES,
  STAMP_MARK,
  subFrame,
} from './protocol.js';
import { spreadBatch, spreadPubSubjects, spreadSubSubjects } from './spread.js';
import { fail, finish, type Role, runWorker, send, stopped } from './worker-life.js';

const task = workerData as Task;
const counters = new Int32Array(task.counters);

async function setup(t: Task): Promise<Role> {
  switch (t.role) {
    case 'pub':
      return publisher(t);
    case 'sub':
      return subscribers(t);
    case 'responder':
      return responder(t);
    case 'requester':
      return requester(t);
    case 'idle':
      return idle(t);
  }
}

/** What one write of a publisher did: messages written, and whether the socket took them. */
interface Written {
  n: number;
  ok: boolean;
}

/**
 * A publisher's role: `writeNext(sent)` writes the next messages (at most
 * `t.count - sent`) and says how many; this loop counts them, waits for
 * `drain` when the socket is full, and flushes at the end.
 */
function publishingRole(
  t: PubTask,
  conn: BenchConn,
  writeNext: (socket: BenchConn['socket'], sent: number) => Written,
): Role {
  const report = emptyReport();
  conn.onClose((why) => fail(why));
  const run = async (): Promise<void> => {
    report.t0 = nowNs();
    send({ type: 'started', t0: report.t0 });
    const socket = conn.socket;
    while (report.sent < t.count && !stopped) {
      const { n, ok } = writeNext(socket, report.sent);
      report.sent += n;
      Atomics.store(counters, COUNTER.published, report.sent);
      if (!ok) await conn.drained();
    }
    if (stopped) return;
    await conn.flush();
    report.t1 = nowNs();
    finish();
  };
  return {
    start: () => {
      run().catch(fail);
    },
    report: () => {
      report.errors.push(...conn.errors);
      return report;
    },
    close: () => conn.close(),
  };
}

async function publisher(t: PubTask): Promise<Role> {
  if (t.spread !== undefined) return spreadPublisher(t);
  const conn = await BenchConn.open(t.addr, 'weft-bench-pub');
  conn.checkPayload(t.size);
  const frameLength = pubFrameLength(t.subject, t.size);
  const batch = pubBatch(t.subject, t.size, Math.min(batchCount(frameLength), t.count));
  const stamp = t.stamp && t.size >= STAMP_BYTES;
  return publishingRole(t, conn, (socket, sent) => {
    const n = Math.min(batch.count, t.count - sent);
    if (!stamp) {
      return {
        n,
        ok: socket.write(n === batch.count ? batch.buf : batch.buf.subarray(0, n * frameLength)),
      };
    }
    // The batch's first message carries the time it was handed to the
    // socket; the rest are the shared, never-mutated template.
    const first = Buffer.allocUnsafe(frameLength);
    batch.buf.copy(first, 0, 0, frameLength);
    first[batch.payloadOffset] = STAMP_MARK;
    first.writeBigUInt64LE(process.hrtime.bigint(), batch.payloadOffset + 1);
    socket.cork();
    let ok = socket.write(first);
    if (n > 1) ok = socket.write(batch.buf.subarray(frameLength, n * frameLength));
    socket.uncork();
    return { n, ok };
  });
}

/** A publisher that cycles through the spread's subjects, one frame each (no stamps). */
async function spreadPublisher(t: PubTask): Promise<Role> {
  const conn = await BenchConn.open(t.addr, 'weft-bench-pub');
  conn.checkPayload(t.size);
  const all = spreadBatch(spreadPubSubjects(t.subject, t.spread!), t.size);
  const perWrite = batchCount(all.frameLength);
  return publishingRole(t, conn, (socket, sent) => {
    const at = sent % all.count;
    const n = Math.min(perWrite, all.count - at, t.count - sent);
    return {
      n,
      ok: socket.write(all.buf.subarray(at * all.frameLength, (at + n) * all.frameLength)),
    };
  });
}

async function subscribers(t: SubTask): Promise<Role> {
  const conns: BenchConn[] = [];
  const received: number[] = [];
  const firstNs: number[] = [];
  const lastNs: number[] = [];
  let latency = new Float64Array(1024);
  let samples = 0;
  const sub =
    t.spread === undefined
      ? subFrame(t.subject, 1, t.queue)
      : Buffer.concat(spreadSubSubjects(t.subject, t.spread).map((s, k) => subFrame(s, k + 1)));
  try {
    for (let i = 0; i < t.conns; i++) {
      const conn = await BenchConn.open(t.addr, `weft-bench-sub-${t.first + i}`);
      conns.push(conn);
      conn.socket.write(sub);
    }
    // One round trip each: the server has registered the SUB before 'ready'.
    await Promise.all(conns.map((c) => c.flush()));
  } catch (err) {
    for (const c of conns) c.close();
    throw err;
  }
  conns.forEach((conn, i) => {
    const slot = COUNTER.subs + t.first + i;
    received.push(0);
    firstNs.push(0);
    lastNs.push(0);
    const scanner = conn.scanner;
    // Registered after the scanner's own 'data' listener, so counts are current.
    conn.socket.on('data', () => {
      const m = scanner.msgs;
      if (m === received[i]) return;
      const now = nowNs();
      if (firstNs[i] === 0) firstNs[i] = now;
      lastNs[i] = now;
      received[i] = m;
      Atomics.store(counters, slot, m);
    });
    if (t.stamp) {
      scanner.onMsg = (_l, _ls, _le, p, ps, pe) => {
        if (p[ps] !== STAMP_MARK || pe - ps < STAMP_BYTES) return;
        const us = Number(process.hrtime.bigint() - p.readBigUInt64LE(ps + 1)) / 1000;
        if (samples === latency.length) {
          const bigger = new Float64Array(latency.length * 2);
          bigger.set(latency);
          latency = bigger;
        }
        latency[samples++] = us;
      };
    }
    conn.onClose((why) => fail(`subscriber ${t.first + i}: ${why}`));
  });
  return {
    report: () => {
      const report = emptyReport();
      report.received = received.slice();
      report.firstNs = firstNs.slice();
      report.lastNs = lastNs.slice();
      report.latencyUs = latency.slice(0, samples);
      for (const c of conns) report.errors.push(...c.errors);
      return report;
    },
    close: () => {
      for (const c of conns) c.close();
    },
  };
}

async function responder(t: ResponderTask): Promise<Role> {
  const conn = await BenchConn.open(t.addr, 'weft-bench-responder');
  conn.socket.write(subFrame(t.subject, 1));
  await conn.flush();
  const report = emptyReport();
  const crlf = Buffer.from('\r\n');
  conn.scanner.onMsg = (line, ls, le, p, ps, pe) => {
    // MSG <subject> <sid> [reply] <#bytes>: request-reply is latency-bound,
    // so a small allocation per request is fine here.
    const tokens = line.toString('latin1', ls, le).trim().split(' ');
    if (tokens.length !== 5) return;
    const head = Buffer.from(`PUB ${tokens[3]} ${pe - ps}\r\n`);
    conn.socket.write(Buffer.concat([head, p.subarray(ps, pe), crlf]));
    report.sent++;
  };
  conn.onClose((why) => fail(`responder: ${why}`));
  return {
    report: () => {
      report.errors.push(...conn.errors);
      return report;
    },
    close: () => conn.close(),
  };
}

async function requester(t: RequesterTask): Promise<Role> {
  const conn = await BenchConn.open(t.addr, 'weft-bench-requester');
  conn.checkPayload(t.size);
  const inbox = `_INBOX.weftbench.${Math.random().toString(36).slice(2, 12)}`;
  conn.socket.write(subFrame(inbox, 1));
  await conn.flush();
  const request = pubBatch(t.subject, t.size, 1, inbox).buf;
  const latency = new Float64Array(t.count);
  const report = emptyReport();
  let done = 0;
  let sentAt = 0;
  const next = (): void => {
    report.sent++;
    sentAt = performance.now();
    conn.socket.write(request);
  };
  // Sequential: the reply to request i triggers request i + 1 from the scanner
  // callback itself, with no promise or timer in between.
  conn.scanner.onMsg = () => {
    if (done >= report.sent) return; // stray
    latency[done++] = (performance.now() - sentAt) * 1000;
    Atomics.store(counters, COUNTER.published, done);
    if (done >= t.count || stopped) {
      report.t1 = nowNs();
      finish();
    } else next();
  };
  conn.onClose((why) => fail(`requester: ${why}`));
  return {
    start: () => {
      report.t0 = nowNs();
      send({ type: 'started', t0: report.t0 });
      if (t.count > 0) next();
      else finish();
    },
    report: () => {
      report.received = [done];
      report.latencyUs = latency.slice(0, done);
      report.errors.push(...conn.errors);
      return report;
    },
    close: () => conn.close(),
  };
}

async function idle(t: IdleTask): Promise<Role> {
  const conns: BenchConn[] = [];
  const errors: string[] = [];
  let next = 0;
  const opener = async (): Promise<void> => {
    while (next < t.conns && !stopped && errors.length < 10) {
      next++;
      try {
        const conn = await BenchConn.open(t.addr, 'weft-bench-idle', 30_000);
        conns.push(conn);
        Atomics.add(counters, COUNTER.opened, 1);
        conn.onClose((why) => {
          Atomics.sub(counters, COUNTER.opened, 1);
          if (errors.length < 10) errors.push(`idle connection closed: ${why}`);
        });
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, t.concurrency) }, opener));
  return {
    report: () => {
      const report = emptyReport();
      report.opened = conns.filter((c) => !c.closed).length;
      report.errors = errors;
      return report;
    },
    close: () => {
      for (const c of conns) c.close();
    },
  };
}

runWorker(setup(task));
