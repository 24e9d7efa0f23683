/**
 * Slow consumers, node-wide: subscribers that stop reading (raw sockets,
 * paused, so the kernel buffers fill and then the server's) are closed by the
 * write deadline or by the bound on bytes queued to all clients, counted in
 * /varz, while the node keeps serving everyone else.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NatsConnection } from 'nats';
import {
  checkFor,
  monitorJson,
  onlyOn,
  type RawClient,
  type rawPool,
  startTargetFor,
  type Target,
} from '../helpers/harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;

async function varz(srv: Target): Promise<Record<string, unknown>> {
  return monitorJson(srv, '/varz');
}

async function slowConsumers(srv: Target): Promise<number> {
  const n = (await varz(srv)).slow_consumers;
  assert.equal(typeof n, 'number');
  return n as number;
}

interface ClosedConn {
  cid: number;
  reason: string;
}

async function closedConns(srv: Target): Promise<ClosedConn[]> {
  const z = await monitorJson<{ connections: ClosedConn[] }>(
    srv,
    '/connz?state=closed&limit=10000',
  );
  return z.connections;
}

/** A raw subscriber on `subjects` that has stopped reading. */
async function stalled(
  raw: ReturnType<typeof rawPool>,
  srv: Target,
  subjects: string[],
): Promise<RawClient> {
  const c = await raw.handshake(srv.port);
  for (const [i, s] of subjects.entries()) c.send(`SUB ${s} ${i + 1}\r\n`);
  await c.ping();
  c.pause();
  return c;
}

/** Publishes `count` messages of `size` bytes to `subject`, then round-trips a PING. */
async function burst(nc: NatsConnection, subject: string, size: number, count: number) {
  const data = new Uint8Array(size).fill(120);
  for (let i = 0; i < count; i++) nc.publish(subject, data);
  await nc.flush();
}

describe('slow consumers', () => {
  test('stalled subscribers are closed at the write deadline and counted in /varz', async (t) => {
    // max_pending is far away: only the write deadline can close them.
    const { srv, pool, raw } = await startTargetFor(t, {
      writeDeadlineMs: 200,
      maxPayload: 64 * KiB,
    });
    const before = await slowConsumers(srv);
    const subs: RawClient[] = [];
    for (let i = 0; i < 4; i++) subs.push(await stalled(raw, srv, ['flood']));

    const pub = await pool.connect();
    let published = 0;
    // The kernel takes several MiB per stalled socket before the server's
    // writes stop; then the deadline runs. Flood until all four are counted.
    await checkFor(
      async () => {
        assert.ok(published < 4096, `not all closed after ${published} × 32 KiB`);
        await burst(pub, 'flood', 32 * KiB, 32);
        published += 32;
        return (await slowConsumers(srv)) >= before + subs.length;
      },
      30_000,
      0,
    );
    assert.equal(await slowConsumers(srv), before + subs.length);
    const cids = new Set(subs.map((s) => s.info.client_id));
    const closed = (await closedConns(srv)).filter((c) => cids.has(c.cid));
    assert.deepEqual(
      closed.map((c) => c.reason),
      subs.map(() => 'Slow Consumer (Write Deadline)'),
    );
    for (const s of subs) await s.discardUntilClosed(10_000);
    // The publisher was never the one cut off.
    await pub.flush();
    assert.equal(pub.isClosed(), false);
  });

  test(
    'the node-wide bound closes the biggest holder first; a healthy subscriber gets everything',
    onlyOn('weft', 'nats-server has no bound on the bytes queued to all clients'),
    async (t) => {
      const { srv, pool, raw } = await startTargetFor(t, {
        maxPendingTotal: 8 * MiB,
        writeDeadlineMs: 120_000,
        maxPayload: 64 * KiB,
      });
      const before = await slowConsumers(srv);
      // `big` gets three times what `small` gets: it holds the most once both are stuck.
      const big = await stalled(raw, srv, ['flood.a', 'flood.b', 'flood.c']);
      const small = await stalled(raw, srv, ['flood.a']);
      const healthy = await pool.connect();
      let got = 0;
      healthy.subscribe('flood.*', {
        callback: () => {
          got++;
        },
      });
      await healthy.flush();

      const pub = await pool.connect();
      let published = 0;
      await checkFor(
        async () => {
          assert.ok(published < 3 * 4096, `no slow consumer after ${published} × 16 KiB`);
          for (const s of ['flood.a', 'flood.b', 'flood.c']) await burst(pub, s, 16 * KiB, 16);
          published += 48;
          return (await slowConsumers(srv)) > before;
        },
        30_000,
        0,
      );
      const ours = (list: ClosedConn[]) =>
        list
          .filter((c) => c.cid === big.info.client_id || c.cid === small.info.client_id)
          .map((c) => [c.cid, c.reason]);
      assert.deepEqual(
        ours(await closedConns(srv)),
        [[big.info.client_id, 'Slow Consumer (Pending Total)']],
        'the biggest holder is closed first, the smaller one is still open',
      );
      // The smaller one goes next, once the flood goes on.
      await checkFor(
        async () => {
          assert.ok(published < 6 * 4096, `small not closed after ${published} × 16 KiB`);
          await burst(pub, 'flood.a', 16 * KiB, 32);
          published += 32;
          return (await slowConsumers(srv)) >= before + 2;
        },
        30_000,
        0,
      );
      assert.deepEqual(ours(await closedConns(srv)), [
        [big.info.client_id, 'Slow Consumer (Pending Total)'],
        [small.info.client_id, 'Slow Consumer (Pending Total)'],
      ]);
      await healthy.flush();
      assert.equal(got, published, 'the healthy subscriber received every message');
      assert.equal(healthy.isClosed(), false);
      const v = await varz(srv);
      const weft = v.weft as Record<string, number>;
      assert.ok(weft.pending_total_hits >= 2, 'pending_total_hits counts each pass');
      assert.equal(weft.slow_consumers_pending_total, 2);
      assert.ok(
        weft.pending_total <= 8 * MiB,
        `pending_total ${weft.pending_total} under the bound`,
      );
      const metrics = await (await fetch(`http://127.0.0.1:${srv.httpPort}/metrics`)).text();
      assert.match(metrics, /^weft_pending_total_hits_total\{[^}]*\} [1-9]/m);
      assert.match(metrics, /^weft_client_pending_bytes\{/m);
      await big.discardUntilClosed(10_000);
      await small.discardUntilClosed(10_000);
    },
  );

  test('a read that fans out widely is parsed in slices, in order, nothing lost', async (t) => {
    const { srv, pool, raw } = await startTargetFor(t, {});
    // 200 subscriptions on one connection make each message 200 deliveries.
    const wide = await raw.handshake(srv.port);
    for (let i = 1; i <= 200; i++) wide.send(`SUB fan ${i}\r\n`);
    await wide.ping();
    let wideBytes = 0;
    wide.socket.removeAllListeners('data');
    wide.socket.on('data', (d: Buffer) => {
      wideBytes += d.length;
    });
    const sub = await pool.connect();
    const seen: number[] = [];
    sub.subscribe('fan', {
      callback: (_e, m) => seen.push(Number(new TextDecoder().decode(m.data))),
    });
    await sub.flush();
    const N = 5000;
    const pub = await raw.handshake(srv.port);
    let frames = '';
    for (let i = 0; i < N; i++) frames += `PUB fan ${String(i).length}\r\n${i}\r\n`;
    pub.send(frames); // one write: reads of up to 64 KiB, each ~2,000 × 201 deliveries
    await pub.ping(30_000);
    await checkFor(() => seen.length === N, 30_000);
    assert.deepEqual(
      seen,
      Array.from({ length: N }, (_, i) => i),
      'every message, in publish order',
    );
    // Each of the 200 MSG frames per message reached the wide subscriber too.
    const perMsg = (i: number, sid: number) =>
      `MSG fan ${sid} ${String(i).length}\r\n${i}\r\n`.length;
    let expected = 0;
    for (let i = 0; i < N; i++) for (let sid = 1; sid <= 200; sid++) expected += perMsg(i, sid);
    await checkFor(() => wideBytes >= expected, 30_000);
    assert.equal(wideBytes, expected);
    if (srv.kind === 'weft') {
      const weft = (await varz(srv)).weft as Record<string, number>;
      assert.ok(weft.read_slices > 0, 'the reads were cut into slices');
      assert.ok(weft.output_chunk_allocs > 0, 'output chunks are counted node-wide');
    }
  });

  test('the node answers PING throughout while stalled subscribers fill up', async (t) => {
    // Neither bound is near: the stalled subscribers stay, holding what they were sent.
    const { srv, pool, raw } = await startTargetFor(t, {
      writeDeadlineMs: 60_000,
      maxPendingTotal: 1024 * MiB,
      maxPayload: 64 * KiB,
    });
    const subs: RawClient[] = [];
    for (let i = 0; i < 20; i++) subs.push(await stalled(raw, srv, ['flood']));
    const probe = await raw.handshake(srv.port);
    const pub = await pool.connect();
    // 12 MiB to each: more than the kernel takes for a socket that is not read.
    for (let i = 0; i < 12; i++) await burst(pub, 'flood', 32 * KiB, 32);
    let flooding = true;
    let flooded = 0;
    const flood = (async () => {
      while (flooding && flooded < 24 * MiB) {
        await burst(pub, 'flood', 32 * KiB, 32);
        flooded += MiB;
      }
    })();
    try {
      // Each PING is answered within a generous bound (the point: never
      // seconds, as when a fan-out to stuck sockets held the event loop).
      let slowest = 0;
      for (let i = 0; i < 40; i++) {
        const t0 = performance.now();
        await probe.ping(2000);
        slowest = Math.max(slowest, performance.now() - t0);
      }
      assert.ok(slowest < 2000, `slowest PING ${slowest.toFixed(0)} ms`);
    } finally {
      flooding = false;
      await flood;
    }
    // The stalled subscribers were there all along.
    const open = await monitorJson<{ num_connections: number }>(srv, '/connz');
    assert.equal(open.num_connections, subs.length + 2, 'stalled subscribers still connected');
    assert.equal(await slowConsumers(srv), 0, 'nobody was cut off');
  });
});
