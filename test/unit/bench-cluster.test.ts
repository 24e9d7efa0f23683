/**
 * The load generator with the publisher and the subscribers on different
 * servers, against a 2-node nats-server cluster (routes): every message must
 * cross the route and be counted; interest propagation is measured; and
 * without a separate subscriber server nothing changes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ServerProc, startNatsCluster, which } from '../../bench/servers.js';
import { measureInterest } from '../../src/bench/interest.js';
import { waitForPath } from '../../src/bench/probe.js';
import { parseServerUrl } from '../../src/bench/protocol.js';
import { runBench } from '../../src/bench/runner.js';

const natsBin = which('nats-server');

describe('bench generator across a nats-server cluster', {
  skip: natsBin === null && 'nats-server is not on PATH',
}, () => {
  let a: ServerProc;
  let b: ServerProc;
  before(async () => {
    [a, b] = (await startNatsCluster(natsBin!, 2)) as [ServerProc, ServerProc];
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test('the route is up: a message published on either node reaches the other', async () => {
    const ab = await waitForPath(parseServerUrl(a.url), parseServerUrl(b.url), { timeoutMs: 5000 });
    const ba = await waitForPath(parseServerUrl(b.url), parseServerUrl(a.url), { timeoutMs: 5000 });
    assert.ok(ab >= 0 && ba >= 0);
  });

  test('pubsub with --sub-server: all 20,000 messages cross the route, none lost', async () => {
    const r = await runBench({
      workload: 'pubsub',
      server: a.url,
      subServer: b.url,
      msgs: 20_000,
      size: 16,
      subs: 1,
      timeoutMs: 20_000,
    });
    assert.deepEqual(r.errors, []);
    assert.ok(r.complete, r.ended);
    assert.equal(r.server, a.url);
    assert.equal(r.subServer, b.url);
    assert.equal(r.sub?.received, 20_000);
    assert.equal(r.sub?.lost, 0);
  });

  test('queue with --sub-server: the group on the other node gets every message once', async () => {
    const r = await runBench({
      workload: 'queue',
      server: b.url,
      subServer: a.url,
      msgs: 10_000,
      size: 32,
      subs: 3,
      timeoutMs: 20_000,
    });
    assert.ok(r.complete, r.errors.join('; '));
    assert.equal(
      r.sub?.perSub.reduce((x, y) => x + y, 0),
      10_000,
    );
  });

  test('reqrep with --sub-server: the responder is on the other node', async () => {
    const r = await runBench({
      workload: 'reqrep',
      server: a.url,
      subServer: b.url,
      msgs: 300,
      size: 16,
      subs: 0,
      timeoutMs: 20_000,
    });
    assert.ok(r.complete, r.errors.join('; '));
    assert.equal(r.latency?.samples, 300);
    assert.equal(r.subServer, b.url);
  });

  test('the same server for both, or none given, is the single-server run', async () => {
    const r = await runBench({
      workload: 'pubsub',
      server: a.url,
      subServer: a.url,
      msgs: 1000,
      size: 16,
      subs: 1,
    });
    assert.ok(r.complete);
    assert.equal(r.subServer, undefined);
  });

  test('interest propagation: every subscription on b gets a message published on a', async () => {
    const r = await measureInterest(parseServerUrl(a.url), parseServerUrl(b.url), {
      trials: 4,
      settleMs: 20,
    });
    assert.deepEqual(r.errors, []);
    assert.equal(r.misses, 0);
    assert.equal(r.fromSubMs.length, 4);
    assert.equal(r.stats.samples, 4);
    for (let i = 0; i < 4; i++) {
      assert.ok(r.fromSubMs[i]! > 0 && r.fromSubMs[i]! < 5000);
      assert.ok(r.fromPongMs[i]! >= 0 && r.fromPongMs[i]! <= r.fromSubMs[i]!);
    }
  });

  test('a path to a server that is not there fails, not hangs', async () => {
    await assert.rejects(
      waitForPath(parseServerUrl(a.url), parseServerUrl('nats://127.0.0.1:1'), { timeoutMs: 500 }),
      /ECONNREFUSED/,
    );
  });
});
