/**
 * Redis's glob (PSUBSCRIBE, PUBSUB CHANNELS) and the channel ⇄ subject
 * mapping. The glob is fuzzed against redis-server's own matcher: random
 * channels are subscribed there and `PUBSUB CHANNELS <pattern>` (the same
 * stringmatchlen PSUBSCRIBE uses) must list exactly the channels
 * globMatch accepts. Then the same patterns end to end on a node:
 * PSUBSCRIBE, PUBLISH each channel, and each pattern gets exactly the
 * channels that match — through the subject mapping, the index and the
 * filter.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  channelTextToSubject,
  channelToSubject,
  patternToSubject,
  subjectToChannel,
} from '../../src/protocols/redis/channels.js';
import { globMatch } from '../../src/protocols/redis/glob.js';
import { checkFor } from '../helpers/poll.js';
import {
  HAVE_REDIS,
  RawRedis,
  type RedisNode,
  type ReferenceRedis,
  resp,
  startRedisNode,
  startReferenceRedis,
} from './helpers.js';

const g = (p: string, s: string) => globMatch(Buffer.from(p, 'latin1'), Buffer.from(s, 'latin1'));

/** A small seeded generator (xorshift), so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

const CHANNEL_CHARS = 'ab.c-]^\\';
const PATTERN_CHARS = 'ab.c*?[]^-\\';

function word(r: () => number, chars: string, max: number): string {
  let s = '';
  const n = Math.floor(r() * max) + (chars === PATTERN_CHARS ? 0 : 1);
  for (let i = 0; i < n; i++) s += chars[Math.floor(r() * chars.length)];
  return s;
}

describe('globMatch', () => {
  test("Redis's glob rules", () => {
    // Redis's stringmatchlen: `*` does not match the empty channel (checked below against redis-server).
    assert.equal(g('*', ''), false);
    assert.equal(g('*', 'a.b.c'), true);
    assert.equal(g('a.*', 'a.'), true);
    assert.equal(g('a.*', 'a.b.c'), true);
    assert.equal(g('a.*', 'a'), false);
    assert.equal(g('h?llo', 'hallo'), true);
    assert.equal(g('h?llo', 'hllo'), false);
    assert.equal(g('h[ae]llo', 'hello'), true);
    assert.equal(g('h[^e]llo', 'hello'), false);
    assert.equal(g('h[^e]llo', 'hallo'), true);
    assert.equal(g('h[a-b]llo', 'hbllo'), true);
    assert.equal(g('h[b-a]llo', 'hbllo'), true);
    assert.equal(g('a\\*b', 'a*b'), true);
    assert.equal(g('a\\*b', 'axb'), false);
    assert.equal(g('[abc', 'a'), true);
    assert.equal(g('**a**', 'xxa'), true);
    assert.equal(g('a*b*c', 'aXbYbZc'), true);
    assert.equal(g('a*b*c', 'aXbYbZ'), false);
  });

  test('a pathological pattern ends (backtracking is bounded)', () => {
    const p = `${'a*'.repeat(40)}b`;
    assert.equal(g(p, 'a'.repeat(200)), false);
  });
});

describe('channels ⇄ subjects', () => {
  test('a plain channel is its subject; what a subject cannot hold is escaped, and reversed', () => {
    assert.equal(channelTextToSubject('orders.new'), 'orders.new');
    assert.equal(channelTextToSubject('a b'), 'a/20b');
    assert.equal(channelTextToSubject('x..y'), 'x./.y');
    assert.equal(channelTextToSubject('.lead'), '/.lead');
    assert.equal(channelTextToSubject('trail.'), 'trail./');
    assert.equal(channelTextToSubject(''), '/');
    assert.equal(channelTextToSubject('a.*.>'), 'a./2A./3E');
    assert.equal(channelTextToSubject('s/t'), 's/2Ft');
    assert.equal(channelTextToSubject('news:eu'), 'news:eu');
    for (const c of [
      'orders.new',
      'a b',
      'x..y',
      '.',
      '..',
      '',
      'a.*.>',
      's/t',
      'tab\there',
      'é.ü',
    ]) {
      assert.equal(subjectToChannel(channelTextToSubject(c)), c, c);
    }
    assert.equal(channelToSubject(Buffer.from([0xff, 0xfe])), null);
    // MQTT's `//` (a dot inside a level) reads as a dot.
    assert.equal(subjectToChannel('v1//2.x'), 'v1.2.x');
  });

  test('patterns: exact, `prefix.*` exact, others wider and filtered', () => {
    const p = (s: string) => patternToSubject(Buffer.from(s));
    assert.deepEqual(p('orders.new'), { subject: 'orders.new', exact: true });
    assert.deepEqual(p('orders.*'), { subject: 'orders.>', exact: true });
    assert.deepEqual(p('orders.n*'), { subject: 'orders.>', exact: false });
    assert.deepEqual(p('a.b.?'), { subject: 'a.b.>', exact: false });
    assert.deepEqual(p('ord*'), { subject: '>', exact: false });
    assert.deepEqual(p('*'), { subject: '>', exact: false });
    assert.deepEqual(p('a b.*'), { subject: 'a/20b.>', exact: true });
  });
});

describe('the glob against redis-server, and end to end on a node', {
  skip: HAVE_REDIS ? false : 'redis-server is not installed',
}, () => {
  let ref: ReferenceRedis;
  let node: RedisNode;
  const r = rng(Number(process.env.GLOB_SEED ?? 15));
  const channels = [
    ...new Set(['', ...Array.from({ length: 150 }, () => word(r, CHANNEL_CHARS, 7))]),
  ];
  const patterns = [...new Set(Array.from({ length: 600 }, () => word(r, PATTERN_CHARS, 6)))];
  before(async () => {
    ref = await startReferenceRedis();
    node = await startRedisNode();
  });
  after(async () => {
    ref?.stop();
    await node?.close();
  });

  test(`${patterns.length} patterns × ${channels.length} channels: PUBSUB CHANNELS as redis-server`, async () => {
    const sub = await RawRedis.connect(ref.port);
    await sub.call(resp('subscribe', ...channels), channels.length);
    const q = await RawRedis.connect(ref.port);
    for (const p of patterns) {
      const reply = await q.call(resp('pubsub', 'channels', p));
      const theirs = [...reply.matchAll(/\$\d+\r\n([^\r]*)\r\n/g)].map((m) => m[1]!).sort();
      const ours = channels.filter((c) => g(p, c)).sort();
      assert.deepEqual(ours, theirs, `pattern ${JSON.stringify(p)}`);
    }
    sub.close();
    q.close();
  });

  test('PSUBSCRIBE on the node: each pattern receives exactly the channels it matches', async () => {
    const some = patterns.slice(0, 60);
    const sub = await RawRedis.connect(node.port);
    await sub.call(resp('psubscribe', ...some), some.length);
    const pub = await RawRedis.connect(node.port);
    let expected = 0;
    for (const c of channels) {
      const n = some.filter((p) => g(p, c)).length;
      expected += n;
      assert.equal(await pub.call(resp('publish', c, 'm')), `:${n}\r\n`, `channel ${c}`);
    }
    const got = expected === 0 ? '' : await sub.read(expected);
    const seen = [
      ...got.matchAll(/\*4\r\n\$8\r\npmessage\r\n\$\d+\r\n([^\r]*)\r\n\$\d+\r\n([^\r]*)\r\n/g),
    ];
    assert.equal(seen.length, expected);
    for (const [, p, c] of seen) assert.ok(g(p!, c!), `${p} got ${c}`);
    await checkFor(() => true);
    sub.close();
    pub.close();
  });
});
