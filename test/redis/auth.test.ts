/**
 * Redis logins are the node's identities: AUTH <password> on a node with a
 * token alone (requirepass style) behaves as redis-server with requirepass
 * — byte for byte, checked against one; AUTH <user> <password> and HELLO 3
 * AUTH against the node's users, with ioredis and node-redis; permissions
 * on the mapped subjects answer NOPERM; RESET logs out; auth_timeout
 * closes a connection that never logs in; a reload that refuses the
 * credentials closes the connection; max_connections answers Redis's words.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { parseConfigText } from '../../src/config/config.js';
import { checkFor } from '../helpers/poll.js';
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

const USERS = `
authorization:
  users:
    - user: dev
      password: s3cret
      permissions:
        publish: { allow: ["tele.>"] }
        subscribe: { allow: ["cmd.>", "tele.>"] }
    - user: ops
      password: ops
`;

describe('AUTH with a token alone, against redis-server with requirepass', {
  skip: HAVE_REDIS ? false : 'redis-server is not installed',
}, () => {
  let ref: ReferenceRedis;
  let node: RedisNode;
  before(async () => {
    ref = await startReferenceRedis(['--requirepass', 'pw-1']);
    node = await startRedisNode(parseConfigText('authorization: { token: pw-1 }'));
  });
  after(async () => {
    ref?.stop();
    await node?.close();
  });

  const steps: [Buffer, number][] = [
    [resp('ping'), 1],
    [resp('echo', 'x'), 1],
    [resp('nope', 'a'), 1],
    [resp('echo'), 1],
    [resp('subscribe', 'a'), 1],
    [resp('hello', '3'), 1],
    [resp('auth', 'wrong'), 1],
    [resp('hello', '3', 'auth', 'default', 'wrong'), 1],
    [resp('auth', 'pw-1'), 1],
    [resp('ping'), 1],
    [resp('auth', 'default', 'pw-1'), 1],
    [resp('hello', '3', 'auth', 'default', 'pw-1', 'setname', 'me'), 1],
    [resp('client', 'getname'), 1],
    [resp('reset'), 1],
    [resp('ping'), 1],
  ];

  test('the same replies as redis-server, step by step', async () => {
    const got: string[][] = [];
    for (const port of [ref.port, node.port]) {
      const c = await RawRedis.connect(port);
      const out: string[] = [];
      for (const [wire, n] of steps) out.push(normalize(await c.call(wire, n)));
      c.close();
      got.push(out);
    }
    assert.deepEqual(got[1], got[0]);
    assert.equal(got[0]![0], '-NOAUTH Authentication required.\r\n');
    assert.equal(got[0]![6], '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
  });

  test('ioredis and node-redis log in with the password', async () => {
    const io = new Redis({ port: node.port, host: '127.0.0.1', password: 'pw-1' });
    assert.equal(await io.ping(), 'PONG');
    io.disconnect();
    const nr = createClient({ url: `redis://:pw-1@127.0.0.1:${node.port}` });
    nr.on('error', () => {});
    await nr.connect();
    assert.equal(await nr.ping(), 'PONG');
    await nr.quit();
    const bad = new Redis({
      port: node.port,
      host: '127.0.0.1',
      password: 'nope',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    const errors: string[] = [];
    bad.on('error', (e: Error) => errors.push(e.message));
    // As against Redis: the error event says WRONGPASS, connect() rejects as closed.
    await assert.rejects(bad.connect(), /Connection is closed/);
    assert.deepEqual(errors, ['WRONGPASS invalid username-password pair or user is disabled.']);
    bad.disconnect();
  });
});

describe('AUTH with users and permissions', () => {
  let node: RedisNode;
  before(async () => {
    node = await startRedisNode({ ...parseConfigText(USERS), authTimeoutMs: 300 });
  });
  after(() => node.close());

  test('AUTH user password and HELLO 3 AUTH log in; a wrong one is WRONGPASS', async () => {
    const c = await RawRedis.connect(node.port);
    assert.equal(await c.call(resp('ping')), '-NOAUTH Authentication required.\r\n');
    assert.equal(
      await c.call(resp('auth', 'dev', 'nope')),
      '-WRONGPASS invalid username-password pair or user is disabled.\r\n',
    );
    assert.equal(await c.call(resp('auth', 'dev', 's3cret')), '+OK\r\n');
    assert.equal(await c.call(resp('ping')), '+PONG\r\n');
    c.close();
    const h = await RawRedis.connect(node.port);
    assert.match(await h.call(resp('hello', '3', 'auth', 'ops', 'ops')), /^%7\r\n/);
    assert.equal(await h.call(resp('ping')), '+PONG\r\n');
    h.close();
  });

  test('the connection is a redis connection of its user in the registry (/connz)', async () => {
    const io = new Redis({ port: node.port, host: '127.0.0.1', username: 'ops', password: 'ops' });
    try {
      const id = (await io.client('ID')) as number;
      const conn = [...node.srv.node.connections.values()].find((x) => x.id === id);
      assert.equal(conn?.face, 'redis');
      assert.equal(conn?.identity?.user, 'ops');
      assert.equal(conn?.client?.lang, 'ioredis');
    } finally {
      io.disconnect();
    }
  });

  test('permissions: PUBLISH and SUBSCRIBE outside them get NOPERM; inside they work', async () => {
    const dev = createClient({
      url: `redis://dev:s3cret@127.0.0.1:${node.port}`,
    });
    dev.on('error', () => {});
    await dev.connect();
    const sub = dev.duplicate();
    await sub.connect();
    try {
      await assert.rejects(dev.publish('cmd.x', 'no'), /^\[?.*NOPERM this user has no permissions/);
      await assert.rejects(
        sub.subscribe(['tele.a', 'other'], () => {}),
        /NOPERM/,
      );
      await assert.rejects(
        sub.pSubscribe('t*', () => {}),
        /NOPERM/,
      );
      const got: string[] = [];
      await sub.pSubscribe('tele.*', (m) => got.push(m));
      assert.equal(await dev.publish('tele.a', 'yes'), 1);
      await checkFor(() => got.length === 1);
      assert.deepEqual(got, ['yes']);
    } finally {
      await dev.quit();
      await sub.quit();
    }
  });

  test('RESET logs out on a node that needs credentials', async () => {
    const c = await RawRedis.connect(node.port);
    assert.equal(await c.call(resp('auth', 'ops', 'ops')), '+OK\r\n');
    assert.equal(await c.call(resp('reset')), '+RESET\r\n');
    assert.equal(await c.call(resp('ping')), '-NOAUTH Authentication required.\r\n');
    c.close();
  });

  test('a connection that never logs in is closed after auth_timeout', async () => {
    const c = await RawRedis.connect(node.port);
    assert.equal(await c.untilClose(3000), '');
  });

  test('a reload that narrows the permissions drops the subscriptions no longer allowed', async () => {
    const c = await RawRedis.connect(node.port);
    assert.equal(await c.call(resp('auth', 'dev', 's3cret')), '+OK\r\n');
    await c.call(resp('subscribe', 'tele.a', 'cmd.x'), 2);
    const o = node.srv.node.options;
    await node.srv.node.reload({
      ...o,
      ...parseConfigText(`
authorization:
  users:
    - user: dev
      password: s3cret
      permissions:
        publish: { allow: ["tele.>"] }
        subscribe: { allow: ["tele.>"] }
    - user: ops
      password: ops
`),
    });
    const ops = await RawRedis.connect(node.port);
    assert.equal(await ops.call(resp('auth', 'ops', 'ops')), '+OK\r\n');
    assert.equal(
      await ops.call(resp('pubsub', 'numsub', 'tele.a', 'cmd.x')),
      '*4\r\n$6\r\ntele.a\r\n:1\r\n$5\r\ncmd.x\r\n:0\r\n',
    );
    assert.equal(await ops.call(resp('publish', 'tele.a', 'still')), ':1\r\n');
    assert.match(await c.read(1), /still/);
    c.close();
    ops.close();
  });

  test('a reload that removes the user closes its connection', async () => {
    const c = await RawRedis.connect(node.port);
    assert.equal(await c.call(resp('auth', 'dev', 's3cret')), '+OK\r\n');
    const o = node.srv.node.options;
    await node.srv.node.reload({
      ...o,
      ...parseConfigText('authorization: { users: [ { user: ops, password: ops } ] }'),
    });
    await c.untilClose(3000);
    assert.equal(c.closed, true);
  });
});

describe('max_connections', () => {
  let node: RedisNode;
  before(async () => {
    node = await startRedisNode({ maxConnections: 1 });
  });
  after(() => node.close());

  test("past it a connection gets Redis's -ERR max number of clients reached, then the close", async () => {
    const a = await RawRedis.connect(node.port);
    assert.equal(await a.call(resp('ping')), '+PONG\r\n');
    const b = await RawRedis.connect(node.port);
    assert.equal(await b.untilClose(), '-ERR max number of clients reached\r\n');
    a.close();
  });
});
