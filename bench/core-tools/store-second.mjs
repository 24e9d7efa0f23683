/**
 * File store CPU per append (all threads: process.cpuUsage) of a first store
 * after a 20,000-append warm-up (w) and of a second store opened later (f),
 * in the order given: `wf` measures a second store of a warm process, as
 * a bench row on a fresh stream. Sync always, 256 appends in flight.
 *   node bench/core-tools/store-second.mjs <dist> <n> [order, default fw] [always|interval]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [dist, nS, order = 'fw', syncArg = 'always'] = process.argv.slice(2);
const { openFileStore } = await import(`${dist}/src/streams/file-store.js`);
const n = Number(nS);
const sync = syncArg === 'always' ? { kind: 'always' } : { kind: 'interval', intervalMs: 1000 };
const root = mkdtempSync(path.join(os.tmpdir(), 'weft-store-second-'));
const payload = Buffer.from('f\r\nv\r\n'.repeat(2));
const headers = null;
let k = 0;
async function run(store, count, subject) {
  const IN = 256;
  let sent = 0,
    done = 0;
  await new Promise((resolve) => {
    const cb = (err) => {
      if (err) throw err;
      done++;
      if (done === count) resolve();
      else if (sent - done < IN / 2) pump();
    };
    function pump() {
      while (sent < count && sent - done < IN) {
        store.appendNotify(subject, headers, payload, Date.now(), cb);
        sent++;
      }
    }
    pump();
  });
}
const a = await openFileStore(`${root}/a${k++}`, { sync });
await run(a, 20000, 'w');
const res = {};
for (const which of order.split('')) {
  const store = which === 'f' ? await openFileStore(`${root}/b${k++}`, { sync }) : a;
  const c0 = process.cpuUsage();
  await run(store, n, which === 'f' ? 'fresh.subject' : 'w');
  const c = process.cpuUsage(c0);
  res[which] = ((c.user + c.system) / n).toFixed(3) + ` (u ${(c.user / n).toFixed(3)})`;
}
console.log(dist, JSON.stringify(res));
rmSync(root, { recursive: true, force: true });
process.exit(0);
