/**
 * The session's order and bounds, with commands made for the test on a
 * face of their own: a command whose reply is a Promise holds the ones
 * after it (they run once it settles, as Redis runs a connection's commands
 * one after another); a `concurrent` one does not, and the replies still
 * come in request order; reading pauses at PENDING_REPLIES_MAX replies
 * waiting and at HELD_INPUT_MAX bytes behind a held command (counted), and
 * nothing is lost; a pub/sub client that does not read is closed past
 * redis.pubsub_output_limit (counted); HELLO 3 AUTH (itself a Promise)
 * holds what follows, which then answers in RESP3; redis.tls serves
 * ioredis over TLS with a client certificate naming the user.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { parseConfigText } from '../../src/config/config.js';
import type { Command } from '../../src/protocols/redis/command.js';
import { COMMANDS } from '../../src/protocols/redis/commands/index.js';
import { R } from '../../src/protocols/redis/encoder.js';
import { RedisFace } from '../../src/protocols/redis/face.js';
import { HELD_INPUT_MAX, PENDING_REPLIES_MAX } from '../../src/protocols/redis/session.js';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { checkFor } from '../helpers/poll.js';
import { RawRedis, type RedisNode, resp, startRedisNode } from './helpers.js';

/** What the test commands did, in the order they ran. */
const log: string[] = [];

function sleeper(name: string, concurrent: boolean): Command {
  return {
    name,
    arity: 3,
    flags: [],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    concurrent,
    run: (_ctx, args) => {
      const v = args[2]!.toString();
      log.push(`run ${v}`);
      return new Promise((resolve) =>
        setTimeout(() => {
          log.push(`done ${v}`);
          resolve(R.bulk(v));
        }, Number(args[1]!.toString())),
      );
    },
  };
}

/** A held command that settles when the test opens it (no timing: the test says when). */
let openGate: (() => void) | null = null;
const gate: Command = {
  name: 'gate',
  arity: 2,
  flags: [],
  firstKey: 0,
  lastKey: 0,
  step: 0,
  run: (_ctx, args) =>
    new Promise((resolve) => {
      openGate = () => resolve(R.bulk(args[1]!));
    }),
};

const note: Command = {
  name: 'note',
  arity: 2,
  flags: [],
  firstKey: 0,
  lastKey: 0,
  step: 0,
  run: (_ctx, args) => {
    log.push(`run ${args[1]!.toString()}`);
    return R.bulk(args[1]!);
  },
};

/** Answers its argument as a string bulk reply (the in-place writer's input). */
const say: Command = {
  name: 'say',
  arity: 2,
  flags: [],
  firstKey: 0,
  lastKey: 0,
  step: 0,
  run: (_ctx, args) => R.bulk(args[1]!.toString('utf8')),
};

describe('the Redis session: order and bounds', () => {
  let node: RedisNode;
  let face: RedisFace;
  let port: number;
  before(async () => {
    node = await startRedisNode({ redisPubsubOutputLimit: 256 * 1024 });
    face = new RedisFace(node.srv.node, [
      ...COMMANDS,
      sleeper('hold', false),
      sleeper('later', true),
      gate,
      note,
      say,
    ]);
    await face.start();
    port = face.listeners[0]!.port;
  });
  after(async () => {
    await face.stop();
    await node.close();
  });

  test('a Promise holds the commands after it; replies in request order', async () => {
    log.length = 0;
    const c = await RawRedis.connect(port);
    const got = await c.call(
      Buffer.concat([
        resp('hold', '60', 'a'),
        resp('note', 'b'),
        resp('hold', '1', 'c'),
        resp('note', 'd'),
      ]),
      4,
    );
    assert.equal(got, '$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n');
    assert.deepEqual(log, ['run a', 'done a', 'run b', 'run c', 'done c', 'run d']);
    c.close();
  });

  test('a short string bulk reply written in place: ASCII, UTF-8, at 64 characters and past', async () => {
    const c = await RawRedis.connect(port);
    const texts = [
      '1733500000000-0',
      '',
      'größe',
      '€uro',
      `${'a'.repeat(63)}é`,
      `é${'a'.repeat(63)}`,
      'a'.repeat(64),
      `${'a'.repeat(64)}é`,
      '😀x',
    ];
    const got = await c.call(Buffer.concat(texts.map((t) => resp('say', t))), texts.length);
    const want = texts.map((t) => `$${Buffer.byteLength(t)}\r\n${t}\r\n`).join('');
    assert.equal(Buffer.from(got, 'latin1').toString('utf8'), want);
    c.close();
  });

  test('a concurrent command lets the next ones run; their replies wait in line', async () => {
    log.length = 0;
    const c = await RawRedis.connect(port);
    const got = await c.call(
      Buffer.concat([resp('later', '60', 'a'), resp('later', '1', 'b'), resp('note', 'c')]),
      3,
    );
    assert.equal(got, '$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n');
    assert.deepEqual(log.slice(0, 3), ['run a', 'run b', 'run c']);
    c.close();
  });

  test('reading pauses at PENDING_REPLIES_MAX replies waiting, counted; all answered in order', async () => {
    const before = face.counters.pipelineStalls;
    const n = PENDING_REPLIES_MAX + 200;
    const c = await RawRedis.connect(port);
    const reqs = Array.from({ length: n }, (_, i) =>
      resp('later', i === 0 ? '50' : '0', String(i)),
    );
    const got = await c.call(Buffer.concat(reqs), n);
    const values = [...got.matchAll(/\$\d+\r\n(\d+)\r\n/g)].map((m) => Number(m[1]));
    assert.deepEqual(
      values,
      Array.from({ length: n }, (_, i) => i),
    );
    assert.ok(face.counters.pipelineStalls > before);
    c.close();
  });

  test('reading pauses at HELD_INPUT_MAX bytes behind a held command, counted; nothing is lost', async () => {
    const before = face.counters.inputStalls;
    const c = await RawRedis.connect(port);
    const big = 'x'.repeat(60 * 1024);
    const count = Math.ceil((3 * HELD_INPUT_MAX) / big.length);
    const reqs = [resp('gate', 'first'), ...Array.from({ length: count }, () => resp('echo', big))];
    openGate = null;
    c.write(Buffer.concat(reqs));
    // Held until reading paused at HELD_INPUT_MAX (whatever the machine's load), then let go.
    await checkFor(() => face.counters.inputStalls > before && openGate !== null, 20_000);
    openGate!();
    const got = await c.read(count + 1, 30_000);
    assert.ok(got.startsWith('$5\r\nfirst\r\n'));
    assert.equal(got.length, 11 + count * (big.length + 10));
    c.close();
  });

  test('HELLO 3 AUTH holds what follows, which then answers in RESP3', async () => {
    const c = await RawRedis.connect(port);
    const got = await c.call(
      Buffer.concat([resp('hello', '3', 'auth', 'default', 'any'), resp('client', 'info')]),
      2,
    );
    assert.match(got, /^%7\r\n/);
    assert.match(got, /=\d+\r\ntxt:id=\d+ .* resp=3 /);
    c.close();
  });

  test('a pub/sub client that does not read is closed past redis.pubsub_output_limit, counted', async () => {
    const closes =
      face.counters.pubsubOutputLimitCloses +
      node.srv.node.faces
        .filter((f) => f.name === 'redis')
        .reduce((n, f) => n + (f as RedisFace).counters.pubsubOutputLimitCloses, 0);
    const sub = await RawRedis.connect(node.port);
    await sub.call(resp('subscribe', 'flood'));
    sub.sock.pause();
    const pub = await RawRedis.connect(node.port);
    const payload = 'p'.repeat(32 * 1024);
    let delivered = 1;
    for (let i = 0; i < 400 && delivered > 0; i++) {
      delivered = Number((await pub.call(resp('publish', 'flood', payload))).slice(1, -2));
    }
    assert.equal(delivered, 0, 'the subscriber was closed');
    const after =
      face.counters.pubsubOutputLimitCloses +
      node.srv.node.faces
        .filter((f) => f.name === 'redis')
        .reduce((n, f) => n + (f as RedisFace).counters.pubsubOutputLimitCloses, 0);
    assert.equal(after, closes + 1);
    sub.sock.resume();
    await sub.untilClose(5000).catch(() => '');
    await checkFor(() => sub.closed);
    pub.close();
  });
});

describe('Redis over TLS (redis.tls)', () => {
  let dir: string;
  let certs: TestCerts;
  let node: RedisNode;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-redis-tls-'));
    certs = await makeCerts(dir);
    const yaml = `
redis:
  tls:
    cert_file: ${certs.server.cert}
    key_file: ${certs.server.key}
    ca_file: ${certs.ca}
    verify_and_map: true
authorization:
  users:
    - user: alice
`;
    node = await startRedisNode(parseConfigText(yaml));
  });
  after(async () => {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('ioredis with a client certificate mapped to its user: no AUTH needed', async () => {
    const r = new Redis({
      port: node.port,
      host: 'localhost',
      tls: {
        ca: readFileSync(certs.ca),
        cert: readFileSync(certs.client.cert),
        key: readFileSync(certs.client.key),
      },
    });
    try {
      assert.equal(await r.ping(), 'PONG');
      const id = (await r.client('ID')) as number;
      const conn = [...node.srv.node.connections.values()].find((x) => x.id === id);
      assert.equal(conn?.identity?.user, 'alice');
      assert.ok(conn?.tls !== null);
    } finally {
      r.disconnect();
    }
  });
});
