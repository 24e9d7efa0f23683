/**
 * The HTTP part of `npm run bench` (issue 13): HTTP publish with keep-alive,
 * 64 connections, 16 B bodies, driven by `autocannon` (programmatic), Weft's
 * `POST /v1/publish/{subject}` against a bare `node:http` server that reads
 * the body and answers 200 — the ceiling of HTTP on this runtime, same
 * machine, each in its own process. Rounds alternate the two; the medians
 * of requests per second are compared (target ≥ 0.8×).
 *
 *   node dist/bench/compare.js --only http-pub [--http-seconds N] [--http-rounds N]
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { micros, si } from '../src/bench/stats.js';
import { freePort, type ServerProc, startListening, startWeft } from './servers.js';

export const HTTP_IDS = ['http-pub'];

/** What autocannon's result gives that we read. */
interface CannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  throughput: { average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Cannon = (opts: Record<string, unknown>) => Promise<CannonResult>;

const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as Cannon;

/** The baseline: node:http, nothing but read the body and answer 200 (as Weft: keep-alive 5 s). */
const BARE = `
const http = require('node:http');
const s = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => { res.writeHead(200, { 'Content-Length': 0 }); res.end(); });
});
s.keepAliveTimeout = 5000;
s.listen(Number(process.argv[1]), '127.0.0.1');
`;

export interface HttpRound {
  side: 'bare' | 'weft';
  rps: number;
  /** The server process's CPU time (user + system) per request, µs: steadier than req/s on a shared machine. */
  cpuUsPerReq: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

export interface HttpMeasured {
  connections: number;
  seconds: number;
  rounds: HttpRound[];
}

interface Group {
  mainJs: string;
  quick: boolean;
  only: string[];
  problems: string[];
  log: (line: string) => void;
  /** Seconds per measured run (default 10; quick 3). */
  seconds?: number;
  /** Rounds of the pair (default 3). */
  rounds?: number;
}

const CONNECTIONS = 64;

/** A process's CPU time so far (user + system), ms; 0 where /proc is not there. */
function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * (1000 / 100);
  } catch {
    return 0;
  }
}
const BODY = 'x'.repeat(16);

async function fire(url: string, seconds: number): Promise<CannonResult> {
  return autocannon({
    url,
    method: 'POST',
    body: BODY,
    headers: { 'content-type': 'application/octet-stream' },
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
  });
}

export async function runHttp(g: Group): Promise<HttpMeasured> {
  const seconds = g.seconds ?? (g.quick ? 3 : 10);
  const roundsN = g.rounds ?? 3;
  const out: HttpMeasured = { connections: CONNECTIONS, seconds, rounds: [] };
  const barePort = await freePort();
  const weftPort = await freePort();
  let bare: ServerProc | null = null;
  let weft: ServerProc | null = null;
  try {
    bare = await startListening(
      'node-http',
      process.execPath,
      ['-e', BARE, String(barePort)],
      barePort,
    );
    weft = await startWeft(g.mainJs, ['--http-api-port', String(weftPort)], 'weft-http');
    const urls = {
      bare: `http://127.0.0.1:${barePort}/v1/publish/bench.http`,
      weft: `http://127.0.0.1:${weftPort}/v1/publish/bench.http`,
    };
    for (const side of ['bare', 'weft'] as const) await fire(urls[side], 1);
    for (let i = 0; i < roundsN; i++) {
      for (const side of ['bare', 'weft'] as const) {
        g.log(`http-pub: round ${i + 1}/${roundsN}, ${side}, ${seconds}s`);
        const pid = (side === 'bare' ? bare : weft).pid;
        const before = cpuMs(pid);
        const r = await fire(urls[side], seconds);
        const cpu = cpuMs(pid) - before;
        out.rounds.push({
          side,
          rps: r.requests.average,
          cpuUsPerReq: r.requests.total > 0 ? (cpu * 1000) / r.requests.total : 0,
          p50Ms: r.latency.p50,
          p99Ms: r.latency.p99,
          non2xx: r.non2xx,
          errors: r.errors + r.timeouts,
        });
        if (r.non2xx > 0 || r.errors > 0) {
          g.problems.push(`http-pub ${side}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
        }
      }
    }
  } finally {
    await bare?.stop();
    await weft?.stop();
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function renderHttpTable(m: HttpMeasured): string {
  const of = (side: 'bare' | 'weft') => m.rounds.filter((r) => r.side === side);
  const bare = of('bare');
  const weft = of('weft');
  const bareRps = median(bare.map((r) => r.rps));
  const weftRps = median(weft.map((r) => r.rps));
  const ratio = bareRps > 0 ? weftRps / bareRps : 0;
  const row = (label: string, rs: HttpRound[]) =>
    `| ${label} | ${si(median(rs.map((r) => r.rps)))} req/s | ${rs.map((r) => si(r.rps)).join(' / ')} | ${median(rs.map((r) => r.cpuUsPerReq)).toFixed(1)} µs | ${micros(median(rs.map((r) => r.p50Ms)) * 1000)} | ${micros(median(rs.map((r) => r.p99Ms)) * 1000)} |`;
  return [
    `HTTP publish, keep-alive, ${m.connections} connections, 16 B bodies (autocannon; ${bare.length} rounds of ${m.seconds}s, medians)`,
    '',
    '| server | median | rounds | server CPU per request | p50 | p99 |',
    '|---|---|---|---|---|---|',
    row('bare node:http (200)', bare),
    row('Weft POST /v1/publish (202)', weft),
    '',
    `Weft / bare node:http: **${ratio.toFixed(2)}×** (target ≥ 0.80×); by server CPU per request: ${(median(bare.map((r) => r.cpuUsPerReq)) / Math.max(1e-9, median(weft.map((r) => r.cpuUsPerReq)))).toFixed(2)}×`,
  ].join('\n');
}
