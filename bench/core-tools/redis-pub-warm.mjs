/**
 * PUBLISH 1→n on one warm node, several runs, server CPU per publish
 * (utime + stime, /proc) and msgs/s per run; profiled when a dir is given:
 *   node bench/core-tools/redis-pub-warm.mjs <dist> <subs> <msgs> <runs> <profdir|->
 * The generator is this tree's (bench/redis-kit.ts: 16 B, -P 64).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const [dist, subsS, msgsS, runsS, prof] = process.argv.slice(2);
const kit = await import(new URL('../../dist/bench/redis-kit.js', import.meta.url).href);
const port = 20000 + Math.floor(Math.random() * 20000);
const args = [
  ...(prof !== '-' ? ['--cpu-prof', '--cpu-prof-interval', '200', `--cpu-prof-dir=${prof}`] : []),
  path.join(dist, 'src/cli/main.js'),
  'server',
  '--redis-port',
  String(port),
  '-p',
  String(port + 1),
  '--http-port',
  '-1',
  '--mesh-port',
  '-1',
];
const p = spawn('node', args, { stdio: ['ignore', 'ignore', 'inherit'] });
const addr = { host: '127.0.0.1', port };
for (let i = 0; i < 100; i++) {
  try {
    await kit.runPubSub({ addr, total: 1000, subs: 1, size: 16, depth: 64 });
    break;
  } catch {
    await new Promise((r) => setTimeout(r, 100));
  }
}
const cpu = () => {
  const f = readFileSync(`/proc/${p.pid}/stat`, 'latin1');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(x[11]) + Number(x[12])) * 10;
};
await kit.runPubSub({ addr, total: 50000, subs: Number(subsS), size: 16, depth: 64 });
for (let r = 0; r < Number(runsS); r++) {
  const c0 = cpu();
  const b = await kit.runPubSub({
    addr,
    total: Number(msgsS),
    subs: Number(subsS),
    size: 16,
    depth: 64,
  });
  const c1 = cpu();
  console.log(
    `${dist}: ${(((c1 - c0) * 1000) / Number(msgsS)).toFixed(3)} us/publish ${Math.round(b.perSec)}/s`,
  );
}
p.kill('SIGINT');
await new Promise((r) => p.on('exit', r));
