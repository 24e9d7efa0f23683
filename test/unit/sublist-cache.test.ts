/**
 * The sublist's match cache under change: wildcard and literal subscriptions
 * added and removed while the cache holds matching and non-matching subjects,
 * root-level nodes pruned and re-created, and a randomised differential run
 * against a cache-less reference matcher (a list of subscriptions and a
 * split-based match). Also the token hash table the trie levels use.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Subscriber, Subscription } from '../../src/core/message.js';
import { type MatchResult, Sublist } from '../../src/core/sublist.js';
import { TokenMap } from '../../src/core/token-map.js';
import { makeRng, seedFromEnv, subSeed } from '../fuzz/nats-frames.js';

const owner: Subscriber = { id: 1, kind: 'client', echo: true, deliver: () => {} };
let nextSid = 1;

function sub(subject: string, queue = ''): Subscription {
  return { subject, queue, sid: String(nextSid++), owner, max: 0, delivered: 0 };
}

/** The reference: does pattern match subject, token by token (split on purpose). */
function refMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

/** A result as comparable text: plain sids, and each queue group's sids, sorted. */
function canon(r: MatchResult): string {
  const plain = r.plain.map((s) => s.sid).sort();
  const groups = r.queues.map((g) => `${g[0]!.queue}:${g.map((s) => s.sid).sort()}`).sort();
  return JSON.stringify({ plain, groups });
}

function reference(live: Iterable<Subscription>, subject: string): string {
  const plain: string[] = [];
  const groups = new Map<string, string[]>();
  for (const s of live) {
    if (!refMatches(s.subject, subject)) continue;
    if (s.queue === '') plain.push(s.sid);
    else groups.set(s.queue, [...(groups.get(s.queue) ?? []), s.sid]);
  }
  return JSON.stringify({
    plain: plain.sort(),
    groups: [...groups].map(([q, sids]) => `${q}:${sids.sort()}`).sort(),
  });
}

function check(sl: Sublist, live: Set<Subscription>, subjects: readonly string[], why: string) {
  for (const s of subjects) assert.equal(canon(sl.match(s)), reference(live, s), `${why}: ${s}`);
}

describe('Sublist cache: invalidation', () => {
  const cached = [
    'orders.eu.new',
    'orders.us.new',
    'orders.eu.paid',
    'orders',
    'users.eu.new',
    'users.1',
    'other.x.y.z',
    'solo',
  ];

  test('a wildcard added or removed under a literal first token', () => {
    const sl = new Sublist();
    const live = new Set<Subscription>();
    const add = (s: Subscription): Subscription => {
      sl.insert(s);
      live.add(s);
      return s;
    };
    add(sub('orders.eu.new'));
    add(sub('users.>'));
    check(sl, live, cached, 'filled');
    const w = add(sub('orders.*.new'));
    check(sl, live, cached, 'after SUB orders.*.new');
    const q = add(sub('orders.>', 'workers'));
    check(sl, live, cached, 'after SUB orders.> workers');
    sl.remove(w);
    live.delete(w);
    check(sl, live, cached, 'after UNSUB orders.*.new');
    sl.remove(q);
    live.delete(q);
    check(sl, live, cached, 'after UNSUB orders.> workers');
  });

  test('a wildcard first token (`*`, `>`) reaches every cached subject', () => {
    const sl = new Sublist();
    const live = new Set<Subscription>();
    const add = (s: Subscription): Subscription => {
      sl.insert(s);
      live.add(s);
      return s;
    };
    add(sub('orders.eu.new'));
    check(sl, live, cached, 'filled');
    const all = add(sub('>'));
    check(sl, live, cached, 'after SUB >');
    const two = add(sub('*.eu.*'));
    check(sl, live, cached, 'after SUB *.eu.*');
    for (const s of [all, two]) {
      sl.remove(s);
      live.delete(s);
      check(sl, live, cached, `after UNSUB ${s.subject}`);
    }
  });

  test('entries cached before their first token existed see a wildcard added later', () => {
    const sl = new Sublist();
    const live = new Set<Subscription>();
    check(sl, live, cached, 'empty');
    // A literal creates root node `orders`; then a wildcard goes under it.
    const lit = sub('orders.us.paid');
    sl.insert(lit);
    live.add(lit);
    check(sl, live, cached, 'after a literal created the first token');
    const w = sub('orders.*.new');
    sl.insert(w);
    live.add(w);
    check(sl, live, cached, 'after the wildcard under it');
  });

  test('a pruned and re-created first token does not resurrect stale entries', () => {
    const sl = new Sublist();
    const live = new Set<Subscription>();
    const w = sub('orders.*.new');
    sl.insert(w);
    live.add(w);
    check(sl, live, cached, 'one wildcard');
    sl.remove(w);
    live.delete(w);
    check(sl, live, cached, 'pruned');
    const w2 = sub('orders.eu.*');
    sl.insert(w2);
    live.add(w2);
    check(sl, live, cached, 're-created with another wildcard');
    // Literal churn under the same first token.
    for (let i = 0; i < 5; i++) {
      const l = sub(`orders.eu.x${i}`);
      sl.insert(l);
      sl.remove(l);
    }
    check(sl, live, [...cached, 'orders.eu.x1'], 'after literal churn');
  });

  test('a first token pruned by a literal UNSUB, then re-created by a wildcard', () => {
    const sl = new Sublist();
    const live = new Set<Subscription>();
    const lit = sub('orders.eu.paid');
    sl.insert(lit);
    live.add(lit);
    check(sl, live, cached, 'one literal');
    sl.remove(lit);
    live.delete(lit);
    const w = sub('orders.*.new');
    sl.insert(w);
    live.add(w);
    check(sl, live, cached, 'wildcard on the re-created first token');
  });

  test('hits return the cached object; a stale entry is recomputed once', () => {
    const sl = new Sublist();
    sl.insert(sub('a.>'));
    const r1 = sl.match('a.b');
    assert.equal(sl.match('a.b'), r1);
    sl.insert(sub('b.*'));
    assert.equal(sl.match('a.b'), r1, 'a wildcard under another first token leaves it valid');
    sl.insert(sub('a.*'));
    const r2 = sl.match('a.b');
    assert.notEqual(r2, r1);
    assert.equal(r2.plain.length, 2);
    const hits = sl.stats.cacheHits;
    assert.equal(sl.match('a.b'), r2);
    assert.equal(sl.stats.cacheHits, hits + 1);
  });
});

describe('Sublist cache: one-off subscriptions (ack subjects)', () => {
  test('a subject matching a oneOff subscription is matched but never cached', () => {
    const sl = new Sublist(8);
    const acks = { ...sub('$JS.ACK.s.c.>'), oneOff: true };
    const other = sub('orders.*');
    sl.insert(acks);
    sl.insert(other);
    // Far more unique ack subjects than the cache holds: nothing is evicted.
    sl.match('orders.eu');
    for (let i = 0; i < 100; i++) {
      const r = sl.match(`$JS.ACK.s.c.1.${i}.${i}.0.0`);
      assert.deepEqual(r.plain, [acks]);
    }
    assert.equal(sl.cacheSize, 1);
    assert.equal(sl.stats.uncached, 100);
    assert.equal(sl.stats.cacheEvictions, 0);
    assert.equal(sl.match('orders.eu'), sl.match('orders.eu'), 'the reused subject still hits');
  });

  test('a cached entry that a oneOff wildcard now reaches is dropped; removal caches again', () => {
    const sl = new Sublist(8);
    const plain = sub('a.b');
    sl.insert(plain);
    assert.deepEqual(sl.match('a.b').plain, [plain]);
    assert.equal(sl.cacheSize, 1);
    const wide = { ...sub('a.>'), oneOff: true };
    sl.insert(wide);
    assert.equal(sl.match('a.b').plain.length, 2);
    assert.equal(sl.cacheSize, 0);
    assert.equal(sl.remove(wide), true);
    assert.deepEqual(sl.match('a.b').plain, [plain]);
    assert.equal(sl.cacheSize, 1);
  });

  test('matchOnce matches as match does and neither reads nor fills the cache', () => {
    const sl = new Sublist(8);
    const inbox = sub('_INBOX.abc.*');
    sl.insert(inbox);
    for (let i = 0; i < 100; i++) assert.deepEqual(sl.matchOnce(`_INBOX.abc.${i}`).plain, [inbox]);
    assert.equal(sl.cacheSize, 0);
    assert.equal(sl.stats.uncached, 100);
    assert.equal(sl.stats.cacheHits, 0);
    assert.equal(sl.matchOnce('_INBOX.other.1'), sl.match('_INBOX.other.1'));
  });

  test('an ack subject is matched by the walk alone, whatever its subscriptions', () => {
    const sl = new Sublist(8);
    // Not oneOff: a literal subscription on one ack subject, and wildcards.
    const literal = sub('$JS.ACK.s.c.1.5.5.0.0');
    const all = sub('>');
    const js = sub('$JS.*.s.>', 'q');
    sl.insert(literal);
    sl.insert(all);
    let r = sl.match('$JS.ACK.s.c.1.5.5.0.0');
    assert.deepEqual(new Set(r.plain), new Set([literal, all]));
    assert.equal(r.queues.length, 0);
    assert.equal(sl.cacheSize, 0, 'never cached');
    sl.insert(js);
    r = sl.match('$JS.ACK.s.c.1.5.5.0.0');
    assert.equal(r.plain.length, 2);
    assert.deepEqual(r.queues, [[js]], 'a change shows at once');
    assert.equal(sl.remove(literal), true);
    assert.deepEqual(sl.match('$JS.ACK.s.c.1.5.5.0.0').plain, [all]);
    // Only the exact prefix: `$JS.ACKS.…` and `$JS.API.…` are cached as any subject.
    sl.match('$JS.ACKS.x');
    sl.match('$JS.API.INFO');
    assert.equal(sl.cacheSize, 2);
    assert.equal(sl.stats.uncached, 3);
    assert.equal(sl.stats.matches, 5);
  });

  test('unique ack subjects do not count as misses: a working cache is not frozen', () => {
    const sl = new Sublist(8);
    sl.insert({ ...sub('$JS.ACK.s.c.>'), oneOff: true });
    sl.insert(sub('orders.*'));
    // Six reused subjects, each matched between ten unique acks.
    let ack = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 6; i++) {
        sl.match(`orders.${i}`);
        for (let k = 0; k < 10; k++) sl.match(`$JS.ACK.s.c.1.${ack}.${ack++}.0.0`);
      }
    }
    // A new set fills the cache: its hit rate since the last clear is high,
    // so it is cleared and refilled, not frozen.
    for (let i = 6; i < 12; i++) sl.match(`orders.${i}`);
    assert.equal(sl.stats.cacheFreezes, 0);
    assert.equal(sl.stats.cacheBypasses, 0);
    const hits = sl.stats.cacheHits;
    sl.match('orders.11');
    assert.equal(sl.stats.cacheHits, hits + 1, 'the new subjects are cached');
  });

  test('the count follows subscriptions added twice, shared nodes and removals', () => {
    const sl = new Sublist(8);
    const a = { ...sub('x.>'), oneOff: true };
    const b = sub('x.>');
    sl.insert(a);
    sl.insert(a); // the same subscription again: still one
    sl.insert(b);
    assert.equal(sl.remove(a), true);
    sl.match('x.y');
    assert.equal(sl.cacheSize, 1, 'no oneOff subscription is left on the node');
    assert.equal(sl.remove(b), true);
  });
});

describe('Sublist cache: randomised against a cache-less reference', () => {
  const seed = seedFromEnv();
  for (const [i, cacheMax] of [8, 64, 4096].entries()) {
    test(`cache of ${cacheMax}`, () => {
      const s = subSeed(seed, i);
      const rng = makeRng(s);
      const sl = new Sublist(cacheMax);
      const live = new Set<Subscription>();
      const liveList: Subscription[] = [];
      // '' makes subjects a peer might send (`a..b`, `.a`): never valid from
      // a client, but the index must stay correct (and not break) on them.
      // `$JS` then `ACK` makes ack subjects, matched without the cache.
      const tokens = ['a', 'b', 'c', 'dd', 'eee', 'é', '*x', 'a>', '', 'ACK'];
      const firsts = ['a', 'b', 'orders', 'users', '', '$JS'];
      const token = () => rng.pick(tokens);
      const subject = (wild: boolean): string => {
        const n = rng.range(1, 4);
        const parts: string[] = [];
        for (let k = 0; k < n; k++) {
          if (wild && k === n - 1 && rng.chance(0.15)) parts.push('>');
          else if (wild && rng.chance(0.25)) parts.push('*');
          else parts.push(k === 0 ? rng.pick(firsts) : token());
        }
        return parts.join('.');
      };
      // A working set of published subjects, so the cache holds entries that
      // each change may or may not touch.
      const published: string[] = Array.from({ length: 40 }, () => subject(false));
      for (let step = 0; step < 12_000; step++) {
        // Few live subscriptions, so first tokens are often pruned and re-created.
        const r = rng.int(20);
        const grow = liveList.length < 3 ? 8 : liveList.length < 8 ? 4 : 2;
        if (r < grow || liveList.length === 0) {
          const x = sub(subject(true), rng.chance(0.3) ? rng.pick(['q1', 'q2']) : '');
          // Some plain subscriptions are one-off (acks): never cached, still matched.
          if (x.queue === '' && rng.chance(0.2)) x.oneOff = true;
          sl.insert(x);
          live.add(x);
          liveList.push(x);
        } else if (r < 9) {
          const [x] = liveList.splice(rng.int(liveList.length), 1);
          assert.equal(sl.remove(x!), true);
          live.delete(x!);
        } else {
          const subj = rng.chance(0.9) ? rng.pick(published) : subject(false);
          const once = rng.chance(0.1);
          const size = sl.cacheSize;
          const got = once ? sl.matchOnce(subj) : sl.match(subj);
          if (once) assert.equal(sl.cacheSize, size, 'matchOnce leaves the cache as it was');
          assert.equal(
            canon(got),
            reference(live, subj),
            `WEFT_FUZZ_SEED=${seed} step ${step}: ${subj}`,
          );
          assert.ok(got.plain.every((p) => p.queue === ''));
          assert.equal(got.cursors.length, got.queues.length);
        }
        assert.ok(sl.cacheSize <= cacheMax);
      }
      assert.equal(sl.count, live.size);
    });
  }
});

describe('Sublist: ack subjects (routes by stream and consumer whose tail no subscription reads)', () => {
  test('randomised against the reference: subscriptions that do and do not read the tail', () => {
    const seed = seedFromEnv();
    const rng = makeRng(subSeed(seed, 77));
    const sl = new Sublist(8);
    const live: Subscription[] = [];
    // Patterns over the ack subjects' tokens, wildcards anywhere, `>` last.
    const tokens = ['$JS', 'ACK', 'S', 'T', 'C', 'D', '1', '2', '', '*'];
    const pattern = (): string => {
      const n = rng.range(1, 7);
      const parts: string[] = [];
      for (let k = 0; k < n; k++) {
        if (k === n - 1 && rng.chance(0.4)) parts.push('>');
        else if (k < 2 && rng.chance(0.7)) parts.push(k === 0 ? '$JS' : 'ACK');
        else parts.push(rng.pick(tokens));
      }
      return parts.join('.');
    };
    const ackSubject = (): string => {
      const n = rng.range(1, 5);
      const tail = Array.from({ length: n }, () => rng.pick(['1', '2', '', '3']));
      return `$JS.ACK.${rng.pick(['S', 'T', ''])}.${rng.pick(['C', 'D'])}.${tail.join('.')}`;
    };
    for (let step = 0; step < 20_000; step++) {
      const r = rng.int(40);
      if (r === 0 || live.length === 0) {
        const x = sub(pattern(), rng.chance(0.2) ? 'q' : '');
        if (x.queue === '' && rng.chance(0.5)) x.oneOff = true;
        sl.insert(x);
        live.push(x);
      } else if (r === 1 || live.length > 12) {
        const [x] = live.splice(rng.int(live.length), 1);
        assert.equal(sl.remove(x!), true);
      } else {
        const s = ackSubject();
        const before = sl.stats.matches;
        const got = sl.match(s);
        if (sl.stats.matches !== before + 1) assert.fail('one match counted');
        assert.equal(canon(got), reference(live, s), `WEFT_FUZZ_SEED=${seed} step ${step}: ${s}`);
      }
    }
    assert.equal(sl.cacheSize, 0, 'ack subjects are never cached');
    const routed = sl.stats.ackRouteHits;
    assert.ok(routed > 5000, `the routes were used (${routed})`);
  });

  test('a subscription that reads the tail is honoured at once', () => {
    const sl = new Sublist();
    const all = sub('$JS.ACK.S.C.>');
    sl.insert(all);
    assert.deepEqual(sl.match('$JS.ACK.S.C.1.1.1.0.0').plain, [all]);
    assert.deepEqual(sl.match('$JS.ACK.S.C.1.2.2.0.0').plain, [all]);
    const one = sub('$JS.ACK.S.C.1.3.*.*.*');
    sl.insert(one);
    assert.deepEqual(sl.match('$JS.ACK.S.C.1.2.2.0.0').plain, [all]);
    assert.deepEqual(new Set(sl.match('$JS.ACK.S.C.1.3.3.0.0').plain), new Set([all, one]));
    assert.deepEqual(sl.match('$JS.ACK.S.C.1.4.4.0.0').plain, [all]);
    const other = sub('$JS.*.S.D.2');
    sl.insert(other);
    assert.deepEqual(sl.match('$JS.ACK.S.D.2').plain, [other]);
    assert.deepEqual(sl.match('$JS.ACK.S.D.3').plain, []);
    assert.equal(sl.remove(one), true);
    assert.deepEqual(sl.match('$JS.ACK.S.C.1.3.3.0.0').plain, [all]);
  });
});

describe('Sublist: subjects no client may send', () => {
  test('empty tokens are tokens like any other', () => {
    const sl = new Sublist();
    const live = new Set<Subscription>();
    for (const subject of ['', '.', 'a..b', '.a', 'a.', 'a.*.', '*.', '..>']) {
      const x = sub(subject);
      sl.insert(x);
      live.add(x);
    }
    check(sl, live, ['', '.', 'a..b', '.a', 'a.', 'a.x.', 'x.', '..x', 'a.b', 'a'], 'inserted');
    for (const x of live) assert.equal(sl.remove(x), true, x.subject);
    live.clear();
    check(sl, live, ['', 'a..b', 'a.'], 'removed');
  });
});

describe('TokenMap', () => {
  test('randomised: get/set/delete by range agree with a Map', () => {
    const seed = seedFromEnv();
    const rng = makeRng(seed);
    const tm = new TokenMap<number>();
    const ref = new Map<string, number>();
    const keys = Array.from({ length: 300 }, (_, i) => `k${i.toString(36)}${'x'.repeat(i % 5)}`);
    for (let step = 0; step < 20000; step++) {
      const k = rng.pick(keys)!;
      const r = rng.int(3);
      // Look the token up inside a longer subject, as the trie does.
      const subject = `pre.${k}.post`;
      if (r === 0) {
        tm.set(k, step);
        ref.set(k, step);
      } else if (r === 1) {
        assert.equal(
          tm.delete(subject, 4, 4 + k.length),
          ref.delete(k),
          `seed ${seed} delete ${k}`,
        );
      } else {
        assert.equal(tm.get(subject, 4, 4 + k.length), ref.get(k), `seed ${seed} get ${k}`);
      }
      assert.equal(tm.size, ref.size);
    }
    const seen: number[] = [];
    tm.forEach((v) => {
      seen.push(v);
    });
    assert.deepEqual(seen.sort(), [...ref.values()].sort());
  });

  test('a missing token is not found; the empty token is a key like any other', () => {
    const tm = new TokenMap<number>();
    assert.equal(tm.get('a.b', 1, 1), undefined);
    tm.set('a', 1);
    assert.equal(tm.get('a.b', 2, 3), undefined);
    assert.equal(tm.get('a.b', 0, 1), 1);
    assert.equal(tm.get('a.b', 0, 0), undefined);
    tm.set('', 2);
    assert.equal(tm.get('a.b', 1, 1), 2);
    assert.equal(tm.size, 2);
    assert.equal(tm.delete('x', 0, 0), true);
    assert.equal(tm.get('a.b', 1, 1), undefined);
    assert.equal(tm.soleKey, 'a');
  });
});
