// CPU of one event-loop turn that a pending setImmediate keeps from sleeping (epoll_pwait with
// timeout 0, the check phase, the immediate's callback), with 8 idle TCP sockets registered; then the
// same count of microtasks in one turn, for comparison. What a reply flushed a turn later, or a writer
// loop waiting a turn with nothing queued, costs per read batch (bench/PROFILE.md, "Issue 16 — rgroup7").
//   node bench/core-tools/loop-turn-cost.mjs
import net from 'node:net';

const srv = net.createServer((s) => s.on('data', () => {})).listen(0);
await new Promise((r) => srv.once('listening', r));
const cs = [];
for (let i = 0; i < 8; i++) cs.push(net.connect(srv.address().port));
await new Promise((r) => setTimeout(r, 100));
for (let k = 0; k < 5; k++) {
  const N = 200000;
  let n = 0;
  const t = process.cpuUsage();
  await new Promise((res) => {
    const f = () => {
      if (++n < N) setImmediate(f);
      else res();
    };
    setImmediate(f);
  });
  const d = process.cpuUsage(t);
  // the same count of microtasks in one turn, for comparison
  const t2 = process.cpuUsage();
  let m = 0;
  await new Promise((res) => {
    const g = () => {
      if (++m < N) queueMicrotask(g);
      else res();
    };
    queueMicrotask(g);
  });
  const d2 = process.cpuUsage(t2);
  console.log(
    `turn ${(((d.user + d.system) / N) * 1000).toFixed(0)} ns (sys ${((d.system / N) * 1000).toFixed(0)}), microtask ${(((d2.user + d2.system) / N) * 1000).toFixed(0)} ns`,
  );
}
for (const c of cs) c.destroy();
srv.close();
