/**
 * The load generator end to end against the reference nats-server, started on
 * a free port: every message published must be counted by the subscribers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ServerProc, startNatsServer, which } from '../../bench/servers.js';
import { parseServerUrl } from '../../src/bench/protocol.js';
import { runBench } from '../../src/bench/runner.js';
import { runStorm } from '../../src/bench/storm.js';

const natsBin = which('nats-server');

describe('bench generator against nats-server', {
  skip: natsBin === null && 'nats-server is not on PATH',
}, () => {
  let server: ServerProc;
  before(async () => {
    server = await startNatsServer(natsBin!);
  });
  after(async () => {
    await server?.stop();
  });

  test('pubsub: all 20,000 messages are received', async () => {
    const r = await runBench({
      workload: 'pubsub',
      server: server.url,
      msgs: 20_000,
      size: 16,
      subs: 1,
      timeoutMs: 20_000,
    });
    assert.deepEqual(r.errors, []);
    assert.equal(r.ended, 'done');
    assert.equal(r.pub.msgs, 20_000);
    assert.equal(r.sub?.received, 20_000);
    assert.equal(r.sub?.lost, 0);
    assert.ok(r.complete);
    assert.ok(r.pub.msgsPerSec > 0);
    assert.ok((r.latency?.samples ?? 0) > 0, 'one-way latency samples');
  });

  test('spread: subjects in turn through wildcard patterns all arrive', async () => {
    for (const spread of [
      { subjects: 5000, patterns: 0 },
      { subjects: 2000, patterns: 100 },
    ]) {
      const r = await runBench({
        workload: 'pubsub',
        server: server.url,
        msgs: 12_000,
        size: 16,
        subs: 1,
        spread,
        timeoutMs: 20_000,
      });
      assert.ok(r.complete, `${JSON.stringify(spread)}: ${r.ended} ${r.errors.join('; ')}`);
      assert.equal(r.sub?.received, 12_000);
    }
  });

  test('storm: every pair delivers its one message; health PINGs are answered', async () => {
    const r = await runStorm(parseServerUrl(server.url), { pairs: 300, subjects: 1000 });
    assert.deepEqual(r.errors, []);
    assert.equal(r.delivered, r.due);
    assert.equal(r.due, 300);
    assert.ok(r.stormMs > 0);
  });

  test('queue: deliveries over the group equal the published count', async () => {
    const r = await runBench({
      workload: 'queue',
      server: server.url,
      msgs: 20_000,
      size: 32,
      subs: 3,
      timeoutMs: 20_000,
    });
    assert.ok(r.complete, r.errors.join('; '));
    assert.equal(r.sub?.perSub.length, 3);
    assert.equal(
      r.sub?.perSub.reduce((a, b) => a + b, 0),
      20_000,
    );
  });

  test('reqrep: every request gets its reply and a latency', async () => {
    const r = await runBench({
      workload: 'reqrep',
      server: server.url,
      msgs: 500,
      size: 16,
      subs: 0,
      timeoutMs: 20_000,
    });
    assert.ok(r.complete, r.errors.join('; '));
    assert.equal(r.latency?.samples, 500);
    assert.ok(r.latency!.p50 > 0 && r.latency!.p50 <= r.latency!.p99);
  });

  test('a server that is not there is an error, not a hang', async () => {
    await assert.rejects(
      runBench({ workload: 'pubsub', server: 'nats://127.0.0.1:1', msgs: 10, size: 16, subs: 1 }),
      /ECONNREFUSED/,
    );
  });
});
