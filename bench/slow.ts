/**
 * `npm run bench:slow`: slow consumers under load, Weft and nats-server in one
 * run, each with its default settings (only ports and a data directory set).
 *
 *   node dist/bench/slow.js [--stalled 1000] [--size 1024] [--only weft,nats] [--json out.json]
 *
 * Per server: a busy publisher floods `slow.busy` (`--size` B messages, as
 * fast as the server takes them); a healthy publisher/subscriber pair runs on
 * `slow.healthy` (16 B); a probe PINGs every 20 ms. After a baseline, N raw
 * sockets connect, SUB `slow.busy`, get their PONG and stop reading (paused:
 * the kernel buffers fill, then the server's). Measured until /varz
 * slow_consumers has counted all N (or `--max-seconds`): the time that took,
 * the server's peak RSS, the probe's slowest PING round trip, and the healthy
 * pair's delivery rate during the episode against the baseline.
 */

import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { readRssBytes } from '../src/bench/idle.js';
import { parseServerUrl, type ServerAddress } from '../src/bench/protocol.js';
import { bytes } from '../src/bench/stats.js';
import {
  ensureNatsServer,
  killAll,
  natsServerVersion,
  type ServerProc,
  startNatsServer,
  startWeft,
} from './servers.js';
import type { Role, WorkerReport } from './slow-worker.js';

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Options {
  stalled: number;
  size: number;
  baselineMs: number;
  maxMs: number;
}

export interface SlowResult {
  server: string;
  stalled: number;
  /** Stalled subscribers that got their PONG (then stopped reading). */
  subscribed: number;
  /** First stalled connect → /varz slow_consumers counted all of them, ms (null: not within the limit). */
  allClosedMs: number | null;
  slowConsumers: number;
  rssBeforeBytes: number;
  rssMaxBytes: number;
  pingMaxMs: number;
  pingP99Ms: number;
  pings: number;
  pingsOver100ms: number;
  /** Healthy deliveries/s: baseline, and during the episode. */
  healthyBaseline: number;
  healthyDuring: number;
  /** Healthy deliveries/s once the stalled subscribers are gone (second baseline). */
  healthyAfter: number;
  busyPublished: number;
  errors: string[];
}

interface Live {
  worker: Worker;
  ready: Promise<void>;
  done: Promise<Extract<WorkerReport, { kind: 'done' }>>;
}

function spawn(
  role: Role,
  addr: ServerAddress,
  subject: string,
  size: number,
  on: (r: WorkerReport) => void,
): Live {
  const worker = new Worker(new URL('./slow-worker.js', import.meta.url), {
    workerData: { role, addr, subject, size },
  });
  let ready!: () => void;
  let done!: (r: Extract<WorkerReport, { kind: 'done' }>) => void;
  const live: Live = {
    worker,
    ready: new Promise((r) => {
      ready = r;
    }),
    done: new Promise((r) => {
      done = r;
    }),
  };
  worker.on('message', (r: WorkerReport) => {
    if (r.kind === 'ready') ready();
    else if (r.kind === 'done') done(r);
    else on(r);
  });
  worker.on('error', (err) =>
    done({ kind: 'done', published: 0, received: 0, error: err.message }),
  );
  return live;
}

/** Connects, subscribes, waits for the PONG, then stops reading. */
function stalledSubscriber(addr: ServerAddress, subject: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: addr.host, port: addr.port });
    let seen = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no PONG within 10 s'));
    }, 10_000);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', (d: Buffer) => {
      seen += d.toString('latin1');
      if (seen.includes('PONG\r\n')) {
        clearTimeout(timer);
        socket.pause();
        socket.removeAllListeners('data');
        resolve(socket);
      } else if (seen.length > 8192) seen = seen.slice(-16);
    });
    socket.write(
      `CONNECT {"verbose":false,"pedantic":false,"name":"slow-bench-stalled"}\r\nSUB ${subject} 1\r\nPING\r\n`,
    );
  });
}

async function varz(httpPort: number): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/varz`);
  return (await res.json()) as Record<string, unknown>;
}

async function measure(server: ServerProc, o: Options): Promise<SlowResult> {
  const addr = parseServerUrl(server.url);
  const httpPort = server.httpPort!;
  const errors: string[] = [];
  const progress: [number, number][] = [];
  const pingSent = new Map<number, number>();
  const pingDone: [number, number][] = [];
  const onReport = (r: WorkerReport) => {
    if (r.kind === 'progress') progress.push([r.at, r.received]);
    else if (r.kind === 'ping') {
      if (r.rtt === undefined) pingSent.set(r.sent, r.sent);
      else {
        pingSent.delete(r.sent);
        pingDone.push([r.sent, r.rtt]);
      }
    }
  };
  const probe = spawn('probe', addr, '', 0, onReport);
  const healthy = spawn('healthy', addr, 'slow.healthy', 16, onReport);
  const busy = spawn('busy', addr, 'slow.busy', o.size, onReport);
  const workers = [probe, healthy, busy];
  await Promise.all(workers.map((w) => w.ready));

  const rssBefore = readRssBytes(server.pid);
  let rssMax = rssBefore;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      rssMax = Math.max(rssMax, readRssBytes(server.pid));
      await sleep(50);
    }
  })();

  const received = (t: number): number => {
    let last = 0;
    for (const [at, n] of progress) {
      if (at > t) break;
      last = n;
    }
    return last;
  };
  // Baseline: the second half of the baseline period (the first lets things settle).
  await sleep(o.baselineMs / 2);
  const b0 = Date.now();
  await sleep(o.baselineMs / 2);
  const b1 = Date.now();
  await sleep(60);
  const healthyBaseline = ((received(b1) - received(b0)) * 1000) / (b1 - b0);

  const before = Number((await varz(httpPort)).slow_consumers ?? 0);
  const t0 = Date.now();
  const sockets: net.Socket[] = [];
  for (let i = 0; i < o.stalled; i += 100) {
    const batch = await Promise.allSettled(
      Array.from({ length: Math.min(100, o.stalled - i) }, () =>
        stalledSubscriber(addr, 'slow.busy'),
      ),
    );
    for (const r of batch) {
      if (r.status === 'fulfilled') sockets.push(r.value);
      else if (errors.length < 5) errors.push(`stalled subscriber: ${(r.reason as Error).message}`);
    }
  }
  log(`${server.name}: ${sockets.length} stalled subscribers in ${Date.now() - t0} ms`);
  let allClosedMs: number | null = null;
  let slow = 0;
  while (Date.now() - t0 < o.maxMs) {
    slow = Number((await varz(httpPort)).slow_consumers ?? 0) - before;
    if (slow >= sockets.length) {
      allClosedMs = Date.now() - t0;
      break;
    }
    await sleep(100);
  }
  const t1 = Date.now();
  // The machine's other load drifts: the baseline is measured again once the
  // stalled subscribers are gone, and the two are averaged.
  await sleep(o.baselineMs / 2);
  const a0 = Date.now();
  await sleep(o.baselineMs / 2);
  const a1 = Date.now();
  await sleep(60);
  const healthyDuring = ((received(t1) - received(t0)) * 1000) / Math.max(1, t1 - t0);
  const healthyAfter = ((received(a1) - received(a0)) * 1000) / (a1 - a0);
  log(
    `${server.name}: ${slow}/${sockets.length} counted as slow consumers ${allClosedMs === null ? `(not all within ${o.maxMs} ms)` : `in ${allClosedMs} ms`}`,
  );
  for (const w of workers) w.worker.postMessage('stop');
  const end = Date.now();
  const results = await Promise.race([
    Promise.all(workers.map((w) => w.done)),
    sleep(10_000).then(() => null),
  ]);
  sampling = false;
  await sampler;
  for (const s of sockets) s.destroy();
  for (const w of workers) await w.worker.terminate();
  if (results === null) errors.push('workers did not stop within 10 s');
  for (const r of results ?? []) if (r.error) errors.push(r.error);
  // A PING still unanswered counts as taking until now.
  for (const sent of pingSent.values()) pingDone.push([sent, end - sent]);
  const episode = pingDone
    .filter(([sent]) => sent >= t0 - 100)
    .map(([, rtt]) => rtt)
    .sort((a, b) => a - b);
  return {
    server: server.name,
    stalled: o.stalled,
    subscribed: sockets.length,
    allClosedMs,
    slowConsumers: slow,
    rssBeforeBytes: rssBefore,
    rssMaxBytes: rssMax,
    pingMaxMs: episode.at(-1) ?? Number.NaN,
    pingP99Ms: episode[Math.floor(episode.length * 0.99)] ?? Number.NaN,
    pings: episode.length,
    pingsOver100ms: episode.filter((x) => x > 100).length,
    healthyBaseline,
    healthyDuring,
    healthyAfter,
    busyPublished: results?.[2]?.published ?? 0,
    errors,
  };
}

function table(rows: SlowResult[], o: Options): string {
  const f = (n: number) => n.toFixed(1);
  const lines = [
    `Slow consumers: ${o.stalled} subscribers stop reading on a subject flooded with ${o.size} B messages; default settings.`,
    '',
    '| server | counted as slow | all closed after | peak RSS (before) | PING max / p99 (> 100 ms) | healthy pair during / baseline (before, after) |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const base = (r.healthyBaseline + r.healthyAfter) / 2;
    const ratio = base > 0 ? r.healthyDuring / base : Number.NaN;
    lines.push(
      `| ${r.server} | ${r.slowConsumers}/${r.subscribed} | ${r.allClosedMs === null ? `> ${o.maxMs / 1000} s` : `${(r.allClosedMs / 1000).toFixed(2)} s`} | ${bytes(r.rssMaxBytes)} (${bytes(r.rssBeforeBytes)}) | ${f(r.pingMaxMs)} / ${f(r.pingP99Ms)} ms (${r.pingsOver100ms} of ${r.pings}) | ${(ratio * 100).toFixed(0)} % (${Math.round(r.healthyDuring)} / ${Math.round(r.healthyBaseline)}, ${Math.round(r.healthyAfter)} msgs/s) |`,
    );
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      stalled: { type: 'string', default: '1000' },
      size: { type: 'string', default: '1024' },
      baseline: { type: 'string', default: '3' },
      'max-seconds': { type: 'string', default: '20' },
      only: { type: 'string', default: 'nats,weft' },
      json: { type: 'string' },
    },
  });
  const o: Options = {
    stalled: Number(values.stalled),
    size: Number(values.size),
    baselineMs: Number(values.baseline) * 1000,
    maxMs: Number(values['max-seconds']) * 1000,
  };
  const mainJs = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const rows: SlowResult[] = [];
  for (const side of values.only!.split(',')) {
    let server: ServerProc;
    if (side === 'nats') {
      const bin = ensureNatsServer(log);
      if (bin === null) return 1;
      server = await startNatsServer(bin, true);
      server.name = `nats-server ${natsServerVersion(bin)}`;
    } else server = await startWeft(mainJs, ['--mesh-port', '-1'], 'weft', true);
    try {
      rows.push(await measure(server, o));
      if (server.exited()) rows.at(-1)!.errors.push(`server exited:\n${server.tail()}`);
    } finally {
      await server.stop();
    }
  }
  const out = table(rows, o);
  process.stdout.write(`${out}\n`);
  for (const r of rows) for (const e of r.errors) log(`${r.server}: ${e}`);
  if (values.json) writeFileSync(values.json, `${JSON.stringify({ options: o, rows }, null, 2)}\n`);
  return 0;
}

process.on('exit', killAll);
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    setImmediate(() => process.exit(code));
  },
  (err: unknown) => {
    log(`slow: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    killAll();
    process.exit(1);
  },
);
