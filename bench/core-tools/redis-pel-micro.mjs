// The consumer-group PEL maps alone (state.ts apply + XACK's lookup), CPU ns per entry (process.cpuUsage):
// node --max-semi-space-size=64 bench/core-tools/redis-pel-micro.mjs "$PWD/dist"   (COUNT=1: Map calls per entry)
// bench/PROFILE.md, "Issue 16 — pel (round 11)".
// Timed without building IDs: 10 consumers in turn, each reads 10 (apply 'read'),
// then XACKs them with fresh ID strings (as XACK parses them). Batches of 20,000 entries, built untimed.
const dist = process.argv[2];
const S = await import(`${dist}/src/protocols/redis/groups/state.js`);
const { idKey } = await import(`${dist}/src/protocols/redis/groups/ids.js`);
const flat = (s) => Buffer.from(s, 'latin1').latin1Slice(0, s.length);
if (process.env.COUNT) {
  for (const m of ['get', 'set', 'has', 'delete']) {
    const o = Map.prototype[m];
    Map.prototype[m] = function (...a) {
      globalThis.__n = (globalThis.__n ?? 0) + 1;
      return o.apply(this, a);
    };
  }
}
const g = new S.GroupState('g', idKey(0n, 0n), 0, 0);
const neu = typeof S.pendingOf === 'function';
let ms = 1700000000000n,
  seq = 0;
const B = 200; // reads per batch
function build() {
  const reads = [],
    acks = [];
  for (let r = 0; r < B; r++) {
    const n = [];
    for (let i = 0; i < 10; i++) n.push([flat(idKey(ms, BigInt(i))), ++seq]);
    const a = [];
    for (let i = 0; i < 10; i++) a.push(flat(idKey(ms, BigInt(i))));
    ms++;
    reads.push({ o: 'read', c: 'c' + (r % 10), t: 1, n, last: n[9][0], er: -1 });
    acks.push(a);
  }
  return { reads, acks };
}
function run({ reads, acks }) {
  for (let r = 0; r < B; r++) {
    S.apply(g, reads[r]);
    const ids = acks[r];
    if (neu) {
      const { ids: found, nacks } = S.pendingOf(g, ids);
      S.applyAck(g, found, nacks);
    } else {
      const found = [];
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i];
        const x = g.pel.get(id);
        if (x === undefined) continue;
        if (found.includes(id)) continue;
        found.push(id);
      }
      S.apply(g, { o: 'ack', ids: found });
    }
  }
}
for (let i = 0; i < 200; i++) run(build());
const times = [];
for (let k = 0; k < 7; k++) {
  let tot = 0n;
  for (let i = 0; i < 60; i++) {
    const b = build();
    const t = process.cpuUsage();
    run(b);
    const d = process.cpuUsage(t);
    tot += BigInt((d.user + d.system) * 1000);
  }
  times.push(Number(tot) / (60 * B * 10));
}
if (g.pel.size !== 0) throw new Error('pel not empty');
times.sort((a, b) => a - b);
if (process.env.COUNT)
  console.log('map calls per entry', globalThis.__n / ((200 + 7 * 60) * B * 10));
console.log(
  `${neu ? 'new' : 'old'} PEL ns/entry median ${times[3].toFixed(0)} (${times[0].toFixed(0)}-${times[6].toFixed(0)})`,
);
