/**
 * Idle RSS of fresh nodes, builds interleaved start by start: each start is
 * `weft server` with the memory row's flags (--http-port -1 --mesh-port -1,
 * a fresh data dir, random port), its /proc/<pid>/status read `waitMs` after
 * the spawn, then stopped.
 *   node bench/core-tools/idle-rss.mjs <rounds> <waitMs> <dist> [<dist> ...]
 * e.g. ... idle-rss.mjs 5 12000 /tmp/base/dist dist
 * With IDLE_RSS_MAPS=1 each line also lists the largest mappings' RSS
 * (/proc/<pid>/smaps summed by mapping name: the node binary, [anon], [heap]).
 * Extra node flags for the node: IDLE_RSS_NODE_ARGS (e.g. "--trace-gc").
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const [roundsS, waitS, ...dists] = process.argv.slice(2);
const rounds = Number(roundsS);
const waitMs = Number(waitS);
const nodeArgs = (process.env.IDLE_RSS_NODE_ARGS ?? '').split(' ').filter(Boolean);

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const kib = (text, key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);

function maps(pid) {
  const by = new Map();
  let name = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      name = m[1] || '[anon]';
      continue;
    }
    const r = /^Rss:\s+(\d+)/.exec(line);
    if (r) by.set(name, (by.get(name) ?? 0) + Number(r[1]));
  }
  return [...by]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([k, v]) => `${(v / 1024).toFixed(1)} ${path.basename(k)}`)
    .join(', ');
}

async function once(dist) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'idle-rss-'));
  const args = [...nodeArgs, path.join(dist, 'src/cli/main.js'), 'server', '--host', '127.0.0.1'];
  args.push('--port', String(port), '--http-port', '-1', '--mesh-port', '-1', '--data-dir', dir);
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, waitMs));
  const st = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const row = {
    rss: kib(st, 'VmRSS') / 1024,
    anon: kib(st, 'RssAnon') / 1024,
    file: kib(st, 'RssFile') / 1024,
    maps: process.env.IDLE_RSS_MAPS ? maps(child.pid) : '',
  };
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
  return row;
}

const all = new Map(dists.map((d) => [d, []]));
for (let round = 1; round <= rounds; round++) {
  for (const d of dists) {
    const r = await once(d);
    all.get(d).push(r.rss);
    const line = `round ${round} ${d}: RSS ${r.rss.toFixed(1)} MiB (anon ${r.anon.toFixed(1)}, file ${r.file.toFixed(1)})`;
    console.log(r.maps ? `${line} ${r.maps}` : line);
  }
}
for (const [d, v] of all) {
  const s = [...v].sort((a, b) => a - b);
  const med = s[Math.floor(s.length / 2)];
  console.log(`${d}: median ${med.toFixed(1)} MiB (${s[0].toFixed(1)}–${s.at(-1).toFixed(1)})`);
}
