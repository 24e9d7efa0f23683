/**
 * SSE under a client that does not read, and when idle:
 * - live: a client that never reads is closed once `http.sse_max_pending`
 *   is passed, counted as slow_consumer, while another SSE client and a
 *   NATS subscriber get every message;
 * - stream-backed: the consumer pauses instead (nothing is dropped and
 *   the bound is never passed), and the client gets everything, in order,
 *   once it reads;
 * - heartbeats (`: hb`) with a short `http.sse_heartbeat`; a stream deleted
 *   under a response ends it (stream_gone).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { checkFor } from '../helpers/poll.js';
import { SseClient, type SseNode, startSseNode } from '../helpers/sse.js';

const MAX_PENDING = 256 * 1024;

async function sseVarz(node: SseNode): Promise<{
  streams: number;
  closed: Record<string, number>;
  refused: Record<string, number>;
}> {
  const v = (await (await fetch(`${node.monitor}/varz`)).json()) as {
    weft: { faces: { http: { sse: Awaited<ReturnType<typeof sseVarz>> } } };
  };
  return v.weft.faces.http.sse;
}

describe('SSE: slow clients and idle streams', () => {
  let node: SseNode;
  let nc: NatsConnection;
  before(async () => {
    node = await startSseNode({
      httpSseMaxPending: MAX_PENDING,
      httpSseHeartbeatMs: 100,
      writeDeadlineMs: 30_000,
    });
    nc = await connect({ servers: node.natsUrl, reconnect: false });
  });
  after(async () => {
    await nc.close();
    await node.close();
  });

  test('live: a client that never reads is closed and counted; the others get everything', async () => {
    const stalled = await SseClient.openPaused(`${node.base}/v1/subscribe/slow.x`);
    const good = await SseClient.open(`${node.base}/v1/subscribe/slow.x`);
    const natsSub = nc.subscribe('slow.x');
    let natsGot = 0;
    void (async () => {
      for await (const _ of natsSub) natsGot++;
    })();
    assert.equal(stalled.status, 200);
    await checkFor(() => good.retry > 0);
    await checkFor(async () => (await sseVarz(node)).streams === 2);
    const payload = Buffer.alloc(32 * 1024, 0x61);
    let sent = 0;
    // Kernel buffers take a few MiB first; then the node's bound is reached.
    // Paced by the reading client, so only the one that does not read is slow.
    const deadline = Date.now() + 30_000;
    while (((await sseVarz(node)).closed.slow_consumer ?? 0) === 0) {
      assert.ok(Date.now() < deadline, `not closed after ${sent} messages`);
      for (let i = 0; i < 4; i++, sent++) nc.publish('slow.x', payload);
      await nc.flush();
      await checkFor(() => good.events.length === sent, 5000, 1);
    }
    assert.equal((await sseVarz(node)).closed.slow_consumer, 1);
    // Once it reads, it finds the response cut short after what the kernel held.
    stalled.resume();
    await checkFor(() => stalled.ended, 5000);
    assert.ok(stalled.events.length < sent);
    await checkFor(() => good.events.length === sent && natsGot === sent, 20_000);
    assert.ok(good.events.every((e) => e.data.length === payload.length));
    const metrics = await (await fetch(`${node.monitor}/metrics`)).text();
    assert.match(metrics, /weft_http_sse_closed_total\{reason="slow_consumer"[^}]*\} 1\n/);
    good.close();
    natsSub.unsubscribe();
  });

  test('stream-backed: the consumer waits for a client that does not read; nothing is lost', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'SLOW', subjects: ['slows.>'] });
    const paused = await SseClient.openPaused(
      `${node.base}/v1/subscribe/slows.%3E?stream=SLOW&start=first`,
    );
    assert.equal(paused.status, 200);
    const js = nc.jetstream();
    const payload = Buffer.alloc(16 * 1024, 0x62);
    const n = 600; // ~9.4 MiB: far past the bound and the kernel's buffers
    for (let i = 0; i < n; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, n - i) }, () => js.publish('slows.a', payload)),
      );
    }
    const slow = (await sseVarz(node)).closed.slow_consumer ?? 0;
    paused.resume();
    await checkFor(() => paused.events.length === n, 20_000);
    assert.deepEqual(
      paused.events.map((e) => Number(e.id)),
      Array.from({ length: n }, (_, i) => i + 1),
    );
    assert.equal((await sseVarz(node)).closed.slow_consumer ?? 0, slow);
    assert.equal(paused.ended, false);
    paused.close();
  });

  test('heartbeats while idle; a deleted stream ends its responses', async () => {
    const idle = await SseClient.open(`${node.base}/v1/subscribe/quiet.subject`);
    await checkFor(() => idle.comments.filter((c) => c === 'hb').length >= 2, 5000);
    assert.equal(idle.retry, 2000);
    idle.close();
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'GONE', subjects: ['gone.>'] });
    const c = await SseClient.open(`${node.base}/v1/subscribe/gone.%3E?stream=GONE`);
    assert.equal(c.status, 200);
    await checkFor(() => c.retry > 0);
    await jsm.streams.delete('GONE');
    await checkFor(() => c.ended, 5000);
    assert.equal((await sseVarz(node)).closed.stream_gone, 1);
  });
});
