/**
 * Memory per subscription: one connection sends N SUBs on distinct subjects
 * (`bench.sub.<i>`, sid i+1); the server's RSS growth divided by N.
 *   node bench/core-tools/sub-memory.mjs 100000 nats /tmp/base/dist dist
 */

import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const W = fileURLToPath(new URL('../../dist/', import.meta.url));
const { startWeft, startNatsServer, killAll, which } = await import(
  path.join(W, 'bench/servers.js')
);
const [nS, ...targets] = process.argv.slice(2);
const N = Number(nS);
const rss = (pid) =>
  Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))[1]) * 1024;
async function pong(sock) {
  return new Promise((r) => {
    let acc = '';
    const f = (d) => {
      acc += d.toString('latin1');
      if (acc.includes('PONG')) {
        sock.off('data', f);
        r();
      }
    };
    sock.on('data', f);
    sock.write('PING\r\n');
  });
}
try {
  for (const t of targets) {
    const s =
      t === 'nats'
        ? await startNatsServer(which('nats-server'))
        : await startWeft(path.join(t, 'src/cli/main.js'));
    const port = Number(new URL(s.url).port);
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write('CONNECT {"verbose":false,"pedantic":false}\r\n');
    await pong(sock);
    await sleep(500);
    const r0 = rss(s.pid);
    for (let i = 0; i < N; i += 1000) {
      let b = '';
      for (let k = i; k < Math.min(N, i + 1000); k++) b += `SUB bench.sub.${k} ${k + 1}\r\n`;
      if (!sock.write(b)) await new Promise((r) => sock.once('drain', r));
    }
    await pong(sock);
    await sleep(1500);
    const r1 = rss(s.pid);
    console.log(
      `${t}: ${((r1 - r0) / N).toFixed(0)} B/subscription (RSS ${(r0 / 2 ** 20).toFixed(1)} -> ${(r1 / 2 ** 20).toFixed(1)} MiB)`,
    );
    sock.destroy();
    await s.stop();
  }
} finally {
  killAll();
}
