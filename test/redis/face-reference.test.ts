/**
 * The Redis face against redis-server 7 on the wire: the same bytes sent to
 * both, on fresh connections, must get the same bytes back — error texts
 * (unknown command, arity, subcommands, HELLO, AUTH), subscribe mode in
 * RESP2 and RESP3, pub/sub deliveries, inline commands, pipelining order,
 * the close after a protocol error and after QUIT. Skipped, with the
 * reason, only when redis-server is missing outside CI.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  HAVE_REDIS,
  normalize,
  RawRedis,
  type RedisNode,
  type ReferenceRedis,
  resp,
  startRedisNode,
  startReferenceRedis,
} from './helpers.js';

/** A request, and how many replies it gets (pushes counted). */
type Step = [wire: string | Buffer, replies: number];

const long = 'x'.repeat(100);

/** Each case runs on a fresh connection of each server. */
const CASES: Record<string, Step[]> = {
  'unknown command with arguments': [[resp('foo', 'a', 'b'), 1]],
  'unknown command, no arguments': [['FOO\r\n', 1]],
  'unknown command, long arguments cut as Redis does': [[resp('nope', long, long, long), 1]],
  'unknown command, upper case kept': [[resp('NoPe', 'A'), 1]],
  'wrong number of arguments': [
    [resp('echo'), 1],
    [resp('ping', 'a', 'b'), 1],
    [resp('client'), 1],
    [resp('publish', 'a'), 1],
    [resp('subscribe'), 1],
    [resp('select'), 1],
    [resp('quit', 'x', 'y'), 0],
  ],
  'subcommand arity and unknown subcommands': [
    [resp('client', 'setname'), 1],
    [resp('client', 'foo'), 1],
    [resp('pubsub', 'numpat', 'x'), 1],
    [resp('pubsub', 'Nope'), 1],
    [resp('command', 'foo'), 1],
  ],
  'HELLO errors': [
    [resp('hello', '4'), 1],
    [resp('hello', 'x'), 1],
    [resp('hello', '1'), 1],
    [resp('hello', '3', 'foo'), 1],
    [resp('hello', '2', 'auth', 'u'), 1],
    [resp('hello', '2', 'setname', 'a b'), 1],
  ],
  'HELLO 3 and back to 2': [
    [resp('hello', '3'), 1],
    [resp('ping'), 1],
    [resp('client', 'getname'), 1],
    [resp('hello', '2', 'setname', 'me'), 1],
    [resp('client', 'getname'), 1],
  ],
  'AUTH without a password configured': [
    [resp('auth', 'x'), 1],
    [resp('auth', 'a', 'b', 'c'), 1],
  ],
  'PING, ECHO, SELECT, CLIENT SETNAME/GETNAME': [
    [resp('ping'), 1],
    [resp('ping', 'hello'), 1],
    [resp('echo', 'a\r\nb'), 1],
    [resp('select', '0'), 1],
    [resp('select', 'x'), 1],
    [resp('client', 'getname'), 1],
    [resp('client', 'setname', 'a b'), 1],
    [resp('client', 'setname', 'conn-1'), 1],
    [resp('client', 'getname'), 1],
  ],
  'inline commands': [
    ['PING\r\n', 1],
    ['ECHO "a b"\r\n', 1],
    ["ECHO 'it\\'s'\r\n", 1],
    ['\r\n', 0],
    ['  ping  \n', 1],
  ],
  'pipelined replies in order': [
    [
      Buffer.concat([
        resp('ping'),
        resp('echo', '1'),
        resp('nope'),
        resp('echo', '2'),
        Buffer.from('ECHO 3\r\n'),
      ]),
      5,
    ],
  ],
  'RESP2 subscribe mode': [
    [resp('subscribe', 'a', 'b'), 2],
    [resp('echo', 'x'), 1],
    [resp('ping'), 1],
    [resp('ping', 'hi'), 1],
    [resp('psubscribe', 'a*'), 1],
    [resp('ssubscribe', 's1'), 1],
    [resp('client', 'id'), 1],
    [resp('unsubscribe', 'b'), 1],
    // (UNSUBSCRIBE without names goes in Redis's hash order: one channel left, so one order.)
    [resp('unsubscribe'), 1],
    [resp('punsubscribe'), 1],
    [resp('sunsubscribe'), 1],
    [resp('ping'), 1],
  ],
  'RESP3 subscribe mode': [
    [resp('hello', '3'), 1],
    [resp('subscribe', 'a'), 1],
    [resp('echo', 'x'), 1],
    [resp('ping'), 1],
    [resp('unsubscribe', 'b'), 1],
    [resp('unsubscribe'), 1],
    [resp('punsubscribe'), 1],
  ],
  'unsubscribing when not subscribed': [
    [resp('unsubscribe'), 1],
    [resp('punsubscribe', 'x'), 1],
    [resp('sunsubscribe'), 1],
  ],
  'RESET leaves subscribe mode': [
    [resp('subscribe', 'a'), 1],
    [resp('reset'), 1],
    [resp('echo', 'back'), 1],
  ],
  'PUBSUB counts': [
    [resp('subscribe', 'c1'), 1],
    [resp('psubscribe', 'p*'), 1],
    [resp('ssubscribe', 'sh'), 1],
    [resp('reset'), 1],
    [resp('pubsub', 'numsub', 'c1', 'c2'), 1],
    [resp('pubsub', 'numpat'), 1],
    [resp('pubsub', 'channels'), 1],
    [resp('pubsub', 'shardnumsub', 'sh'), 1],
  ],
};

describe('the Redis face against redis-server on the wire', {
  skip: HAVE_REDIS ? false : 'redis-server is not installed',
}, () => {
  let ref: ReferenceRedis;
  let node: RedisNode;
  before(async () => {
    ref = await startReferenceRedis();
    node = await startRedisNode();
  });
  after(async () => {
    ref?.stop();
    await node?.close();
  });

  async function run(port: number, steps: Step[]): Promise<string[]> {
    const c = await RawRedis.connect(port);
    const out: string[] = [];
    try {
      for (const [wire, n] of steps) {
        c.write(wire);
        out.push(n === 0 ? '' : normalize(await c.read(n)));
      }
      // Nothing more than the replies counted.
      out.push(normalize(await c.call(resp('ping'), 1).catch((e: Error) => `(${e.message})`)));
    } finally {
      c.close();
    }
    return out;
  }

  for (const [name, steps] of Object.entries(CASES)) {
    test(name, async () => {
      const theirs = await run(ref.port, steps);
      const ours = await run(node.port, steps);
      assert.deepEqual(ours, theirs);
    });
  }

  test('a protocol error is answered, then the connection closes (after the replies before it)', async () => {
    const wire = Buffer.concat([resp('ping'), Buffer.from('*1\r\n$x\r\n')]);
    const got: string[] = [];
    for (const port of [ref.port, node.port]) {
      const c = await RawRedis.connect(port);
      c.write(wire);
      got.push(await c.untilClose());
    }
    assert.equal(got[1], got[0]);
    assert.match(got[0]!, /^\+PONG\r\n-ERR Protocol error: /);
  });

  test('QUIT answers +OK and closes; what follows is not run', async () => {
    const got: string[] = [];
    for (const port of [ref.port, node.port]) {
      const c = await RawRedis.connect(port);
      c.write(Buffer.concat([resp('echo', 'a'), resp('quit'), resp('echo', 'b')]));
      got.push(await c.untilClose());
    }
    assert.equal(got[1], got[0]);
    assert.equal(got[0], '$1\r\na\r\n+OK\r\n');
  });

  test('messages: SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE deliveries, in RESP2 and RESP3', async () => {
    const got: string[][] = [];
    for (const port of [ref.port, node.port]) {
      const sub2 = await RawRedis.connect(port);
      const sub3 = await RawRedis.connect(port);
      const pub = await RawRedis.connect(port);
      await sub2.call(resp('subscribe', 'news.tech'));
      await sub2.call(resp('psubscribe', 'news.*'));
      await sub3.call(resp('hello', '3'));
      await sub3.call(resp('psubscribe', 'n?ws.[st]*'));
      await sub3.call(resp('ssubscribe', 'shard.a'));
      const counts = [
        await pub.call(resp('publish', 'news.tech', 'hello world')),
        await pub.call(resp('publish', 'news.sport', Buffer.from([0, 1, 2, 0xff]))),
        await pub.call(resp('spublish', 'shard.a', 'S')),
      ];
      got.push([...counts, await sub2.read(3), await sub3.read(3)]);
      for (const c of [sub2, sub3, pub]) c.close();
    }
    assert.deepEqual(got[1], got[0]);
  });
});
