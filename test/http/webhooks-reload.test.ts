/**
 * The config's webhooks follow a reload (SIGHUP): a changed one delivers to
 * its new URL, a new one starts, a removed one stops, an unchanged one goes
 * on; a stream webhook that is changed keeps its place in its durable
 * consumer (nothing delivered twice, nothing lost). On a node that started
 * without the HTTP face, a change is reported as needing a restart.
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

describe('webhooks of the config across a reload', () => {
  let srv: WeftServer;
  let nc: NatsConnection;
  let dir = '';
  const rx = {
    old: new Receiver(),
    moved: new Receiver(),
    kept: new Receiver(),
    added: new Receiver(),
    dropped: new Receiver(),
    stream: new Receiver(),
  };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-webhooks-reload-'));
    for (const r of Object.values(rx)) await r.start();
    srv = await startServer({
      port: 0,
      httpPort: -1,
      host: '127.0.0.1',
      dataDir: dir,
      logLevel: 'silent',
      webhooks: hooks([
        { name: 'moving', url: rx.old.url, subject: 'moving' },
        { name: 'kept', url: rx.kept.url, subject: 'kept' },
        { name: 'dropped', url: rx.dropped.url, subject: 'dropped' },
        { name: 'st', url: rx.old.url, subject: 'st.>', stream: 'ST' },
      ]),
    });
    nc = await connect({ port: srv.port });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'ST', subjects: ['st.>'] });
  });
  after(async () => {
    await nc?.close();
    await srv?.close();
    for (const r of Object.values(rx)) await r.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('changed, added, removed and unchanged webhooks after a reload', async () => {
    const js = nc.jetstream();
    const states = () =>
      (
        srv.node.faces.find((f) => f.name === 'http')?.varz?.() as {
          webhooks?: {
            webhooks?: Record<string, { state: string; lag: number; in_flight: number }>;
          };
        }
      )?.webhooks?.webhooks ?? {};
    // A stream webhook delivers what is stored once it runs (its stream was made after the start).
    await checkFor(() => states().st?.state === 'running', 10_000);
    for (const s of ['moving', 'kept', 'dropped']) nc.publish(s, sc.encode(`${s} 1`));
    await checkFor(() => rx.old.received.length === 1, 10_000);
    for (let i = 1; i <= 3; i++) await js.publish('st.a', sc.encode(`st ${i}`));
    await checkFor(() => rx.kept.received.length === 1 && rx.dropped.received.length === 1, 10_000);
    await checkFor(() => rx.old.bodies().filter((b) => b.startsWith('st ')).length === 3, 10_000);
    // Acknowledged (a POST in flight at a reload ends; its message comes again after ack_wait).
    await checkFor(() => states().st?.lag === 0 && states().st?.in_flight === 0, 10_000);

    const report = await srv.node.reload({
      ...srv.node.options,
      webhooks: hooks([
        { name: 'moving', url: rx.moved.url, subject: 'moving' },
        { name: 'kept', url: rx.kept.url, subject: 'kept' },
        { name: 'added', url: rx.added.url, subject: 'added' },
        { name: 'st', url: rx.stream.url, subject: 'st.>', stream: 'ST' },
      ]),
    });
    assert.deepEqual(report.needRestart, []);
    // The new set is running (reconfiguring is asynchronous to the reload's answer).
    const running = () => Object.keys(states()).sort();
    await checkFor(() => running().includes('added'), 10_000);
    assert.deepEqual(running(), ['added', 'kept', 'moving', 'st']);

    for (const s of ['moving', 'kept', 'dropped', 'added']) nc.publish(s, sc.encode(`${s} 2`));
    for (let i = 4; i <= 5; i++) await js.publish('st.a', sc.encode(`st ${i}`));
    await checkFor(() => {
      const n = [rx.moved, rx.kept, rx.added, rx.stream].map((r) => r.received.length);
      if (n.join() === '1,2,1,2') return true;
      throw new Error(
        `moved, kept, added, stream got ${n.join(', ')}; states ${JSON.stringify(states())}`,
      );
    }, 10_000);
    await nc.flush();
    assert.deepEqual(rx.moved.bodies(), ['moving 2'], 'the changed webhook POSTs to its new URL');
    assert.deepEqual(rx.kept.bodies(), ['kept 1', 'kept 2'], 'the unchanged one goes on');
    assert.deepEqual(rx.added.bodies(), ['added 2']);
    assert.equal(rx.dropped.received.length, 1, 'the removed one delivers no more');
    // The stream webhook kept its place: 4 and 5 at the new URL, 1–3 not again.
    assert.deepEqual(rx.stream.bodies(), ['st 4', 'st 5']);
    assert.equal(rx.old.bodies().filter((b) => b.startsWith('st ')).length, 3);
  });
});

describe('webhooks added by a reload on a node without the HTTP face', () => {
  test('reported as needing a restart', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'weft-webhooks-reload-off-'));
    const srv = await startServer({
      port: 0,
      httpPort: -1,
      host: '127.0.0.1',
      dataDir: dir,
      logLevel: 'silent',
      jetstream: false,
    });
    try {
      assert.equal(
        srv.node.faces.some((f) => f.name === 'http'),
        false,
      );
      const report = await srv.node.reload({
        ...srv.node.options,
        webhooks: hooks([{ name: 'late', url: 'http://127.0.0.1:9/', subject: 'late' }]),
      });
      assert.deepEqual(report.needRestart, ['webhooks']);
    } finally {
      await srv.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function hooks(list: Record<string, unknown>[]) {
  return parseWebhookList('webhooks', list);
}
