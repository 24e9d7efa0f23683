/**
 * JetStream server CPU per message: the CPU seconds (utime + stime, from
 * /proc/<pid>/stat) a server spends in the measured part of each JetStream
 * workload, divided by its messages. Far less sensitive to a busy machine
 * than msgs/s. Sides are run interleaved, round by round, and the median
 * of the rounds is printed, with min–max.
 *
 * ```sh
 * npm run build
 * # this build against another build of Weft (A/B), and nats-server -js
 * node dist/bench/js-cpu.js --base /tmp/base/dist/src/cli/main.js --nats --msgs 100000 --rounds 3
 * # Weft with fsync on a timer, as nats-server's default
 * node dist/bench/js-cpu.js --weft-args "--sync-interval 2m" --only js-pub-async
 * # the pull row with max_ack_pending 20,000
 * node dist/bench/js-cpu.js --only js-consume-pull --max-ack-pending 20000
 * # one build, two policies: base side with other arguments
 * node dist/bench/js-cpu.js --base dist/src/cli/main.js --base-weft-args="--sync-interval 2m" --only js-consume-push
 * ```
 *
 * Linux only (/proc). The load generator is src/bench/jetstream.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { JS_WORKLOADS, type JsWorkload, runJetStream } from '../src/bench/jetstream.js';
import { parseServerUrl } from '../src/bench/protocol.js';
import { warmUpJetStream } from './jetstream.js';
import { type ServerProc, startNatsJetStream, startWeft, which } from './servers.js';

const TICK = 100; // clock ticks per second (USER_HZ) on Linux

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

const { values } = parseArgs({
  options: {
    main: { type: 'string' },
    base: { type: 'string' },
    nats: { type: 'boolean', default: false },
    'weft-args': { type: 'string', default: '' },
    /** The base side's Weft arguments, when they differ (default: --weft-args). */
    'base-weft-args': { type: 'string' },
    only: { type: 'string', default: 'js-pub-async,js-consume-pull,js-consume-push' },
    msgs: { type: 'string', default: '100000' },
    size: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
    /** Consume workloads: the consumers' max_ack_pending (default: the server's). */
    'max-ack-pending': { type: 'string' },
  },
});
const here = path.dirname(fileURLToPath(import.meta.url));
const mainJs = values.main ?? path.join(here, '..', 'src', 'cli', 'main.js');
const weftArgs = ['--mesh-port', '-1', ...values['weft-args']!.split(' ').filter(Boolean)];
const baseWeftArgs =
  values['base-weft-args'] === undefined
    ? weftArgs
    : ['--mesh-port', '-1', ...values['base-weft-args'].split(' ').filter(Boolean)];
const msgs = Number(values.msgs);
const size = Number(values.size);
const rounds = Number(values.rounds);
const maxAckPending =
  values['max-ack-pending'] === undefined ? undefined : Number(values['max-ack-pending']);
const only = values.only!.split(',') as JsWorkload[];
for (const w of only) if (!JS_WORKLOADS.includes(w)) throw new Error(`unknown workload ${w}`);

interface Side {
  name: string;
  start: () => Promise<ServerProc>;
}
const sides: Side[] = [{ name: 'weft', start: () => startWeft(mainJs, weftArgs) }];
if (values.base) {
  const base = values.base;
  sides.push({ name: 'base', start: () => startWeft(base, baseWeftArgs, 'weft-base') });
}
if (values.nats) {
  const bin = which('nats-server');
  if (bin === null) throw new Error('nats-server is not on PATH');
  sides.push({ name: 'nats', start: () => startNatsJetStream(bin) });
}

interface Sample {
  perSec: number;
  cpuUs: number;
}
const samples = new Map<string, Sample[]>();
const servers = await Promise.all(sides.map((s) => s.start()));
try {
  // Warm-up, not measured: JIT, first streams and consumers (JS_WARMUP).
  for (const s of servers) await warmUpJetStream(s.url, 20_000);
  for (let r = 0; r < rounds; r++) {
    for (const w of only) {
      const order = r % 2 === 0 ? servers.keys() : [...servers.keys()].reverse();
      for (const i of order) {
        const s = servers[i]!;
        let cpu0 = 0;
        let cpu = 0;
        const n = w === 'js-pub-sync' ? Math.max(100, Math.round(msgs / 20)) : msgs;
        const res = await runJetStream(w, {
          server: parseServerUrl(s.url),
          msgs: n,
          size,
          ...(maxAckPending === undefined ? {} : { maxAckPending }),
          onPhase: (p) => {
            if (p === 'start') cpu0 = cpuSeconds(s.pid);
            else cpu = cpuSeconds(s.pid) - cpu0;
          },
        });
        if (!res.complete) console.log(`  ${w} ${sides[i]!.name}: incomplete (${res.ended})`);
        const key = `${w} ${sides[i]!.name}`;
        const list = samples.get(key) ?? [];
        list.push({ perSec: res.msgsPerSec, cpuUs: (cpu * 1e6) / Math.max(1, res.done) });
        samples.set(key, list);
        console.log(
          `  round ${r + 1} ${key.padEnd(28)} ${Math.round(res.msgsPerSec).toLocaleString('en-US').padStart(9)} msgs/s  ${list.at(-1)!.cpuUs.toFixed(2)} µs CPU/msg`,
        );
      }
    }
  }
} finally {
  await Promise.all(servers.map((s) => s.stop()));
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
console.log(
  `\n${msgs} msgs, ${size} B, ${rounds} rounds, medians (min–max); Weft args: ${weftArgs.join(' ')}`,
);
console.log('| workload | server | msgs/s | µs CPU per msg |');
console.log('|---|---|---:|---:|');
for (const [key, list] of samples) {
  const [w, side] = key.split(' ');
  const ps = list.map((x) => x.perSec);
  const cs = list.map((x) => x.cpuUs);
  const f = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(
    `| ${w} | ${side} | ${f(median(ps))} (${f(Math.min(...ps))}–${f(Math.max(...ps))}) | ${median(cs).toFixed(2)} (${Math.min(...cs).toFixed(2)}–${Math.max(...cs).toFixed(2)}) |`,
  );
}
