/**
 * Message headers with the official `nats` client: multi-valued keys, exact
 * round-trips, headers on requests and replies, and header-only messages.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { headers, type Msg, StringCodec, type Subscription } from 'nats';
import { useTarget } from '../helpers/harness.js';

const sc = StringCodec();

async function first(sub: Subscription): Promise<Msg> {
  for await (const m of sub) return m;
  throw new Error('subscription ended without a message');
}

describe('headers', () => {
  const ctx = useTarget();

  test('the server announces header support', async () => {
    const nc = await ctx.pool.connect();
    assert.equal(nc.info?.headers, true);
  });

  test('headers round-trip exactly, with multi-valued keys', async () => {
    const sub = await ctx.pool.connect();
    const pub = await ctx.pool.connect();
    const s = sub.subscribe('h.basic', { max: 1 });
    await sub.flush();
    const h = headers();
    h.append('Trace-Id', 'abc-123');
    h.append('Multi', 'one');
    h.append('Multi', 'two');
    h.append('Multi', 'three');
    h.append('lower-case-key', 'Value With Spaces: and colons');
    h.append('Empty', '');
    pub.publish('h.basic', sc.encode('body'), { headers: h });
    const m = await first(s);
    assert.equal(sc.decode(m.data), 'body');
    assert.ok(m.headers, 'headers arrived');
    assert.equal(m.headers.get('Trace-Id'), 'abc-123');
    assert.deepEqual(m.headers.values('Multi'), ['one', 'two', 'three']);
    assert.equal(m.headers.get('lower-case-key'), 'Value With Spaces: and colons');
    assert.equal(m.headers.has('Empty'), true);
    assert.deepEqual(m.headers.keys().sort(), ['Empty', 'Multi', 'Trace-Id', 'lower-case-key']);
  });

  test('a message with headers and an empty body', async () => {
    const nc = await ctx.pool.connect();
    const s = nc.subscribe('h.empty', { max: 1 });
    const h = headers();
    h.set('Only', 'headers');
    nc.publish('h.empty', undefined, { headers: h });
    const m = await first(s);
    assert.equal(m.data.length, 0);
    assert.equal(m.headers?.get('Only'), 'headers');
  });

  test('messages without headers have none; headers do not leak between messages', async () => {
    const nc = await ctx.pool.connect();
    const s = nc.subscribe('h.mix', { max: 3 });
    const h = headers();
    h.set('K', 'v');
    nc.publish('h.mix', sc.encode('1'));
    nc.publish('h.mix', sc.encode('2'), { headers: h });
    nc.publish('h.mix', sc.encode('3'));
    const got: Msg[] = [];
    for await (const m of s) got.push(m);
    assert.equal(got[0]!.headers, undefined);
    assert.equal(got[1]!.headers?.get('K'), 'v');
    assert.equal(got[2]!.headers, undefined);
    assert.deepEqual(
      got.map((m) => sc.decode(m.data)),
      ['1', '2', '3'],
    );
  });

  test('request and reply both carry headers', async () => {
    const svc = await ctx.pool.connect();
    svc.subscribe('h.svc', {
      callback: (_err, m) => {
        const rh = headers();
        rh.set('Echo-Of', m.headers?.get('Request-Id') ?? 'missing');
        rh.append('Tag', 'a');
        rh.append('Tag', 'b');
        m.respond(sc.encode('ok'), { headers: rh });
      },
    });
    await svc.flush();
    const cli = await ctx.pool.connect();
    const h = headers();
    h.set('Request-Id', 'req-7');
    const r = await cli.request('h.svc', sc.encode('?'), { timeout: 2000, headers: h });
    assert.equal(sc.decode(r.data), 'ok');
    assert.equal(r.headers?.get('Echo-Of'), 'req-7');
    assert.deepEqual(r.headers?.values('Tag'), ['a', 'b']);
  });

  test('large header blocks survive intact', async () => {
    const nc = await ctx.pool.connect();
    const s = nc.subscribe('h.big', { max: 1 });
    const h = headers();
    for (let i = 0; i < 200; i++) h.append(`Key-${i}`, 'v'.repeat(100) + i);
    nc.publish('h.big', sc.encode('b'), { headers: h });
    const m = await first(s);
    for (let i = 0; i < 200; i += 37) assert.equal(m.headers?.get(`Key-${i}`), 'v'.repeat(100) + i);
    assert.equal(m.headers?.keys().length, 200);
  });
});
