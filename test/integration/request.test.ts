/**
 * Request/reply with the official `nats` client, including the no-responders
 * status (503) the server sends when nobody is listening.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, type NatsError, StringCodec } from 'nats';
import { flushAll } from '../helpers/clients.js';
import { useTarget } from '../helpers/harness.js';

const sc = StringCodec();

describe('request/reply', () => {
  const ctx = useTarget();

  test('a request gets the responder’s reply', async () => {
    const svc = await ctx.pool.connect();
    svc.subscribe('math.double', {
      callback: (_err, m) => {
        m.respond(sc.encode(String(Number(sc.decode(m.data)) * 2)));
      },
    });
    await svc.flush();
    const cli = await ctx.pool.connect();
    const reply = await cli.request('math.double', sc.encode('21'), { timeout: 2000 });
    assert.equal(sc.decode(reply.data), '42');
  });

  test('200 concurrent requests each get their own answer', async () => {
    const svc = await ctx.pool.connect();
    svc.subscribe('echo.svc', {
      callback: (_err, m) => {
        m.respond(m.data);
      },
    });
    await svc.flush();
    const cli = await ctx.pool.connect();
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        cli.request('echo.svc', sc.encode(`r${i}`), { timeout: 5000 }),
      ),
    );
    assert.deepEqual(
      replies.map((r) => sc.decode(r.data)),
      Array.from({ length: 200 }, (_, i) => `r${i}`),
    );
  });

  test('old-style requests (a fresh inbox per request) work too', async () => {
    const svc = await ctx.pool.connect();
    svc.subscribe('old.style', {
      callback: (_err, m) => {
        m.respond(sc.encode(`re:${m.reply?.startsWith('_INBOX.') ? 'inbox' : m.reply}`));
      },
    });
    await svc.flush();
    const cli = await ctx.pool.connect();
    const r = await cli.request('old.style', sc.encode('x'), { timeout: 2000, noMux: true });
    assert.equal(sc.decode(r.data), 're:inbox');
  });

  test('a queue group of responders answers each request exactly once', async () => {
    const conns = await Promise.all([1, 2, 3].map(() => ctx.pool.connect()));
    const handled = [0, 0, 0];
    conns.forEach((nc, i) => {
      nc.subscribe('ctx.pool.svc', {
        queue: 'responders',
        callback: (_err, m) => {
          handled[i]!++;
          m.respond(sc.encode(String(i)));
        },
      });
    });
    await flushAll(...conns);
    const cli = await ctx.pool.connect();
    for (let i = 0; i < 30; i++)
      await cli.request('ctx.pool.svc', sc.encode('q'), { timeout: 2000 });
    await flushAll(...conns);
    assert.equal(
      handled.reduce((a, b) => a + b, 0),
      30,
    );
  });

  test('no responders: the request fails fast with code 503', async () => {
    const cli = await ctx.pool.connect();
    const start = Date.now();
    await assert.rejects(
      cli.request('nobody.home', sc.encode('hello?'), { timeout: 5000 }),
      (err: NatsError) => {
        assert.equal(err.code, ErrorCode.NoResponders);
        assert.equal(err.code, '503');
        return true;
      },
    );
    // It is the server's 503 status, not the client's timeout.
    assert.ok(Date.now() - start < 4000, 'answered well before the timeout');
  });

  test('no responders also for old-style requests', async () => {
    const cli = await ctx.pool.connect();
    await assert.rejects(
      cli.request('nobody.home.either', sc.encode(''), { timeout: 5000, noMux: true }),
      (err: NatsError) => err.code === ErrorCode.NoResponders,
    );
  });

  test('a listener that does not reply: the request times out instead of 503', async () => {
    const svc = await ctx.pool.connect();
    svc.subscribe('silent.svc');
    await svc.flush();
    const cli = await ctx.pool.connect();
    await assert.rejects(
      cli.request('silent.svc', sc.encode('?'), { timeout: 300 }),
      (err: NatsError) => err.code === ErrorCode.Timeout,
    );
  });

  test('a reply can go to any subject, including one set by hand', async () => {
    const svc = await ctx.pool.connect();
    let seenReply: string | undefined;
    svc.subscribe('manual.svc', {
      callback: (_err, m) => {
        seenReply = m.reply;
        m.respond(sc.encode('done'));
      },
    });
    await svc.flush();
    const cli = await ctx.pool.connect();
    const box = cli.subscribe('my.reply.box', { max: 1 });
    await cli.flush();
    cli.publish('manual.svc', sc.encode('x'), { reply: 'my.reply.box' });
    for await (const m of box) assert.equal(sc.decode(m.data), 'done');
    assert.equal(box.getReceived(), 1);
    assert.equal(seenReply, 'my.reply.box');
  });
});
