/**
 * The sublist's ack routes (src/core/ack-routes.ts): acks of several
 * consumers interleaved each match by their own route, the routes see every
 * subscription added or removed that can reach an ack subject (a `$JS.ACK.>`
 * watcher, a literal ack subject, `>`), not the others, and the table is
 * bounded and counted.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ACK_ROUTES_MAX, AckRoutes } from '../../src/core/ack-routes.js';
import type { Subscriber, Subscription } from '../../src/core/message.js';
import { Sublist } from '../../src/core/sublist.js';
import { makeRng, seedFromEnv, subSeed } from '../fuzz/nats-frames.js';

const owner: Subscriber = { id: 1, kind: 'internal', echo: false, deliver: () => {} };
let nextSid = 1;

function sub(subject: string, oneOff = false): Subscription {
  const s: Subscription = {
    subject,
    queue: '',
    sid: String(nextSid++),
    owner,
    max: 0,
    delivered: 0,
  };
  if (oneOff) s.oneOff = true;
  return s;
}

/** A consumer's ack subscription, as consumer.ts makes it. */
const consumerSub = (stream: string, consumer: string) =>
  sub(`$JS.ACK.${stream}.${consumer}.>`, true);

const ack = (stream: string, consumer: string, seq: number) =>
  `$JS.ACK.${stream}.${consumer}.1.${seq}.${seq}.1765000000000000000.0`;

describe('Sublist: ack routes', () => {
  test('acks of four consumers interleaved: one walk each, then routes', () => {
    const sl = new Sublist();
    const subs = ['C1', 'C2', 'C3', 'C4'].map((c) => consumerSub('S', c));
    for (const s of subs) sl.insert(s);
    for (let seq = 1; seq <= 100; seq++) {
      for (let c = 0; c < 4; c++) {
        assert.deepEqual(sl.match(ack('S', `C${c + 1}`, seq)).plain, [subs[c]]);
      }
    }
    // One remembered prefix walked on every switch: 400 walks.
    assert.equal(sl.stats.ackRouteHits, 396);
    assert.equal(sl.stats.matches, 400);
    assert.equal(sl.cacheSize, 0, 'ack subjects never enter the match cache');
  });

  test('a `$JS.ACK.>` watcher added or removed is seen by the next ack', () => {
    const sl = new Sublist();
    const c = consumerSub('S', 'C');
    sl.insert(c);
    sl.match(ack('S', 'C', 1));
    assert.deepEqual(sl.match(ack('S', 'C', 2)).plain, [c]);
    const watcher = sub('$JS.ACK.>');
    sl.insert(watcher);
    assert.deepEqual(new Set(sl.match(ack('S', 'C', 3)).plain), new Set([c, watcher]));
    const hits = sl.stats.ackRouteHits;
    assert.deepEqual(new Set(sl.match(ack('S', 'C', 4)).plain), new Set([c, watcher]));
    assert.equal(sl.stats.ackRouteHits, hits + 1, 'routed again after one walk');
    const all = sub('>');
    sl.insert(all);
    assert.equal(sl.match(ack('S', 'C', 5)).plain.length, 3);
    assert.equal(sl.remove(watcher), true);
    assert.equal(sl.remove(all), true);
    assert.deepEqual(sl.match(ack('S', 'C', 6)).plain, [c]);
  });

  test('a literal ack subject subscribed is honoured; others under the consumer still routed after it goes', () => {
    const sl = new Sublist();
    const c = consumerSub('S', 'C');
    sl.insert(c);
    sl.match(ack('S', 'C', 1));
    const one = sub(ack('S', 'C', 7));
    sl.insert(one);
    assert.deepEqual(new Set(sl.match(ack('S', 'C', 7)).plain), new Set([c, one]));
    assert.deepEqual(sl.match(ack('S', 'C', 8)).plain, [c]);
    assert.equal(sl.remove(one), true);
    assert.deepEqual(sl.match(ack('S', 'C', 7)).plain, [c]);
    const hits = sl.stats.ackRouteHits;
    sl.match(ack('S', 'C', 9));
    assert.equal(sl.stats.ackRouteHits, hits + 1);
  });

  test('subscriptions that cannot reach an ack subject leave the routes fresh', () => {
    const sl = new Sublist();
    sl.insert(consumerSub('S', 'C'));
    sl.match(ack('S', 'C', 1));
    // A literal elsewhere, a wildcard under another first token, a literal under $JS.
    sl.insert(sub('orders.1'));
    sl.insert(sub('orders.*'));
    sl.insert(sub('$JS.API.INFO'));
    const hits = sl.stats.ackRouteHits;
    sl.match(ack('S', 'C', 2));
    assert.equal(sl.stats.ackRouteHits, hits + 1);
  });

  test('a consumer removed and created again under the same name gets the new subscription', () => {
    const sl = new Sublist();
    const first = consumerSub('S', 'C');
    sl.insert(first);
    sl.match(ack('S', 'C', 1));
    assert.equal(sl.remove(first), true);
    assert.deepEqual(sl.match(ack('S', 'C', 2)).plain, []);
    const again = consumerSub('S', 'C');
    sl.insert(again);
    assert.deepEqual(sl.match(ack('S', 'C', 3)).plain, [again]);
  });

  test('bounded: a full table is cleared and counted; matches stay right', () => {
    const sl = new Sublist(8, 4);
    const subs = Array.from({ length: 6 }, (_, i) => consumerSub('S', `C${i}`));
    for (const s of subs) sl.insert(s);
    for (let seq = 1; seq <= 10; seq++) {
      for (let c = 0; c < 6; c++)
        assert.deepEqual(sl.match(ack('S', `C${c}`, seq)).plain, [subs[c]]);
    }
    assert.ok(sl.stats.ackRouteEvictions > 0);
    assert.equal(sl.stats.ackRouteEvictions % 4, 0, 'cleared whole');
    assert.equal(ACK_ROUTES_MAX, 1024);
  });

  test('no route for a subject without a tail after the consumer', () => {
    const r = new AckRoutes(4);
    assert.equal(r.find('$JS.ACK.S.C.'), undefined);
    assert.equal(r.end, -1);
    assert.equal(r.find('$JS.ACK.S'), undefined);
    assert.equal(r.end, -1);
    assert.equal(r.find('$JS.ACK.S.C.1'), undefined);
    assert.equal(r.end, '$JS.ACK.S.C'.length);
    const sl = new Sublist();
    const c = consumerSub('S', 'C');
    sl.insert(c);
    assert.deepEqual(sl.match('$JS.ACK.S.C.').plain, [c]);
    assert.deepEqual(sl.match('$JS.ACK.S.C.').plain, [c]);
    assert.equal(sl.stats.ackRouteHits, 0);
  });

  test('randomised, routes bounded to 2, against a fresh sublist for every match', () => {
    const seed = seedFromEnv();
    const rng = makeRng(subSeed(seed, 91));
    const sl = new Sublist(8, 2);
    const live: Subscription[] = [];
    const pattern = (): string => {
      const t = () => rng.pick(['S', 'T', 'C', 'D', '1', '*']);
      return rng.pick([
        `$JS.ACK.${t()}.${t()}.>`,
        `$JS.ACK.${t()}.${t()}.1.*.>`,
        `$JS.*.${t()}.>`,
        `$JS.ACK.>`,
        '>',
        `*.ACK.${t()}.${t()}.1.1.1`,
        `$JS.ACK.${t()}.${t()}.1.1.1`,
        `$JS.API.${t()}`,
      ]);
    };
    for (let step = 0; step < 5000; step++) {
      const r = rng.int(30);
      if (r === 0 || live.length === 0) {
        const x = sub(pattern(), rng.chance(0.5));
        sl.insert(x);
        live.push(x);
      } else if (r === 1 || live.length > 10) {
        const [x] = live.splice(rng.int(live.length), 1);
        assert.equal(sl.remove(x!), true);
      } else {
        const subject = `$JS.ACK.${rng.pick(['S', 'T', 'C'])}.${rng.pick(['C', 'D', 'S'])}.1.${rng.pick(['1', '2'])}.1`;
        const fresh = new Sublist();
        for (const x of live) fresh.insert(x);
        const want = new Set(fresh.match(subject).plain);
        assert.deepEqual(
          new Set(sl.match(subject).plain),
          want,
          `WEFT_FUZZ_SEED=${seed} step ${step}: ${subject}`,
        );
      }
    }
    // That the routes were used at all, not how often: 60 seeds gave 560–756
    // hits, and one run gave exactly 500 (a bound of 500 failed it).
    assert.ok(
      sl.stats.ackRouteHits > 100,
      `WEFT_FUZZ_SEED=${seed}: routes used (${sl.stats.ackRouteHits})`,
    );
  });
});
