// The consumer-group PEL as the redis-group-c10 row drives it, CPU ns per entry (process.cpuUsage):
//   node bench/core-tools/redis-group-pel.mjs <dist> [consumers=4] [count=10] [fresh=0]
// Each consumer in turn reads `count` entries (state.ts `apply` of a read record), and XACKs
// (`pendingOf` + `applyAck`) what it read one round earlier, so `consumers` reads are pending
// at once, as in the row's loop. The XACK names the very ID strings the read put in the PEL
// (recent-keys.ts hands them over), or fresh equal strings when fresh=1 (a memo miss).
// Batches of 2,000 entries built untimed; 7 runs of 60 batches, median (min–max).
// bench/PROFILE.md, "Issue 16 — rgroup9 (round 14)".
const dist = process.argv[2];
const consumers = Number(process.argv[3] ?? 4);
const count = Number(process.argv[4] ?? 10);
const fresh = process.argv[5] === '1';
const S = await import(`${dist}/src/protocols/redis/groups/state.js`);
const { idKey } = await import(`${dist}/src/protocols/redis/groups/ids.js`);
const flat = (s) => Buffer.from(s, 'latin1').latin1Slice(0, s.length);
const g = new S.GroupState('g', idKey(0n, 0n), 0, 0);
let ms = 1700000000000n;
let seq = 0;
const B = Math.ceil(2000 / count);
const pending = [];
function build() {
  const reads = [];
  const acks = [];
  for (let r = 0; r < B; r++) {
    const n = [];
    for (let i = 0; i < count; i++) n.push([flat(idKey(ms, BigInt(i))), ++seq]);
    ms++;
    reads.push({ o: 'read', c: `c${r % consumers}`, t: 1, n, last: n[count - 1][0], er: -1 });
    acks.push(n.map(([id]) => (fresh ? flat(id) : id)));
  }
  return { reads, acks };
}
function run({ reads, acks }) {
  for (let r = 0; r < B; r++) {
    S.apply(g, reads[r]);
    pending.push(acks[r]);
    if (pending.length < consumers) continue;
    const ids = pending.shift();
    const { ids: found, nacks } = S.pendingOf(g, ids);
    if (found.length !== ids.length) throw new Error('not found');
    S.applyAck(g, found, nacks);
  }
}
for (let i = 0; i < 200; i++) run(build());
const times = [];
for (let k = 0; k < 7; k++) {
  let tot = 0;
  for (let i = 0; i < 60; i++) {
    const b = build();
    const t = process.cpuUsage();
    run(b);
    const d = process.cpuUsage(t);
    tot += (d.user + d.system) * 1000;
  }
  times.push(tot / (60 * B * count));
}
times.sort((a, b) => a - b);
console.log(
  `PEL ns/entry median ${times[3].toFixed(0)} (${times[0].toFixed(0)}-${times[6].toFixed(0)}) pel ${g.pel.size}`,
);
