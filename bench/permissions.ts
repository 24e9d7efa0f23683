/**
 * The permissions part of `npm run bench`: 1→1 pub/sub of 16 B as a user
 * with 100 publish and 100 subscribe rules, against the same as a user
 * without permissions, on one Weft node (a Weft-vs-Weft ratio; the target
 * is a cost of at most 10 %). The benchmark's subject is allowed only by the
 * last rule of each list, so a decision the cache misses looks at all 100.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { readCpuMs } from '../src/bench/idle.js';
import { parseServerUrl } from '../src/bench/protocol.js';
import { formatProgress, markdownTable } from '../src/bench/report.js';
import { type BenchResult, headline, runBench } from '../src/bench/runner.js';
import { si } from '../src/bench/stats.js';
import { type ServerProc, startWeft } from './servers.js';

export const PERMISSION_IDS = ['perms-100'];

/** Rules per direction for the `ruled` user. */
export const RULES = 100;

/** Measured runs per user (alternating); the best counts. */
const ROUNDS = 4;

type Who = 'open' | 'ruled';

/** A run, and the server's CPU time per delivered message (µs): robust when the machine is busy. */
export type PermResult = BenchResult & { cpuUsPerMsg: number };

export interface PermissionsMeasured {
  /** The run with the best throughput per user. */
  runs: Partial<Record<Who, PermResult>>;
  /** The least server CPU per message over the runs, µs. */
  cpuUsPerMsg: Partial<Record<Who, number>>;
  rules: number;
}

export interface PermissionsContext {
  mainJs: string;
  msgs: number;
  problems: string[];
  log: (line: string) => void;
  status: (text: string) => void;
  clearStatus: () => void;
  live: boolean;
}

/** 99 rules that never match the benchmark's subjects (`weft.bench.…`), then one that does. */
export function benchRules(n = RULES): string[] {
  const rules: string[] = [];
  for (let i = 0; rules.length < n - 1; i++) {
    rules.push(i % 3 === 0 ? `app${i}.>` : i % 3 === 1 ? `weft.other${i}.*` : `*.bench${i}.>`);
  }
  rules.push('weft.bench.>');
  return rules;
}

/** The config: a user with no permissions and one with RULES rules per direction. */
export function benchConfig(): Record<string, unknown> {
  const rules = benchRules();
  return {
    authorization: {
      users: [
        { user: 'open', password: 'bench' },
        {
          user: 'ruled',
          password: 'bench',
          permissions: { publish: { allow: rules }, subscribe: { allow: rules } },
        },
      ],
    },
  };
}

export async function runPermissions(ctx: PermissionsContext): Promise<PermissionsMeasured> {
  const m: PermissionsMeasured = { runs: {}, cpuUsPerMsg: {}, rules: RULES };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'weft-bench-perms-'));
  let server: ServerProc | undefined;
  try {
    const config = path.join(dir, 'weft.yaml');
    // JSON is YAML.
    writeFileSync(config, JSON.stringify(benchConfig(), null, 2));
    server = await startWeft(ctx.mainJs, ['--mesh-port', '-1', '--config', config]);
    await checkEnforced(server);
    const users: Who[] = ['open', 'ruled'];
    // Not measured: lets V8 compile both paths.
    for (const who of users) {
      await permRun(ctx, server, who, Math.min(ctx.msgs, 200_000)).catch(() => {});
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const who of users) {
        const r = await permRun(ctx, server, who, ctx.msgs);
        if (r.complete && r.cpuUsPerMsg > 0) {
          m.cpuUsPerMsg[who] = Math.min(m.cpuUsPerMsg[who] ?? Infinity, r.cpuUsPerMsg);
        }
        const best = m.runs[who];
        if (best === undefined || !r.complete || headline(r) > headline(best)) {
          if (best === undefined || best.complete) m.runs[who] = r;
        }
        ctx.log(
          `perms-100 ${who.padEnd(6)} ${si(headline(r))} msgs/s, server CPU ${r.cpuUsPerMsg.toFixed(2)} µs/msg${r.complete ? '' : ` [${r.ended}]`}`,
        );
        if (!r.complete) {
          ctx.problems.push(`perms-100 ${who}: ${r.ended}, ${r.errors.join('; ') || 'incomplete'}`);
        }
      }
    }
  } finally {
    ctx.clearStatus();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return m;
}

/** The rules are in force: the ruled user may not publish outside them. */
async function checkEnforced(server: ServerProc): Promise<void> {
  const { host, port } = parseServerUrl(server.url);
  const seen = await new Promise<string>((resolve, reject) => {
    const socket = net.connect({ host, port });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${server.url} within 5 s: ${JSON.stringify(text)}`));
    }, 5000);
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('PONG\r\n')) {
        clearTimeout(timer);
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('error', reject);
    socket.write(
      'CONNECT {"verbose":false,"user":"ruled","pass":"bench"}\r\nPUB app1.x 0\r\n\r\nPING\r\n',
    );
  });
  if (!seen.includes(`-ERR 'Permissions Violation for Publish to "app1.x"'`)) {
    throw new Error(
      `perms-100: the ruled user's permissions are not in force: ${JSON.stringify(seen)}`,
    );
  }
}

async function permRun(
  ctx: PermissionsContext,
  server: ServerProc,
  who: Who,
  msgs: number,
): Promise<PermResult> {
  const url = server.url.replace('nats://', `nats://${who}:bench@`);
  const cpu0 = readCpuMs(server.pid);
  const r = await runBench({
    workload: 'pubsub',
    server: url,
    msgs,
    size: 16,
    subs: 1,
    onProgress: ctx.live ? (p) => ctx.status(`perms-100 ${who}: ${formatProgress(p)}`) : undefined,
  }).finally(ctx.clearStatus);
  const cpuMs = readCpuMs(server.pid) - cpu0;
  const delivered = r.sub?.received ?? 0;
  return { ...r, cpuUsPerMsg: delivered > 0 ? (cpuMs * 1000) / delivered : 0 };
}

export function renderPermissionsTable(m: PermissionsMeasured): string {
  const { open, ruled } = m.runs;
  const cell = (r: BenchResult | undefined) =>
    r === undefined ? '—' : `${si(headline(r))}${r.complete ? '' : ` ⚠ ${r.ended}`}`;
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || a <= 0 || b <= 0 ? '—' : `${(a / b).toFixed(2)}×`;
  const cpu = (us: number | undefined) => (us === undefined ? '—' : `${us.toFixed(2)} µs`);
  const rows = [
    [
      `pub/sub 1→1, 16 B (msgs/s delivered)`,
      cell(open),
      cell(ruled),
      ratio(ruled && headline(ruled), open && headline(open)),
    ],
    [
      '  same, least server CPU time per message (lower is better)',
      cpu(m.cpuUsPerMsg.open),
      cpu(m.cpuUsPerMsg.ruled),
      ratio(m.cpuUsPerMsg.open, m.cpuUsPerMsg.ruled),
    ],
  ];
  const header = [
    'permissions workload (weft)',
    'no permissions',
    `${m.rules} rules per direction`,
    'with vs without (target ≥ 0.90×)',
  ];
  return [
    ...markdownTable(header, rows),
    '',
    `One Weft node, two users (user/password): one without permissions, one with ${m.rules} publish`,
    `and ${m.rules} subscribe allow rules, the benchmark's subject allowed by the last of each.`,
    `${os.availableParallelism()} CPUs, Node ${process.version}.`,
  ].join('\n');
}
