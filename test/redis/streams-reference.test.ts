/**
 * Redis Streams on Weft against redis-server 7 on the wire: the same
 * commands (explicit IDs, so the answers are deterministic) sent to both
 * must get the same bytes back — entries, counts, and the error texts
 * clients match on (bad IDs, XADD's ordering, COUNT, BLOCK, trimming
 * options, XSETID, XREAD's list, SCAN). Each case uses its own key. Then a
 * fuzzer: random ID arguments to XRANGE, XADD and XREAD get the same
 * answer from both. Skipped, with the reason, only when redis-server is
 * missing outside CI.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  HAVE_REDIS,
  RawRedis,
  type RedisNode,
  type ReferenceRedis,
  resp,
  startRedisNode,
  startReferenceRedis,
} from './helpers.js';

type Step = string[];

/** Entries with explicit IDs, then the commands compared. `K` is replaced by the case's key. */
const CASES: Record<string, Step[]> = {
  'XADD IDs and their errors': [
    ['xadd', 'K', '0-0', 'f', 'v'],
    ['xadd', 'K', '0', 'f', 'v'],
    ['xadd', 'K', '5-3', 'f', 'v'],
    ['xadd', 'K', '5-3', 'f', 'v'],
    ['xadd', 'K', '5-*', 'f', 'v'],
    ['xadd', 'K', '4-*', 'f', 'v'],
    ['xadd', 'K', '6', 'f', 'v'],
    ['xadd', 'K', 'abc', 'f', 'v'],
    ['xadd', 'K', '7-', 'f', 'v'],
    ['xadd', 'K', '-', 'f', 'v'],
    ['xadd', 'K', '+', 'f', 'v'],
    ['xadd', 'K', '8-1-1', 'f', 'v'],
    ['xadd', 'K', ' +9', 'f', 'v'],
    ['xadd', 'K', '10', 'f'],
    ['xadd', 'K', '10', 'f', 'v', 'g'],
    ['xadd', 'K', '18446744073709551616', 'f', 'v'],
    ['xadd', 'K', '18446744073709551615-18446744073709551615', 'f', 'v'],
    ['xadd', 'K', '*', 'f', 'v'],
    ['xadd', 'K', '18446744073709551615-*', 'f', 'v'],
    ['xlen', 'K'],
    ['xrange', 'K', '-', '+'],
  ],
  // Redis refuses a sequence its strict parse reads as negative, and hands
  // anything else to strtoull, where a `-` wraps modulo 2^64.
  'IDs whose sequence starts with a minus': [
    ['xadd', 'K', '1-1', 'f', 'v'],
    ['xadd', 'K', '3--1', 'f', 'v'],
    ['xadd', 'K', '3--9223372036854775808', 'f', 'v'],
    ['xadd', 'K', '3--18446744073709551616', 'f', 'v'],
    ['xadd', 'K', '3--', 'f', 'v'],
    ['xadd', 'K', '3--0', 'f', 'v'],
    ['xadd', 'K', '3--18446744073709551615', 'f', 'v'],
    ['xadd', 'K', '3--9223372036854775809', 'f', 'v'],
    ['xadd', 'K', '3- -5', 'f', 'v'],
    ['xadd', 'K', '4--05', 'f', 'v'],
    ['xrange', 'K', '3--18446744073709551615', '+'],
    ['xrange', 'K', '-', '3--05', 'count', '2'],
    ['xrevrange', 'K', '+', '(3--9223372036854775809'],
    ['xread', 'count', '1', 'streams', 'K', '3--18446744073709551615'],
    ['xdel', 'K', '3--0', '3--1'],
  ],
  'XADD options': [
    ['xadd', 'K', 'nomkstream', '1-1', 'f', 'v'],
    ['exists', 'K'],
    ['xadd', 'K', 'maxlen', 'x', '1-1', 'f', 'v'],
    ['xadd', 'K', 'maxlen', '-1', '1-1', 'f', 'v'],
    ['xadd', 'K', 'maxlen', '1', 'limit', '5', '1-1', 'f', 'v'],
    ['xadd', 'K', 'limit', '5', '1-1', 'f', 'v'],
    ['xadd', 'K', 'minid', '3', 'maxlen', '4', '1-1', 'f', 'v'],
    ['xadd', 'K', 'minid', 'x', '1-1', 'f', 'v'],
    ['xadd', 'K', 'maxlen', '~', '10', 'limit', '-1', '1-1', 'f', 'v'],
    ['xadd', 'K', 'foo', 'f', 'v'],
    ['xadd', 'K', '1-1', 'a', '1', 'b', '2'],
    ['xadd', 'K', '2-1', 'a', '1'],
    ['xadd', 'K', '3-1', 'a', '1'],
    ['xadd', 'K', 'maxlen', '=', '2', '4-1', 'a', '1'],
    ['xrange', 'K', '-', '+'],
    ['xadd', 'K', 'minid', '4', '5-1', 'a', '1'],
    ['xrange', 'K', '-', '+'],
    ['xadd', 'K', 'nomkstream', '6-1', 'a', '1'],
    ['xlen', 'K'],
  ],
  'XRANGE and XREVRANGE': [
    ['xadd', 'K', '1-1', 'a', '1'],
    ['xadd', 'K', '1-2', 'b', '2'],
    ['xadd', 'K', '2-1', 'c', '3'],
    ['xadd', 'K', '3-5', 'd', '4'],
    ['xrange', 'K', '-', '+'],
    ['xrange', 'K', '1', '2'],
    ['xrange', 'K', '(1-1', '+'],
    ['xrange', 'K', '-', '(3-5'],
    ['xrange', 'K', '(1', '+'],
    ['xrange', 'K', '-', '(2'],
    ['xrange', 'K', '2', '1'],
    ['xrange', 'K', '-', '+', 'count', '2'],
    ['xrange', 'K', '-', '+', 'count', '0'],
    ['xrange', 'K', '-', '+', 'count', '-1'],
    ['xrange', 'K', '-', '+', 'count', 'x'],
    ['xrange', 'K', '-', '+', 'count'],
    ['xrange', 'K', '-', '+', 'foo', '1'],
    ['xrange', 'K', '-', '+', 'count', '1', 'count', '3'],
    ['xrange', 'K', '(-', '+'],
    ['xrange', 'K', '-', '(+'],
    ['xrange', 'K', '((1', '+'],
    ['xrange', 'K', '(18446744073709551615-18446744073709551615', '+'],
    ['xrange', 'K', '-', '(0-0'],
    ['xrange', 'K', 'x', 'y'],
    ['xrevrange', 'K', '+', '-'],
    ['xrevrange', 'K', '+', '-', 'count', '3'],
    ['xrevrange', 'K', '(3-5', '(1-1'],
    ['xrevrange', 'K', '2', '1'],
    ['xrevrange', 'K', '1', '2'],
    ['xrevrange', 'K', 'x', 'y'],
    ['xrange', 'nokey-K', '-', '+'],
    ['xrevrange', 'nokey-K', '+', '-'],
  ],
  'XREAD without BLOCK': [
    ['xadd', 'K', '1-1', 'a', '1'],
    ['xadd', 'K', '2-1', 'b', '2'],
    ['xread', 'streams', 'K', '0'],
    ['xread', 'count', '1', 'streams', 'K', '0'],
    ['xread', 'streams', 'K', '1-1'],
    ['xread', 'streams', 'K', '$'],
    ['xread', 'streams', 'K', '2-1'],
    ['xread', 'streams', 'K', 'nokey-K', '0', '0'],
    ['xread', 'streams', 'nokey-K', '0'],
    ['xread', 'streams', 'K'],
    ['xread', 'streams', 'K', 'K', '0', '0', '0'],
    ['xread', 'count', 'x', 'streams', 'K', '0'],
    ['xread', 'block', 'x', 'streams', 'K', '0'],
    ['xread', 'block', '-1', 'streams', 'K', '0'],
    ['xread', 'K', '0'],
    ['xread', 'streams', 'K', '+'],
    ['xread', 'streams', 'K', '-'],
    ['xread', 'streams', 'K', 'x'],
    ['xread', 'block', '10', 'streams', 'K', '$'],
    ['xread', 'block', '10', 'streams', 'K', '0'],
  ],
  'XDEL, XTRIM, XLEN': [
    ['xadd', 'K', '1-1', 'a', '1'],
    ['xadd', 'K', '2-1', 'a', '2'],
    ['xadd', 'K', '3-1', 'a', '3'],
    ['xadd', 'K', '4-1', 'a', '4'],
    ['xadd', 'K', '5-1', 'a', '5'],
    ['xdel', 'K', '2-1', '2-1', '9-9', '3'],
    ['xdel', 'K', 'x'],
    ['xdel', 'K', '+'],
    ['xlen', 'K'],
    ['xtrim', 'K', 'maxlen', '3'],
    ['xtrim', 'K', 'maxlen', '=', '2'],
    ['xrange', 'K', '-', '+'],
    ['xtrim', 'K', 'minid', '5'],
    ['xrange', 'K', '-', '+'],
    ['xtrim', 'K'],
    ['xtrim', 'K', 'limit', '1'],
    ['xtrim', 'K', 'maxlen', '1', 'limit', '1'],
    ['xtrim', 'K', 'foo', '1'],
    ['xtrim', 'K', 'maxlen', 'x'],
    ['xtrim', 'nokey-K', 'maxlen', '1'],
    ['xtrim', 'nokey-K', 'foo'],
    ['xinfo', 'stream', 'nokey-K', 'foo'],
    ['xdel', 'nokey-K', '1-1'],
    ['xlen', 'nokey-K'],
    ['xdel', 'K', '5-1'],
    ['xlen', 'K'],
    ['xadd', 'K', '5-1', 'a', '1'],
    ['xadd', 'K', '5-*', 'a', '1'],
  ],
  XSETID: [
    ['xsetid', 'nokey-K', '1-1'],
    ['xadd', 'K', '5-5', 'a', '1'],
    ['xsetid', 'K', '5-4'],
    ['xsetid', 'K', 'x'],
    ['xsetid', 'K', '9-9', 'entriesadded', '-1'],
    ['xsetid', 'K', '9-9', 'entriesadded', '0'],
    ['xsetid', 'K', '9-9', 'maxdeletedid', '10-0'],
    ['xsetid', 'K', '9-9', 'foo', '1'],
    ['xsetid', 'K', '9-9', 'entriesadded', 'x'],
    ['xsetid', 'K', '9-9', 'entriesadded', '7', 'maxdeletedid', '8-0'],
    ['xadd', 'K', '9-9', 'a', '1'],
    ['xadd', 'K', '9-*', 'a', '1'],
    ['xsetid', 'K', '9-5'],
  ],
  'XINFO STREAM errors and keyspace': [
    ['xinfo', 'stream', 'nokey-K'],
    ['xadd', 'K', '1-1', 'a', '1'],
    ['xinfo', 'stream', 'K', 'foo'],
    ['xinfo', 'stream', 'K', 'full', 'count'],
    ['xinfo', 'stream', 'K', 'full', 'count', 'x'],
    ['type', 'K'],
    ['type', 'nokey-K'],
    ['exists', 'K', 'K', 'nokey-K'],
    ['ttl', 'K'],
    ['ttl', 'nokey-K'],
    ['get', 'K'],
    ['hset', 'K', 'a', 'b'],
    ['lpush', 'K', 'a'],
    ['scan', 'x'],
    ['scan', '0', 'count', '0'],
    ['scan', '0', 'foo', 'bar'],
    ['scan', '0', 'count'],
    ['del', 'K', 'nokey-K'],
    ['exists', 'K'],
    ['del', 'K'],
  ],
};

describe('Redis Streams against redis-server on the wire', {
  skip: HAVE_REDIS ? false : 'redis-server is not installed',
}, () => {
  let ref: ReferenceRedis;
  let node: RedisNode;
  let refConn: RawRedis;
  let ourConn: RawRedis;
  before(async () => {
    ref = await startReferenceRedis();
    node = await startRedisNode({ jetstream: true });
    refConn = await RawRedis.connect(ref.port);
    ourConn = await RawRedis.connect(node.port);
  });
  after(async () => {
    refConn?.close();
    ourConn?.close();
    ref?.stop();
    await node?.close();
  });

  let n = 0;
  for (const [name, steps] of Object.entries(CASES)) {
    test(name, async () => {
      const key = `k${++n}`;
      for (const step of steps) {
        const wire = resp(...step.map((a) => a.replace(/K/g, key)));
        const theirs = await refConn.call(wire);
        const ours = await ourConn.call(wire);
        assert.equal(ours, theirs, `${step.join(' ')}`);
      }
    });
  }

  test('fuzz: random IDs get the same answers from XRANGE, XADD, XREAD and XDEL', async () => {
    const key = 'fuzz';
    for (const id of ['1-1', '2-5', '3-0']) {
      assert.equal(
        await refConn.call(resp('xadd', key, id, 'f', 'v')),
        `$${id.length}\r\n${id}\r\n`,
      );
      await ourConn.call(resp('xadd', key, id, 'f', 'v'));
    }
    const alphabet = [
      '0',
      '1',
      '2',
      '3',
      '9',
      '-',
      '+',
      '(',
      '*',
      ' ',
      '\t',
      'x',
      '$',
      '18446744073709551615',
      '18446744073709551616',
      '00',
    ];
    const pick = (): string => {
      const len = 1 + (randomBytes(1)[0]! % 6);
      let s = '';
      for (const b of randomBytes(len)) s += alphabet[b % alphabet.length];
      return s;
    };
    for (let i = 0; i < 300; i++) {
      const a = pick();
      const b = pick();
      const cmds = [
        resp('xrange', key, a, b),
        resp('xrevrange', key, a, b, 'count', '2'),
        resp('xread', 'count', '1', 'streams', key, a),
        resp('xadd', `${key}-add`, 'nomkstream', a, 'f', 'v'),
        resp('xdel', `${key}-nokey`, a),
      ];
      for (const wire of cmds) {
        const theirs = await refConn.call(wire);
        const ours = await ourConn.call(wire);
        assert.equal(ours, theirs, `${JSON.stringify(wire.toString('latin1'))}`);
      }
    }
  });
});
