/**
 * The v3 client (`@nats-io/transport-node`) against the same server: its
 * protocol use differs in places (e.g. no-responders surfaces as a
 * RequestError caused by NoRespondersError), and it must work unchanged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  connect,
  errors,
  headers,
  type Msg,
  type NatsConnection,
  RequestError,
} from '@nats-io/transport-node';
import { startTarget, type Target } from '../helpers/harness.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

describe('@nats-io/transport-node (v3 client)', () => {
  let srv: Target;
  const conns: NatsConnection[] = [];
  const open = async (opts: Parameters<typeof connect>[0] = {}) => {
    const nc = await connect({ servers: srv.url, reconnect: false, ...opts });
    conns.push(nc);
    return nc;
  };
  before(async () => {
    srv = await startTarget();
  });
  after(async () => {
    await Promise.all(conns.map((nc) => (nc.isClosed() ? undefined : nc.close())));
    await srv.close();
  });

  test('connects and sees the server INFO', async () => {
    const nc = await open({ name: 'v3' });
    assert.equal(nc.info?.proto, 1);
    assert.equal(nc.info?.headers, true);
    assert.equal(typeof nc.info?.server_id, 'string');
    const rtt = await nc.rtt();
    assert.ok(rtt >= 0);
  });

  test('publish/subscribe with wildcards', async () => {
    const sub = await open();
    const pub = await open();
    const s = sub.subscribe('v3.*.x', { max: 3 });
    await sub.flush();
    for (const subj of ['v3.a.x', 'v3.a.b.x', 'v3.b.x', 'v3.c.x'])
      pub.publish(subj, enc.encode(subj));
    const got: string[] = [];
    for await (const m of s) got.push(m.subject);
    assert.deepEqual(got, ['v3.a.x', 'v3.b.x', 'v3.c.x']);
  });

  test('queue group delivers each message once', async () => {
    const a = await open();
    const b = await open();
    let na = 0;
    let nb = 0;
    a.subscribe('v3.q', { queue: 'g', callback: () => void na++ });
    b.subscribe('v3.q', { queue: 'g', callback: () => void nb++ });
    await Promise.all([a.flush(), b.flush()]);
    const pub = await open();
    for (let i = 0; i < 200; i++) pub.publish('v3.q', enc.encode(String(i)));
    await pub.flush();
    await Promise.all([a.flush(), b.flush()]);
    assert.equal(na + nb, 200);
  });

  test('request/reply with headers', async () => {
    const svc = await open();
    svc.subscribe('v3.svc', {
      callback: (_err: Error | null, m: Msg) => {
        const h = headers();
        h.set('Seen', m.headers?.get('Ask') ?? 'none');
        m.respond(enc.encode(`hi ${dec.decode(m.data)}`), { headers: h });
      },
    });
    await svc.flush();
    const cli = await open();
    const h = headers();
    h.set('Ask', 'yes');
    const r = await cli.request('v3.svc', enc.encode('there'), { timeout: 2000, headers: h });
    assert.equal(dec.decode(r.data), 'hi there');
    assert.equal(r.headers?.get('Seen'), 'yes');
  });

  test('no responders is reported as such', async () => {
    const cli = await open();
    await assert.rejects(
      cli.request('v3.nobody', enc.encode(''), { timeout: 5000 }),
      (err: unknown) => {
        assert.ok(err instanceof RequestError, `got ${String(err)}`);
        assert.ok(err.isNoResponders());
        assert.ok(err.cause instanceof errors.NoRespondersError);
        return true;
      },
    );
  });

  test('drain delivers what is in flight', async () => {
    const sub = await open();
    const pub = await open();
    let n = 0;
    sub.subscribe('v3.drain', { callback: () => void n++ });
    await sub.flush();
    for (let i = 0; i < 300; i++) pub.publish('v3.drain', enc.encode('x'));
    await pub.flush();
    await sub.drain();
    assert.equal(n, 300);
    assert.equal(sub.isClosed(), true);
  });
});
