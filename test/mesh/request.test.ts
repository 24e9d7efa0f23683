/**
 * Request-reply across the mesh: the requester's inbox is interest like any
 * other, so replies come back over several hops; no-responders (503) when no
 * responder exists anywhere in the mesh.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ErrorCode, type NatsConnection, type NatsError, StringCodec } from 'nats';
import { chain, checkFor, type Mesh, quiet, startMesh } from './helpers.js';

const sc = StringCodec();

/** Answers `subject` with `<node>:<payload>` and counts what it handled. */
function responder(nc: NatsConnection, subject: string, who: string, queue?: string) {
  const handled: string[] = [];
  nc.subscribe(subject, {
    ...(queue !== undefined ? { queue } : {}),
    callback: (_err, m) => {
      const body = sc.decode(m.data);
      handled.push(body);
      m.respond(sc.encode(`${who}:${body}`));
    },
  });
  return handled;
}

function isNoResponders(err: unknown): boolean {
  return (err as NatsError).code === ErrorCode.NoResponders;
}

describe('request-reply over a chain of 4 (3 hops)', () => {
  let mesh: Mesh;
  before(async () => {
    mesh = await startMesh(chain(4));
  });
  after(() => mesh.stopAll());

  test('a request from a is answered by a responder on d, the first one too', async () => {
    const ncD = await mesh.node('d').connect();
    responder(ncD, 'svc.echo', 'd');
    await ncD.flush();
    await mesh.synced();
    // A fresh connection: its inbox subscription is new to the mesh when the
    // request leaves, and the reply must still find its way back.
    const req = await mesh.node('a').connect();
    const first = await req.request('svc.echo', sc.encode('hello'), { timeout: 2000 });
    assert.equal(sc.decode(first.data), 'd:hello');

    for (let i = 0; i < 50; i++) {
      const m = await req.request('svc.echo', sc.encode(`s${i}`), { timeout: 2000 });
      assert.equal(sc.decode(m.data), `d:s${i}`);
    }
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        req.request('svc.echo', sc.encode(`p${i}`), { timeout: 5000 }),
      ),
    );
    assert.deepEqual(
      replies.map((m) => sc.decode(m.data)),
      Array.from({ length: 200 }, (_, i) => `d:p${i}`),
    );
  });

  test('old-style requests (a reply subject per request, noMux) also come back', async () => {
    const ncC = await mesh.node('c').connect();
    responder(ncC, 'svc.old', 'c');
    await ncC.flush();
    await mesh.synced();
    const req = await mesh.node('a').connect();
    for (let i = 0; i < 20; i++) {
      const m = await req.request('svc.old', sc.encode(String(i)), { timeout: 2000, noMux: true });
      assert.equal(sc.decode(m.data), `c:${i}`);
    }
  });

  test('no responder anywhere in the mesh: 503 no-responders, not a timeout', async () => {
    const req = await mesh.node('a').connect();
    const t0 = Date.now();
    await assert.rejects(req.request('svc.nobody', sc.encode('x'), { timeout: 3000 }), (err) =>
      isNoResponders(err),
    );
    assert.ok(Date.now() - t0 < 2000, 'no-responders comes back at once, not after the timeout');
    // Also from a node in the middle, and with a wildcard-free subject others match nothing.
    const mid = await mesh.node('b').connect();
    await assert.rejects(
      mid.request('svc.nobody.at.all', sc.encode('x'), { timeout: 3000 }),
      (err) => isNoResponders(err),
    );
  });

  test('a responder appearing on a far node is found once its interest propagates', async () => {
    const req = await mesh.node('a').connect();
    await assert.rejects(req.request('svc.late', sc.encode('x'), { timeout: 2000 }), (err) =>
      isNoResponders(err),
    );
    const ncD = await mesh.node('d').connect();
    responder(ncD, 'svc.late', 'd');
    await ncD.flush();
    const m = await checkFor(
      () => req.request('svc.late', sc.encode('now'), { timeout: 500 }),
      3000,
      20,
    );
    assert.equal(sc.decode(m.data), 'd:now');

    // And when it leaves, requests get no-responders again.
    await ncD.close();
    await checkFor(async () => {
      await assert.rejects(req.request('svc.late', sc.encode('x'), { timeout: 500 }), (err) =>
        isNoResponders(err),
      );
    }, 3000);
  });

  test('queue-group responders on two nodes: each request handled exactly once', async () => {
    const ncC = await mesh.node('c').connect();
    const ncD = await mesh.node('d').connect();
    const hc = responder(ncC, 'svc.q', 'c', 'workers');
    const hd = responder(ncD, 'svc.q', 'd', 'workers');
    await Promise.all([ncC.flush(), ncD.flush()]);
    await mesh.synced();
    const req = await mesh.node('a').connect();
    const N = 100;
    const replies = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        req.request('svc.q', sc.encode(`q${i}`), { timeout: 5000 }),
      ),
    );
    for (const [i, m] of replies.entries())
      assert.match(sc.decode(m.data), new RegExp(`^[cd]:q${i}$`));
    // Let any second copy land before counting.
    await quiet(() => hc.length + hd.length);
    assert.equal(hc.length + hd.length, N, 'each request handled by exactly one member');
    assert.equal(hc.length, N, 'c is nearer to a than d: it takes them all');
  });
});
