/**
 * The stream's side of a Kafka produce in one process, no sockets: batches
 * of `per` records (1 KiB values, one shared header block, as the face
 * builds them) appended to a file-store stream either record by record
 * (`Stream.storeNotify`, a callback each: the face before round 10) or as
 * one run (`Stream.storeNotifyRun`, one notice per batch), `inflight`
 * batches at a time as the Java client keeps 5 requests in flight. Modes
 * alternate round by round; prints the main thread's CPU µs per record
 * (/proc/self/task/<pid>/stat) per mode: median (min–max).
 *   node bench/core-tools/kafka-run-append.mjs <dist> [records/round] [rounds] [sync: always|interval]
 * bench/PROFILE.md, "Issue 16 — kafka4 (round 10)".
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [dist, msgsS = '100000', roundsS = '6', syncS = 'interval'] = process.argv.slice(2);
const { openFileStore } = await import(`${dist}/src/streams/file-store.js`);
const { Stream } = await import(`${dist}/src/streams/stream.js`);
const { normalizeConfig } = await import(`${dist}/src/streams/stream-config.js`);
const msgs = Number(msgsS);
const rounds = Number(roundsS);
const per = 16;
const inflight = 5;
const sync = syncS === 'always' ? { kind: 'always' } : { kind: 'interval', intervalMs: 120000 };
const TICK = 100;
const mainCpu = () => {
  const s = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
};
const head = Buffer.from('NATS/1.0\r\nKafka-Timestamp: 1765000000000\r\n\r\n');
const value = Buffer.alloc(1024, 7);
const heads = new Array(per).fill(head);
const values = new Array(per).fill(value);

/** One batch, appended as `mode`; resolves once all its records are durable. */
function batch(s, mode) {
  return new Promise((resolve, reject) => {
    if (mode === 'run') {
      const seqs = new Array(per);
      s.storeNotifyRun('k.t.0', heads, values, Date.now(), seqs, (failed, refused) => {
        if (failed !== null || refused !== null) reject(failed ?? refused);
        else resolve(seqs[0]);
      });
      return;
    }
    const now = Date.now();
    let left = per;
    for (let i = 0; i < per; i++) {
      s.storeNotify(
        'k.t.0',
        heads[i],
        values[i],
        (err) => {
          if (err !== null) reject(err);
          else if (--left === 0) resolve(0);
        },
        undefined,
        now,
      );
    }
  });
}

async function round(mode) {
  const dir = mkdtempSync(join(tmpdir(), 'k4run-'));
  const store = await openFileStore(dir, { sync });
  const s = new Stream(normalizeConfig({ name: 'K', subjects: ['k.>'] }, 'K'), store, new Date());
  await s.open();
  const batches = Math.floor(msgs / per);
  const t0 = mainCpu();
  let sent = 0;
  const pending = new Set();
  while (sent < batches) {
    while (pending.size < inflight && sent < batches) {
      const p = batch(s, mode).then(() => pending.delete(p));
      pending.add(p);
      sent++;
    }
    await Promise.race(pending);
  }
  await Promise.all(pending);
  const us = ((mainCpu() - t0) * 1e6) / (batches * per);
  await s.close?.();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return us;
}

const out = { each: [], run: [] };
await round('each');
await round('run'); // warm both paths
for (let r = 0; r < rounds; r++) {
  for (const mode of r % 2 === 0 ? ['each', 'run'] : ['run', 'each'])
    out[mode].push(await round(mode));
}
const med = (a) => {
  const b = [...a].sort((x, y) => x - y);
  return b.length % 2 ? b[(b.length - 1) / 2] : (b[b.length / 2 - 1] + b[b.length / 2]) / 2;
};
for (const [mode, a] of Object.entries(out)) {
  console.log(
    `${mode}: ${med(a).toFixed(2)} µs (${Math.min(...a).toFixed(2)}–${Math.max(...a).toFixed(2)}) main thread per record, sync ${sync.kind}, ${rounds} rounds of ${msgs}`,
  );
}
