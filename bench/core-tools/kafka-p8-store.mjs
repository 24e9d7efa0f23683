/**
 * The store's side of Kafka produce on P partitions, in one process, no
 * sockets: P file-store streams (sync `always` unless told), "requests" of
 * 16 records of 1 KiB per partition appended as one run per stream
 * (`Stream.storeNotifyRun`, as the face does), a request done when every
 * partition's run is durable, 5 requests in flight (the producer's
 * window). Builds alternate round by round (interleaved A/B); prints, per
 * build, the main thread's CPU µs per record (/proc/self/task/<pid>/stat),
 * the whole process's (thread pool included), records/s and records per
 * writer round (the stores' `batches`): median (min–max).
 *   [PER=16] node bench/core-tools/kafka-p8-store.mjs <dist A> [dist B] [records] [rounds] [partitions] [always|interval]
 * bench/PROFILE.md, "Issue 16 — kwriter (round 12)".
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const dists = [args[0], args[1]].filter((d) => d && d !== '-');
const msgs = Number(args[2] ?? 100000);
const rounds = Number(args[3] ?? 4);
const parts = Number(args[4] ?? 8);
const sync =
  (args[5] ?? 'always') === 'always'
    ? { kind: 'always' }
    : { kind: 'interval', intervalMs: 120000 };
/** Records per partition per request (PER=128 with 1 partition: the same window in one stream). */
const per = Number(process.env.PER ?? 16);
const inflight = 5;
const TICK = 100;
const cpu = (file) => {
  const s = readFileSync(file, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
};
const mainCpu = () => cpu(`/proc/self/task/${process.pid}/stat`);
const allCpu = () => cpu('/proc/self/stat');
const head = Buffer.from('NATS/1.0\r\nKafka-Timestamp: 1765000000000\r\n\r\n');
const value = Buffer.alloc(1024, 7);
const heads = new Array(per).fill(head);
const values = new Array(per).fill(value);

const mods = await Promise.all(
  dists.map(async (d) => ({
    d,
    openFileStore: (await import(`${d}/src/streams/file-store.js`)).openFileStore,
    Stream: (await import(`${d}/src/streams/stream.js`)).Stream,
    normalizeConfig: (await import(`${d}/src/streams/stream-config.js`)).normalizeConfig,
  })),
);

function run(s, p) {
  return new Promise((resolve, reject) => {
    const seqs = new Array(per);
    s.storeNotifyRun(`k.t.${p}`, heads, values, Date.now(), seqs, (failed, refused) => {
      if (failed !== null || refused !== null) reject(failed ?? refused);
      else resolve();
    });
  });
}

async function round(m) {
  const dir = mkdtempSync(join(tmpdir(), 'kp8-'));
  const streams = [];
  const stores = [];
  for (let p = 0; p < parts; p++) {
    const store = await m.openFileStore(join(dir, `p${p}`), { sync });
    const s = new m.Stream(
      m.normalizeConfig({ name: `K${p}`, subjects: [`k.t.${p}`] }, `K${p}`),
      store,
      new Date(),
    );
    await s.open();
    stores.push(store);
    streams.push(s);
  }
  const requests = Math.floor(msgs / (per * parts));
  const b0 = stores.reduce((a, st) => a + st.stats.batches, 0);
  const t0 = mainCpu();
  const a0 = allCpu();
  const w0 = process.hrtime.bigint();
  let sent = 0;
  const pending = new Set();
  while (sent < requests) {
    while (pending.size < inflight && sent < requests) {
      const q = Promise.all(streams.map((s, p) => run(s, p))).then(() => pending.delete(q));
      pending.add(q);
      sent++;
    }
    await Promise.race(pending);
  }
  await Promise.all(pending);
  const n = requests * per * parts;
  const wall = Number(process.hrtime.bigint() - w0) / 1e9;
  const res = {
    main: ((mainCpu() - t0) * 1e6) / n,
    all: ((allCpu() - a0) * 1e6) / n,
    rate: n / wall,
    perRound: n / (stores.reduce((a, st) => a + st.stats.batches, 0) - b0),
  };
  for (const s of streams) await s.close?.();
  for (const st of stores) await st.close();
  rmSync(dir, { recursive: true, force: true });
  return res;
}

const out = new Map(mods.map((m) => [m.d, []]));
for (const m of mods) await round(m); // warm-up
for (let r = 0; r < rounds; r++) {
  for (const m of r % 2 === 0 ? mods : [...mods].reverse()) {
    const x = await round(m);
    out.get(m.d).push(x);
    console.log(
      `  ${m.d}: main ${x.main.toFixed(2)} all ${x.all.toFixed(2)} µs/rec, ${Math.round(x.rate)}/s, ${x.perRound.toFixed(1)} rec/round  load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
    );
  }
}
const med = (a) => {
  const b = [...a].sort((x, y) => x - y);
  return b.length % 2 ? b[(b.length - 1) / 2] : (b[b.length / 2 - 1] + b[b.length / 2]) / 2;
};
const band = (a, d = 2) =>
  `${med(a).toFixed(d)} (${Math.min(...a).toFixed(d)}–${Math.max(...a).toFixed(d)})`;
console.log(
  `${msgs} records, ${parts} partitions, sync ${sync.kind}, ${rounds} rounds; medians (min–max)`,
);
for (const [d, xs] of out) {
  console.log(
    `${d}: main ${band(xs.map((x) => x.main))} µs/rec; process ${band(xs.map((x) => x.all))} µs/rec; ${band(
      xs.map((x) => x.rate),
      0,
    )} rec/s; ${band(
      xs.map((x) => x.perRound),
      1,
    )} rec/round`,
  );
}
