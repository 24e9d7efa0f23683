/**
 * A dead endpoint costs bounded memory and time and slows nobody else:
 * one webhook POSTs to a receiver that never answers, another to a fast
 * one. The stuck webhook holds at most `concurrency` POSTs and `queue`
 * messages (the rest are dropped and counted); the fast one keeps its
 * rate, and a NATS client keeps its round trip.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection, StringCodec } from 'nats';
import { parseWebhookList } from '../../src/protocols/http/webhooks/spec.js';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { checkFor } from '../helpers/poll.js';
import { Receiver } from './webhook-receiver.js';

const sc = StringCodec();
const N = 300;

describe('webhooks: a hanging receiver slows nobody', () => {
  let srv: WeftServer;
  let nc: NatsConnection;
  let responder: NatsConnection;
  let dir = '';
  const stuck = new Receiver(() => ({ hang: true }));
  const quick = new Receiver();

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-webhooks-iso-'));
    await stuck.start();
    await quick.start();
    srv = await startServer({
      port: 0,
      httpPort: 0,
      host: '127.0.0.1',
      dataDir: dir,
      logLevel: 'silent',
      jetstream: false,
      webhooks: parseWebhookList('webhooks', [
        {
          name: 'stuck',
          url: stuck.url,
          subject: 'load.stuck',
          concurrency: 4,
          timeout: '60s',
          queue: 50,
        },
        { name: 'quick', url: quick.url, subject: 'load.quick', concurrency: 4 },
      ]),
    });
    nc = await connect({ port: srv.port });
    responder = await connect({ port: srv.port });
    responder.subscribe('rtt', { callback: (_e, m) => m.respond(m.data) });
    await responder.flush();
  });
  after(async () => {
    await nc?.close();
    await responder?.close();
    await srv?.close();
    await stuck.stop();
    await quick.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function rttMedian(): Promise<number> {
    const t: number[] = [];
    for (let i = 0; i < 21; i++) {
      const s = performance.now();
      await nc.request('rtt', sc.encode('x'), { timeout: 2000 });
      t.push(performance.now() - s);
    }
    return t.sort((a, b) => a - b)[10]!;
  }

  async function quickRound(also: () => void): Promise<number> {
    const before = quick.received.length;
    const s = performance.now();
    for (let i = 0; i < N; i++) {
      nc.publish('load.quick', sc.encode(String(i)));
      also();
    }
    await checkFor(() => quick.received.length === before + N, 20_000);
    return performance.now() - s;
  }

  test('the fast webhook keeps its rate and NATS its round trip; the stuck one stays bounded', async () => {
    const rtt0 = await rttMedian();
    const t0 = await quickRound(() => {});
    const t1 = await quickRound(() => nc.publish('load.stuck', sc.encode('hang')));
    const rtt1 = await rttMedian();
    // Generous bounds (a shared CI machine): the point is "not blocked", not a benchmark.
    assert.ok(
      t1 < 3 * t0 + 1000,
      `fast webhook: ${N} messages in ${t0.toFixed(0)}ms alone, ${t1.toFixed(0)}ms next to the stuck one`,
    );
    assert.ok(
      rtt1 < Math.max(5 * rtt0, 100),
      `NATS round trip ${rtt0.toFixed(2)}ms → ${rtt1.toFixed(2)}ms`,
    );
    // The stuck one: 4 POSTs held, 50 queued, the rest dropped and counted.
    await checkFor(() => stuck.received.length === 4);
    const v = (await (await fetch(`http://127.0.0.1:${srv.httpPort}/varz`)).json()) as {
      weft: { faces: { http: { webhooks: { webhooks: Record<string, Record<string, number>> } } } };
    };
    const s = v.weft.faces.http.webhooks.webhooks.stuck!;
    assert.equal(s.in_flight, 4);
    assert.equal(s.lag, 50);
    assert.equal(s.dropped, N - 4 - 50);
    assert.equal(stuck.received.length, 4);
  });
});
