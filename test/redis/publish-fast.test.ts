/**
 * The session's PUBLISH fast path (parser.ts `nextPublish`, publish.ts):
 * a PUBLISH read as byte ranges answers, delivers and refuses as the
 * command table's PUBLISH does — a pipeline of them in one write, one cut
 * byte by byte, the name in any case, a payload past the copy limit, a
 * repeated channel whose match changes as subscribers come and go, a
 * pattern subscriber, another face's subscriber; refused before AUTH
 * (NOAUTH) and in RESP2's subscribe mode, taken in RESP3's; the identity's
 * permissions still apply to a repeated channel.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, headers, type NatsConnection } from 'nats';
import { parseConfigText } from '../../src/config/config.js';
import { checkFor } from '../helpers/poll.js';
import { RawRedis, type RedisNode, resp, startRedisNode } from './helpers.js';

/** A PUBLISH written with the name as given (the fast path takes any case). */
function publish(name: string, channel: string, payload: string | Buffer): Buffer {
  return resp(name, channel, payload);
}

describe('PUBLISH fast path', () => {
  let node: RedisNode;
  let nc: NatsConnection;
  before(async () => {
    node = await startRedisNode();
    nc = await connect({ port: node.srv.port });
  });
  after(async () => {
    await nc?.close();
    await node?.close();
  });

  test('a pipeline in one write, a cut one, any case, a big payload: delivered in order', async () => {
    const sub = await RawRedis.connect(node.port);
    const psub = await RawRedis.connect(node.port);
    const pub = await RawRedis.connect(node.port);
    try {
      assert.equal(
        await sub.call(resp('subscribe', 'f.a')),
        '*3\r\n$9\r\nsubscribe\r\n$3\r\nf.a\r\n:1\r\n',
      );
      await psub.call(resp('psubscribe', 'f.*'));
      const big = Buffer.alloc(20_000, 0x62);
      const wire = Buffer.concat([
        publish('PUBLISH', 'f.a', 'one'),
        publish('publish', 'f.a', 'two'),
        publish('PubLish', 'f.b', ''),
        publish('PUBLISH', 'f.a', big),
        resp('ping'),
      ]);
      assert.equal(await pub.call(wire, 5), ':2\r\n:2\r\n:1\r\n:2\r\n+PONG\r\n');
      // One cut byte by byte: the reader waits for the whole command.
      const cut = publish('PUBLISH', 'f.a', 'three');
      for (const b of cut) pub.write(Buffer.from([b]));
      assert.equal(await pub.read(), ':2\r\n');
      const msg = (p: string | Buffer) => {
        const b = typeof p === 'string' ? Buffer.from(p) : p;
        return `*3\r\n$7\r\nmessage\r\n$3\r\nf.a\r\n$${b.length}\r\n${b.toString('latin1')}\r\n`;
      };
      assert.equal(await sub.read(4), msg('one') + msg('two') + msg(big) + msg('three'));
      const pm = (ch: string, p: string | Buffer) => {
        const b = typeof p === 'string' ? Buffer.from(p) : p;
        return `*4\r\n$8\r\npmessage\r\n$3\r\nf.*\r\n$3\r\n${ch}\r\n$${b.length}\r\n${b.toString('latin1')}\r\n`;
      };
      assert.equal(
        await psub.read(5),
        pm('f.a', 'one') + pm('f.a', 'two') + pm('f.b', '') + pm('f.a', big) + pm('f.a', 'three'),
      );
    } finally {
      sub.close();
      psub.close();
      pub.close();
    }
  });

  test('a fan-out shares one frame per protocol: every subscriber gets its own exact bytes', async () => {
    // Three RESP2 and two RESP3 subscribers of one channel, a pattern, and a
    // connection holding the channel and a pattern: payload sizes across the
    // length line's digit counts and the shared frame's bound (1024), one
    // pipeline, so that frames of one length are reused and of another remade.
    const v2 = await Promise.all([0, 1, 2].map(() => RawRedis.connect(node.port)));
    const v3 = await Promise.all([0, 1].map(() => RawRedis.connect(node.port)));
    const psub = await RawRedis.connect(node.port);
    const both = await RawRedis.connect(node.port);
    const pub = await RawRedis.connect(node.port);
    try {
      for (const s of v3) await s.call(resp('hello', '3'));
      for (const s of [...v2, ...v3]) await s.call(resp('subscribe', 'fan.x'));
      await psub.call(resp('psubscribe', 'fan.*'));
      await both.call(resp('subscribe', 'fan.x'));
      await both.call(resp('psubscribe', 'fa?.x'));
      const sizes = [0, 9, 10, 99, 100, 999, 1000, 1000, 1024, 1025, 3, 3];
      const payloads = sizes.map((n, i) => Buffer.alloc(n, 0x61 + i));
      const wire = Buffer.concat(payloads.map((p) => publish('PUBLISH', 'fan.x', p)));
      // 5 channel subscribers, the pattern, and the connection holding both (2 messages).
      assert.equal(await pub.call(wire, sizes.length), ':8\r\n'.repeat(sizes.length));
      const msg = (mark: string, p: Buffer) =>
        `${mark}3\r\n$7\r\nmessage\r\n$5\r\nfan.x\r\n$${p.length}\r\n${p.toString('latin1')}\r\n`;
      const pm = (pattern: string, p: Buffer) =>
        `*4\r\n$8\r\npmessage\r\n$${pattern.length}\r\n${pattern}\r\n$5\r\nfan.x\r\n$${p.length}\r\n${p.toString('latin1')}\r\n`;
      const n = sizes.length;
      for (const s of v2) assert.equal(await s.read(n), payloads.map((p) => msg('*', p)).join(''));
      for (const s of v3) assert.equal(await s.read(n), payloads.map((p) => msg('>', p)).join(''));
      assert.equal(await psub.read(n), payloads.map((p) => pm('fan.*', p)).join(''));
      assert.equal(
        await both.read(2 * n),
        payloads.map((p) => msg('*', p) + pm('fa?.x', p)).join(''),
      );
      // Another channel next: its own frame, not the last one's.
      await v2[0]!.call(resp('unsubscribe'));
      await v2[0]!.call(resp('subscribe', 'fan.y'));
      await v2[1]!.call(resp('subscribe', 'fan.y'));
      assert.equal(await pub.call(publish('PUBLISH', 'fan.y', 'yy')), ':3\r\n');
      const y = '*3\r\n$7\r\nmessage\r\n$5\r\nfan.y\r\n$2\r\nyy\r\n';
      assert.equal(await v2[0]!.read(), y);
      assert.equal(await v2[1]!.read(), y);
    } finally {
      for (const s of [...v2, ...v3, psub, both, pub]) s.close();
    }
  });

  test('a repeated channel: its count follows subscribers coming and going', async () => {
    const pub = await RawRedis.connect(node.port);
    const subs: RawRedis[] = [];
    try {
      assert.equal(await pub.call(publish('PUBLISH', 'g.x', 'a')), ':0\r\n');
      for (let i = 1; i <= 3; i++) {
        const s = await RawRedis.connect(node.port);
        subs.push(s);
        await s.call(resp('subscribe', 'g.x'));
        assert.equal(await pub.call(publish('PUBLISH', 'g.x', 'a')), `:${i}\r\n`);
      }
      await subs[0]!.call(resp('unsubscribe', 'g.x'));
      assert.equal(await pub.call(publish('PUBLISH', 'g.x', 'a')), ':2\r\n');
      // Another channel between two of the same one.
      assert.equal(await pub.call(publish('PUBLISH', 'g.y', 'a')), ':0\r\n');
      assert.equal(await pub.call(publish('PUBLISH', 'g.x', 'a')), ':2\r\n');
    } finally {
      pub.close();
      for (const s of subs) s.close();
    }
  });

  test('short payloads of distinct bytes, every size to 70, pipelined and cut: exact bytes in RESP2 and RESP3', async () => {
    // The word copy (payload-copy.ts) takes payloads to 64 bytes from the
    // range read; bytes all different, so a word out of place shows.
    const s2 = await RawRedis.connect(node.port);
    const s3 = await RawRedis.connect(node.port);
    const pub = await RawRedis.connect(node.port);
    try {
      await s3.call(resp('hello', '3'));
      await s2.call(resp('subscribe', 'w.x'));
      await s3.call(resp('subscribe', 'w.x'));
      const payloads = Array.from({ length: 71 }, (_, n) =>
        Buffer.from(Array.from({ length: n }, (_, i) => (n * 7 + i * 13 + 1) & 0xff)),
      );
      const wire = Buffer.concat(payloads.map((p) => publish('PUBLISH', 'w.x', p)));
      // Cut at odd places: a payload's bytes come from two reads (the reader's own buffer).
      for (let at = 0; at < wire.length; at += 97) pub.write(wire.subarray(at, at + 97));
      assert.equal(await pub.read(payloads.length), ':2\r\n'.repeat(payloads.length));
      const msg = (mark: string, p: Buffer) =>
        Buffer.concat([
          Buffer.from(`${mark}3\r\n$7\r\nmessage\r\n$3\r\nw.x\r\n$${p.length}\r\n`),
          p,
          Buffer.from('\r\n'),
        ]).toString('latin1');
      assert.equal(await s2.read(payloads.length), payloads.map((p) => msg('*', p)).join(''));
      assert.equal(await s3.read(payloads.length), payloads.map((p) => msg('>', p)).join(''));
      // A NATS message with headers: the Redis subscriber gets its payload only.
      const h = headers();
      h.set('X-A', 'b');
      nc.publish('w.x', payloads[23], { headers: h });
      await nc.flush();
      assert.equal(await s2.read(), msg('*', payloads[23]!));
      assert.equal(await s3.read(), msg('>', payloads[23]!));
    } finally {
      s2.close();
      s3.close();
      pub.close();
    }
  });

  test('a reserved channel is refused every time, repeated or after another', async () => {
    // The verdict is kept with the channel's subject (PublishCache): a
    // repeat must still be refused, a normal channel after it answered.
    const pub = await RawRedis.connect(node.port);
    const sub = await RawRedis.connect(node.port);
    try {
      await sub.call(resp('subscribe', 'r.ok'));
      const denied = `-${'NOPERM this user has no permissions to access one of the channels used as arguments'}\r\n`;
      const before = node.srv.node.security.counters.publishViolations;
      const wire = Buffer.concat([
        publish('PUBLISH', '$MQTT.sess.x', 'a'),
        publish('PUBLISH', '$MQTT.sess.x', 'b'),
        publish('PUBLISH', 'r.ok', 'c'),
        publish('PUBLISH', '$REDIS.groups', 'd'),
        publish('PUBLISH', '$REDIS.groups', 'e'),
        publish('PUBLISH', 'r.ok', 'f'),
      ]);
      assert.equal(await pub.call(wire, 6), `${denied}${denied}:1\r\n${denied}${denied}:1\r\n`);
      assert.equal(node.srv.node.security.counters.publishViolations - before, 4);
      assert.equal(
        await sub.read(2),
        '*3\r\n$7\r\nmessage\r\n$4\r\nr.ok\r\n$1\r\nc\r\n*3\r\n$7\r\nmessage\r\n$4\r\nr.ok\r\n$1\r\nf\r\n',
      );
    } finally {
      pub.close();
      sub.close();
    }
  });

  test("another face's subscriber gets the payload (a view of the range read)", async () => {
    const got: string[] = [];
    const s = nc.subscribe('h.>', {
      callback: (_e, m) => got.push(`${m.subject}=${Buffer.from(m.data).toString()}`),
    });
    await nc.flush();
    const pub = await RawRedis.connect(node.port);
    try {
      const wire = Buffer.concat([
        publish('PUBLISH', 'h.1', 'p1'),
        publish('PUBLISH', 'h.2', 'p2'),
      ]);
      assert.equal(await pub.call(wire, 2), ':1\r\n:1\r\n');
      await checkFor(() => got.length === 2);
      assert.deepEqual(got, ['h.1=p1', 'h.2=p2']);
    } finally {
      s.unsubscribe();
      pub.close();
    }
  });

  test("RESP2's subscribe mode refuses it; RESP3 publishes while subscribed", async () => {
    const c2 = await RawRedis.connect(node.port);
    const c3 = await RawRedis.connect(node.port);
    try {
      await c2.call(resp('subscribe', 'm.a'));
      const r2 = await c2.call(publish('PUBLISH', 'm.a', 'x'));
      assert.match(r2, /^-ERR Can't execute 'publish': only \(P\|S\)SUBSCRIBE/);
      await c3.call(resp('hello', '3'));
      await c3.call(resp('subscribe', 'm.a'));
      // Its own message comes back as a push, then the count (c2 holds m.a too).
      assert.equal(
        await c3.call(publish('PUBLISH', 'm.a', 'y'), 2),
        '>3\r\n$7\r\nmessage\r\n$3\r\nm.a\r\n$1\r\ny\r\n:2\r\n',
      );
    } finally {
      c2.close();
      c3.close();
    }
  });
});

describe('PUBLISH fast path with credentials', () => {
  let node: RedisNode;
  before(async () => {
    node = await startRedisNode(
      parseConfigText(`
authorization:
  users:
    - user: dev
      password: s3cret
      permissions:
        publish: { allow: ["tele.>"] }
`),
    );
  });
  after(async () => {
    await node?.close();
  });

  test('NOAUTH before AUTH; after it, permissions apply to each publish', async () => {
    const c = await RawRedis.connect(node.port);
    try {
      const wire = Buffer.concat([
        publish('PUBLISH', 'tele.a', 'x'),
        resp('auth', 'dev', 's3cret'),
        publish('PUBLISH', 'tele.a', 'x'),
        publish('PUBLISH', 'cmd.a', 'x'),
        publish('PUBLISH', 'cmd.a', 'x'),
        publish('PUBLISH', 'tele.a', 'x'),
      ]);
      const out = await c.call(wire, 6);
      assert.equal(
        out,
        '-NOAUTH Authentication required.\r\n+OK\r\n:0\r\n' +
          '-NOPERM this user has no permissions to access one of the channels used as arguments\r\n'.repeat(
            2,
          ) +
          ':0\r\n',
      );
    } finally {
      c.close();
    }
  });
});
