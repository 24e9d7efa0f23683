/**
 * Real Redis clients against a node's Redis face: ioredis and node-redis
 * (`redis`, RESP2 and RESP3) connect as they do against Redis (what each
 * sends on connect is run: HELLO, CLIENT SETINFO, INFO, …), run the
 * connection commands and pub/sub end to end; redis-cli (Debian's
 * redis-tools) too.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { checkFor } from '../helpers/poll.js';
import { HAVE_REDIS_CLI, type RedisNode, startRedisNode } from './helpers.js';

const run = promisify(execFile);

describe('Redis clients against the Redis face', () => {
  let node: RedisNode;
  before(async () => {
    node = await startRedisNode();
  });
  after(async () => {
    await node.close();
  });

  test('ioredis: connects (HELLO, CLIENT SETINFO, INFO ready check), connection commands', async () => {
    const r = new Redis({
      port: node.port,
      host: '127.0.0.1',
      connectionName: 'io-1',
      lazyConnect: true,
    });
    try {
      await r.connect();
      assert.equal(await r.ping(), 'PONG');
      assert.equal(await r.echo('héllo'), 'héllo');
      assert.equal(await r.client('GETNAME'), 'io-1');
      const id = await r.client('ID');
      assert.equal(typeof id, 'number');
      const info = (await r.client('INFO')) as string;
      assert.match(info, new RegExp(`^id=${id} addr=127\\.0\\.0\\.1:\\d+ .*name=io-1 `));
      assert.match(info, /lib-name=ioredis /);
      assert.equal(await r.select(0), 'OK');
      await assert.rejects(r.select(1), /SELECT is not allowed in cluster mode/);
      const text = await r.info();
      assert.match(text, /^# Server\r\nredis_version:7\./);
      assert.match(text, /# Weft\r\nweft_server_id:/);
      assert.ok(((await r.command('COUNT')) as unknown as number) > 10);
      await assert.rejects(
        r.call('NOSUCH', 'a'),
        /ERR unknown command 'NOSUCH', with args beginning with: 'a'/,
      );
      assert.equal(await r.quit(), 'OK');
    } finally {
      r.disconnect();
    }
  });

  test('ioredis: SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE receive what PUBLISH sends; PUBSUB counts', async () => {
    const pub = new Redis({ port: node.port, host: '127.0.0.1' });
    const sub = new Redis({ port: node.port, host: '127.0.0.1' });
    try {
      const got: string[][] = [];
      sub.on('message', (c: string, m: string) => got.push(['message', c, m]));
      sub.on('pmessage', (p: string, c: string, m: string) => got.push(['pmessage', p, c, m]));
      sub.on('smessage', (c: string, m: string) => got.push(['smessage', c, m]));
      assert.equal(await sub.subscribe('orders.new', 'orders.old'), 2);
      assert.equal(await sub.psubscribe('orders.*'), 3);
      assert.equal(await sub.ssubscribe('sh.1'), 1);
      assert.deepEqual(await pub.pubsub('NUMSUB', 'orders.new', 'nope'), [
        'orders.new',
        1,
        'nope',
        0,
      ]);
      assert.equal(await pub.pubsub('NUMPAT'), 1);
      assert.deepEqual(((await pub.pubsub('CHANNELS', 'orders.*')) as string[]).sort(), [
        'orders.new',
        'orders.old',
      ]);
      assert.equal(await pub.publish('orders.new', 'n1'), 2);
      assert.equal(await pub.publish('orders.x.y', 'x1'), 1);
      assert.equal(await pub.publish('other', 'o'), 0);
      assert.equal(await pub.spublish('sh.1', 's1'), 1);
      await checkFor(() => got.length === 4);
      assert.deepEqual(got, [
        ['message', 'orders.new', 'n1'],
        ['pmessage', 'orders.*', 'orders.new', 'n1'],
        ['pmessage', 'orders.*', 'orders.x.y', 'x1'],
        ['smessage', 'sh.1', 's1'],
      ]);
      await sub.unsubscribe();
      await sub.punsubscribe();
      await sub.sunsubscribe();
      assert.equal(await pub.publish('orders.new', 'n2'), 0);
      assert.equal(await sub.ping(), 'PONG');
    } finally {
      pub.disconnect();
      sub.disconnect();
    }
  });

  for (const RESP of [2, 3] as const) {
    test(`node-redis RESP${RESP}: connects, connection commands, pub/sub`, async () => {
      const c = createClient({ url: `redis://127.0.0.1:${node.port}`, RESP, name: 'nr' });
      c.on('error', () => {});
      await c.connect();
      const s = c.duplicate();
      s.on('error', () => {});
      await s.connect();
      try {
        assert.equal(await c.ping(), 'PONG');
        assert.equal(await c.echo('x'), 'x');
        assert.equal(await c.clientGetName(), 'nr');
        assert.equal(typeof (await c.clientId()), 'number');
        const info = await c.clientInfo();
        assert.equal(info.name, 'nr');
        assert.equal(info.resp, RESP);
        const got: string[][] = [];
        await s.subscribe('a.b', (m, ch) => got.push(['m', ch, m]));
        await s.pSubscribe('a.*', (m, ch) => got.push(['p', ch, m]));
        await s.sSubscribe('s.1', (m, ch) => got.push(['s', ch, m]));
        assert.equal(await c.publish('a.b', 'one'), 2);
        assert.equal(await c.sPublish('s.1', 'two'), 1);
        await checkFor(() => got.length === 3);
        assert.deepEqual(got, [
          ['m', 'a.b', 'one'],
          ['p', 'a.b', 'one'],
          ['s', 's.1', 'two'],
        ]);
        assert.deepEqual(await c.pubSubNumSub(['a.b']), { 'a.b': 1 });
        await s.unsubscribe('a.b');
        await s.pUnsubscribe('a.*');
        await s.sUnsubscribe('s.1');
        assert.equal(await c.publish('a.b', 'three'), 0);
      } finally {
        await c.quit();
        await s.quit();
      }
    });
  }

  test('redis-cli: commands, INFO sections, SUBSCRIBE receives a PUBLISH', {
    skip: HAVE_REDIS_CLI ? false : 'redis-cli is not installed',
  }, async () => {
    // Not spawnSync: the node runs in this process and must answer while redis-cli waits.
    const cli = async (...args: string[]) =>
      (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(node.port), ...args])).stdout;
    assert.equal(await cli('PING'), 'PONG\n');
    assert.equal(await cli('ECHO', 'a b'), 'a b\n');
    assert.match(await cli('INFO', 'weft'), /^# Weft\r?\nweft_server_id:/);
    assert.equal(await cli('NOPE'), "ERR unknown command 'NOPE', with args beginning with: \n\n");
    const sub = spawn('redis-cli', [
      '-h',
      '127.0.0.1',
      '-p',
      String(node.port),
      'SUBSCRIBE',
      'cli.ch',
    ]);
    let out = '';
    sub.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    try {
      await checkFor(async () => (await cli('PUBSUB', 'NUMSUB', 'cli.ch')) === 'cli.ch\n1\n', 5000);
      assert.equal(await cli('PUBLISH', 'cli.ch', 'from cli'), '1\n');
      await checkFor(() => out.includes('from cli'), 5000);
      assert.equal(out, 'subscribe\ncli.ch\n1\nmessage\ncli.ch\nfrom cli\n');
    } finally {
      sub.kill();
    }
  });
});
