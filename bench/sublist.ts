/**
 * The subject index in-process, no sockets: nanoseconds per match and per
 * wildcard SUB+UNSUB pair, for the shapes `npm run bench`'s subject-index
 * workloads put through a node. Each figure is the best of 7 repetitions
 * (this machine is shared; the best is the least disturbed).
 *
 *   node dist/bench/sublist.js
 */
import type { Subscriber, Subscription } from '../src/core/message.js';
import { Sublist } from '../src/core/sublist.js';

const owner: Subscriber = { id: 1, kind: 'client', echo: true, deliver: () => {} };
const sub = (subject: string): Subscription => ({
  subject,
  queue: '',
  sid: '1',
  owner,
  max: 0,
  delivered: 0,
});
const BASE = 'weft.bench.pubsub.12345.abcdefgh';
const pad = (n: number, w: number) => String(n).padStart(w, '0');

function best(reps: number, ops: number, run: () => void): number {
  let ns = Number.POSITIVE_INFINITY;
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    run();
    ns = Math.min(ns, ((performance.now() - t) * 1e6) / ops);
  }
  return ns;
}

function matches(name: string, setup: (sl: Sublist) => void, subjects: string[], rounds: number) {
  const sl = new Sublist();
  setup(sl);
  let found = 0;
  const pass = () => {
    for (let r = 0; r < rounds; r++) for (const s of subjects) found += sl.match(s).plain.length;
  };
  pass();
  const ns = best(7, rounds * subjects.length, pass);
  const st = sl.stats;
  console.log(
    `${name.padEnd(44)} ${ns.toFixed(0).padStart(6)} ns/match  ` +
      `(hits ${((100 * st.cacheHits) / st.matches).toFixed(0)} %, freezes ${st.cacheFreezes}, bypasses ${st.cacheBypasses}, found ${found > 0})`,
  );
}

const s100k = Array.from({ length: 100_000 }, (_, i) => `${BASE}.${pad(i, 5)}`);
matches('100,000 subjects in turn, 1 sub on *', (sl) => sl.insert(sub(`${BASE}.*`)), s100k, 2);
const w10k = Array.from(
  { length: 10_000 },
  (_, i) => `${BASE}.${pad(i % 1000, 3)}.${Math.floor(i / 1000)}`,
);
matches(
  '10,000 subjects in turn, 1,000 wildcards',
  (sl) => {
    for (let k = 0; k < 1000; k++) sl.insert(sub(`${BASE}.${pad(k, 3)}.*`));
  },
  w10k,
  10,
);
matches('1 subject, cached', (sl) => sl.insert(sub(`${BASE}.x`)), [`${BASE}.x`], 1_000_000);
matches('100 subjects, cached', (sl) => sl.insert(sub(`${BASE}.*`)), s100k.slice(0, 100), 10_000);

// Wildcard SUB+UNSUB pairs with a full cache (4,096 subjects cached).
{
  const sl = new Sublist();
  for (let i = 0; i < 4096; i++) sl.match(`${BASE}.${i % 100}.${i}`);
  let q = 0;
  const pairs = 5000;
  const ns = best(7, pairs, () => {
    for (let i = 0; i < pairs; i++, q++) {
      const s = sub(`${BASE}.w${q}.*`);
      sl.insert(s);
      sl.remove(s);
    }
  });
  console.log(
    `${'wildcard SUB+UNSUB pair, full cache'.padEnd(44)} ${ns.toFixed(0).padStart(6)} ns/pair  (cache ${sl.cacheSize})`,
  );
}
