/**
 * A/B of the MQTT face's server CPU per delivered message (utime + stime from
 * /proc, µs), builds interleaved round by round.
 *   node bench/core-tools/mqtt-ab-cpu.mjs <qos> <msgs> <rounds> <dist> ...
 * e.g. ... mqtt-ab-cpu.mjs 0 1000000 4 /tmp/base10/dist dist
 * Each `dist` is a built tree (its src/cli/main.js runs the node). The
 * generator is this tree's (src/bench/mqtt-runner.ts: 1→1, 16 B).
 * WEFT_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=..." profiles the node.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [qosS, msgsS, roundsS, ...dists] = process.argv.slice(2);
const qos = Number(qosS);
const msgs = Number(msgsS);
const rounds = Number(roundsS);
const W = fileURLToPath(new URL('../../dist/', import.meta.url));
const { startWeft, freePort } = await import(path.join(W, 'bench/servers.js'));
const { runMqttBench } = await import(path.join(W, 'src/bench/mqtt-runner.js'));
const { MqttBenchConn } = await import(path.join(W, 'src/bench/mqtt-conn.js'));
const cpu = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(x[11]) * 10 + Number(x[12]) * 10;
};
const res = Object.fromEntries(dists.map((d) => [d, []]));
const med = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
for (let r = 0; r < rounds; r++) {
  for (const d of dists) {
    const port = await freePort();
    const proc = await startWeft(
      path.join(path.resolve(d), 'src/cli/main.js'),
      ['--mesh-port', '-1', '--mqtt-port', String(port)],
      'weft-mqtt',
    );
    try {
      const addr = { host: '127.0.0.1', port };
      for (let i = 0; ; i++) {
        try {
          (await MqttBenchConn.open(addr, `ab${process.pid}-probe`, 2000)).close();
          break;
        } catch (e) {
          if (i > 50) throw e;
          await new Promise((ok) => setTimeout(ok, 100));
        }
      }
      const run = (n) => runMqttBench({ workload: 'pubsub', addr, msgs: n, size: 16, qos });
      await run(50_000);
      await new Promise((ok) => setTimeout(ok, Number(process.env.IDLE_MS ?? 0)));
      const c0 = cpu(proc.pid ?? proc.proc?.pid);
      const b = await run(msgs);
      const us = ((cpu(proc.pid ?? proc.proc?.pid) - c0) * 1000) / b.received;
      res[d].push(us);
      console.log(
        `round ${r} ${d}: ${us.toFixed(3)} µs/msg, ${Math.round(b.msgsPerSec)} msgs/s, ${b.ended}`,
      );
    } finally {
      await proc.stop();
    }
  }
}
for (const d of dists) {
  const a = res[d];
  console.log(
    `${d}: median ${med(a).toFixed(3)} µs/msg (min ${Math.min(...a).toFixed(3)}, max ${Math.max(...a).toFixed(3)}, n ${a.length})`,
  );
}
