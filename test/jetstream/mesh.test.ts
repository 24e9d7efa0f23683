/**
 * JetStream across a mesh, with the official `nats` client: a stream lives
 * on the node that created it, and its API, its capture, its consumers and
 * their acks are reachable from every node; each request gets exactly one
 * answer; account-wide requests (names, list, info) see every node's
 * streams. Mirrors and sources on another node copy a stream, keep its
 * sequences (mirrors), mark what they copied (sources), and catch up after
 * a link outage and a restart without loss or duplicates.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AckPolicy,
  createInbox,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  StringCodec,
} from 'nats';
import { chain, checkFor, type Mesh, QUIET_MS, startMesh } from '../mesh/helpers.js';

const sc = StringCodec();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Every answer a request gets within QUIET_MS of the first (or of sending). */
async function answers(nc: NatsConnection, subject: string, body: unknown): Promise<unknown[]> {
  const inbox = createInbox();
  const got: unknown[] = [];
  const sub = nc.subscribe(inbox);
  void (async () => {
    for await (const m of sub) got.push(JSON.parse(sc.decode(m.data)));
  })();
  nc.publish(subject, sc.encode(JSON.stringify(body)), { reply: inbox });
  await checkFor(() => got.length > 0, 5000, 10);
  await sleep(QUIET_MS);
  sub.unsubscribe();
  return got;
}

/** Every message of a stream, by MSG.GET from `jsm`'s node, as seq → subject/data. */
async function contents(
  jsm: JetStreamManager,
  stream: string,
): Promise<{ seq: number; subject: string; data: string; headers: Record<string, string> }[]> {
  const info = await jsm.streams.info(stream);
  const out = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && seq > 0; seq++) {
    try {
      const m = await jsm.streams.getMessage(stream, { seq });
      const headers: Record<string, string> = {};
      if (m.header !== undefined) for (const [k, v] of m.header) headers[k] = v.join(',');
      out.push({ seq: m.seq, subject: m.subject, data: sc.decode(m.data), headers });
    } catch {
      // A gap (skipped or filtered out): not a message.
    }
  }
  return out;
}

describe('JetStream across the mesh', () => {
  let mesh: Mesh;
  const ncs: Record<string, NatsConnection> = {};
  const jsms: Record<string, JetStreamManager> = {};

  before(async () => {
    mesh = await startMesh(chain(3), { extra: { jetstream: true } });
    for (const n of ['a', 'b', 'c']) {
      ncs[n] = await mesh.node(n).connect();
      jsms[n] = await ncs[n]!.jetstreamManager();
    }
  });
  after(async () => {
    await mesh?.stopAll();
  });

  test('a stream created on one node is reachable, captures and acks from every node', async () => {
    await jsms.a!.streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
    // The owner's API interest reaches the far end of the chain.
    await checkFor(async () => (await jsms.c!.streams.info('ORDERS')).config.name === 'ORDERS');
    const jsc = ncs.c!.jetstream();
    const ack = await jsc.publish('orders.c', sc.encode('from c'));
    assert.equal(ack.stream, 'ORDERS');
    assert.equal(ack.seq, 1);
    // A plain publish on the middle node is captured too.
    ncs.b!.publish('orders.b', sc.encode('from b'));
    await checkFor(async () => (await jsms.a!.streams.info('ORDERS')).state.messages === 2);
    const names = await jsms.c!.streams.names().next();
    assert.deepEqual(names, ['ORDERS']);
    const list = await jsms.b!.streams.list().next();
    assert.deepEqual(
      list.map((s) => [s.config.name, s.state.messages]),
      [['ORDERS', 2]],
    );
    const info = await jsms.b!.getAccountInfo();
    assert.equal(info.streams, 1);
  });

  test('each request gets exactly one answer, wherever it is made', async () => {
    for (const n of ['a', 'b', 'c']) {
      const got = await answers(ncs[n]!, '$JS.API.STREAM.INFO.ORDERS', {});
      assert.equal(got.length, 1, `answers on ${n}: ${JSON.stringify(got)}`);
      assert.equal((got[0] as { config: { name: string } }).config.name, 'ORDERS');
      const missing = await answers(ncs[n]!, '$JS.API.STREAM.INFO.NOPE', {});
      assert.equal(missing.length, 1);
      assert.equal((missing[0] as { error: { err_code: number } }).error.err_code, 10059);
    }
  });

  test('a consumer on a remote stream: pull and ack from another node', async () => {
    await jsms.c!.consumers.add('ORDERS', {
      durable_name: 'far',
      ack_policy: AckPolicy.Explicit,
    });
    const js = ncs.c!.jetstream();
    const got: JsMsg[] = [];
    for await (const m of js.fetch('ORDERS', 'far', { batch: 2, expires: 2000 })) got.push(m);
    assert.deepEqual(
      got.map((m) => sc.decode(m.data)),
      ['from c', 'from b'],
    );
    for (const m of got) await m.ackAck();
    const ci = await jsms.a!.consumers.info('ORDERS', 'far');
    assert.equal(ci.ack_floor.stream_seq, 2);
    assert.equal(ci.num_ack_pending, 0);
  });

  test('a push consumer delivers to a subscriber on another node', async () => {
    const deliver = createInbox();
    const sub = ncs.c!.subscribe(deliver);
    const seen: string[] = [];
    void (async () => {
      for await (const m of sub) {
        seen.push(sc.decode(m.data));
        m.respond();
      }
    })();
    await checkFor(async () => {
      // The deliver subject's interest must reach the stream's node first.
      await jsms.b!.consumers.add('ORDERS', {
        durable_name: 'pushed',
        deliver_subject: deliver,
        ack_policy: AckPolicy.Explicit,
      });
      return seen.length === 2;
    });
    assert.deepEqual(seen, ['from c', 'from b']);
    sub.unsubscribe();
  });

  test('a stream is created where it is asked for, and every node lists both', async () => {
    await jsms.c!.streams.add({ name: 'EVENTS', subjects: ['events.>'] });
    await checkFor(async () => {
      const names = await jsms.a!.streams.names().next();
      return names.join() === 'EVENTS,ORDERS';
    });
    // Creating it again elsewhere with the same config is idempotent, answered by its owner.
    const again = await answers(ncs.a!, '$JS.API.STREAM.CREATE.EVENTS', {
      name: 'EVENTS',
      subjects: ['events.>'],
    });
    assert.equal(again.length, 1);
    assert.equal((again[0] as { error?: unknown }).error, undefined);
    await jsms.a!.streams.delete('EVENTS');
    await checkFor(async () => (await jsms.a!.streams.names().next()).join() === 'ORDERS');
  });

  test('a mirror on another node keeps the origin sequences; a source marks its copies', async () => {
    await jsms.c!.streams.add({ name: 'COPY', mirror: { name: 'ORDERS' } });
    await jsms.b!.streams.add({
      name: 'ONLYC',
      subjects: [],
      sources: [{ name: 'ORDERS', filter_subject: 'orders.c' }],
    });
    const js = ncs.a!.jetstream();
    for (let i = 0; i < 5; i++)
      await js.publish(`orders.${i % 2 === 0 ? 'c' : 'x'}`, sc.encode(`m${i}`));
    await checkFor(async () => (await jsms.c!.streams.info('COPY')).state.last_seq === 7);
    const copy = await contents(jsms.c!, 'COPY');
    const orig = await contents(jsms.a!, 'ORDERS');
    assert.deepEqual(
      copy.map((m) => [m.seq, m.subject, m.data]),
      orig.map((m) => [m.seq, m.subject, m.data]),
    );
    const info = await jsms.c!.streams.info('COPY');
    assert.equal(info.mirror?.name, 'ORDERS');
    await checkFor(async () => (await jsms.b!.streams.info('ONLYC')).state.messages === 4);
    const only = await contents(jsms.b!, 'ONLYC');
    assert.deepEqual(
      only.map((m) => [m.data, m.headers['Nats-Stream-Source']]),
      [
        ['from c', 'ORDERS 1'],
        ['m0', 'ORDERS 3'],
        ['m2', 'ORDERS 5'],
        ['m4', 'ORDERS 7'],
      ],
    );
  });

  test('mirror config errors are nats-server’s', async () => {
    await assert.rejects(
      jsms.a!.streams.add({ name: 'BAD1', subjects: ['bad.>'], mirror: { name: 'ORDERS' } }),
      /stream mirrors can not contain subjects/,
    );
    await assert.rejects(
      jsms.a!.streams.add({ name: 'BAD2', mirror: { name: 'ORDERS' }, sources: [{ name: 'X' }] }),
      /stream mirrors can not also contain other sources/,
    );
    await assert.rejects(
      jsms.c!.streams.update('COPY', {
        mirror: { name: 'ORDERS', opt_start_seq: 3 },
      } as Parameters<JetStreamManager['streams']['update']>[1]),
      /stream mirror configuration can not be updated/,
    );
  });
});

describe('mirrors across an outage and a restart', () => {
  let mesh: Mesh;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'weft-mirror-'));
    // b dials a through a proxy the test can cut.
    mesh = await startMesh(
      [
        { name: 'a', dials: [] },
        { name: 'b', dials: ['a'], proxied: ['a'] },
      ],
      { extra: { jetstream: true } },
    );
  });
  after(async () => {
    await mesh?.stopAll();
    await rm(dir, { recursive: true, force: true });
  });

  test('catches up after the link returns and after its node restarts, with no loss or duplicate', async () => {
    const nca = await mesh.node('a').connect();
    const jsma = await nca.jetstreamManager();
    const js = nca.jetstream();
    await jsma.streams.add({ name: 'SRC', subjects: ['src.>'] });
    // Restart b on a data directory the test keeps.
    await mesh.node('b').close();
    const bDir = path.join(dir, 'b');
    await mesh.add({ name: 'b', dials: ['a'], proxied: ['a'] }, { extra: { dataDir: bDir } });
    await mesh.converged();
    let ncb = await mesh.node('b').connect();
    let jsmb = await ncb.jetstreamManager();
    await checkFor(async () => (await jsmb.streams.info('SRC')).config.name === 'SRC');
    await jsmb.streams.add({ name: 'MIR', mirror: { name: 'SRC', opt_start_seq: 1 } });
    await jsmb.streams.add({ name: 'SUM', subjects: [], sources: [{ name: 'SRC' }] });
    let n = 0;
    const publish = async (k: number) => {
      for (let i = 0; i < k; i++) await js.publish('src.x', sc.encode(String(++n)));
    };
    await publish(50);
    await checkFor(async () => (await jsmb.streams.info('MIR')).state.last_seq === n);

    // The link goes down: a keeps taking messages.
    mesh.proxy('b', 'a').cut();
    await checkFor(async () => {
      const z = await mesh.node('a').meshz();
      return z.links.every((l) => l.state !== 'up');
    });
    await publish(100);
    mesh.proxy('b', 'a').heal();
    await checkFor(async () => (await jsmb.streams.info('MIR')).state.last_seq === n, 10_000);

    // b restarts: the mirror and the source resume where they were.
    await ncb.close();
    await mesh.node('b').close();
    await publish(30);
    await mesh.add({ name: 'b', dials: ['a'], proxied: ['a'] }, { extra: { dataDir: bDir } });
    ncb = await mesh.node('b').connect();
    jsmb = await ncb.jetstreamManager();
    await publish(20);
    await checkFor(async () => (await jsmb.streams.info('MIR')).state.last_seq === n, 10_000);
    await checkFor(async () => (await jsmb.streams.info('SUM')).state.messages === n, 10_000);

    const mir = await contents(jsmb, 'MIR');
    assert.deepEqual(
      mir.map((m) => [m.seq, m.data]),
      Array.from({ length: n }, (_, i) => [i + 1, String(i + 1)]),
    );
    const sum = await contents(jsmb, 'SUM');
    assert.deepEqual(
      sum.map((m) => m.data),
      Array.from({ length: n }, (_, i) => String(i + 1)),
    );
    // Nothing more arrives later: no duplicate was on its way.
    await sleep(QUIET_MS * 2);
    assert.equal((await jsmb.streams.info('SUM')).state.messages, n);
  });
});
