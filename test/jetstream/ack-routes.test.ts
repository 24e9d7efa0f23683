/**
 * Acks reach their consumer through the sublist's ack routes
 * (src/core/ack-routes.ts) exactly as through any match: acks of two
 * consumers interleaved on one connection each land; a subscriber on
 * `$JS.ACK.>` gets every ack; the same ack subjects published from another
 * account, or by a user who may not publish them, ack nothing and reach no
 * one in the consumer's account.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type Msg, type NatsConnection } from 'nats';
import { parseSecurity } from '../../src/auth/config.js';
import { startServer, type WeftServer } from '../../src/index.js';
import { checkFor, within } from '../helpers/poll.js';

const API = '$JS.API.';
const enc = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
// biome-ignore lint/suspicious/noExplicitAny: a JSON reply, read field by field
const json = (m: Msg): any => JSON.parse(Buffer.from(m.data).toString('utf8'));

describe('acks through the ack routes', () => {
  let server: WeftServer;
  let dataDir: string;
  let a: NatsConnection;
  let b: NatsConnection;
  let noAck: NatsConnection;
  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'weft-ackroutes-'));
    const security = parseSecurity({
      accounts: {
        A: {
          users: [
            { user: 'a', password: 'a' },
            { user: 'n', password: 'n', permissions: { publish: { deny: ['$JS.ACK.>'] } } },
          ],
          jetstream: 'enabled',
        },
        B: { users: [{ user: 'b', password: 'b' }], jetstream: 'enabled' },
      },
    }).security;
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      httpPort: -1,
      meshPort: -1,
      dataDir,
      logLevel: 'silent',
      security,
    });
    a = await connect({ port: server.port, user: 'a', pass: 'a' });
    b = await connect({ port: server.port, user: 'b', pass: 'b' });
    noAck = await connect({ port: server.port, user: 'n', pass: 'n' });
  });
  after(async () => {
    for (const nc of [a, b, noAck]) await nc?.close();
    await within(server.close(), 5000, 'the server to close');
    await rm(dataDir, { recursive: true, force: true });
  });

  const info = async (consumer: string) =>
    json(await a.request(`${API}CONSUMER.INFO.S.${consumer}`, enc(''), { timeout: 2000 }));

  /** Pulls `n` messages of `consumer`; their ack subjects. */
  const pull = async (consumer: string, n: number): Promise<string[]> => {
    const inbox = `pull.${consumer}`;
    const got: string[] = [];
    const sub = a.subscribe(inbox, { max: n });
    const done = (async () => {
      for await (const m of sub) got.push(m.reply!);
    })();
    a.publish(`${API}CONSUMER.MSG.NEXT.S.${consumer}`, enc({ batch: n }), { reply: inbox });
    await within(done, 5000, `${n} messages of ${consumer}`);
    return got;
  };

  it('acks of two consumers interleaved land, and a `$JS.ACK.>` watcher gets each', async () => {
    const stream = { name: 'S', subjects: ['s.>'] };
    assert.equal(json(await a.request(`${API}STREAM.CREATE.S`, enc(stream))).error, undefined);
    for (let i = 0; i < 20; i++) await a.request('s.x', enc(`m${i}`), { timeout: 2000 });
    for (const c of ['C1', 'C2']) {
      const cfg = { stream_name: 'S', config: { durable_name: c, ack_policy: 'explicit' } };
      const r = json(await a.request(`${API}CONSUMER.DURABLE.CREATE.S.${c}`, enc(cfg)));
      assert.equal(r.error, undefined);
    }
    const watched: string[] = [];
    a.subscribe('$JS.ACK.>', { callback: (_e, m) => watched.push(m.subject) });
    const watchedInB: string[] = [];
    b.subscribe('$JS.ACK.>', { callback: (_e, m) => watchedInB.push(m.subject) });
    await a.flush();
    await b.flush();
    const acks1 = await pull('C1', 10);
    const acks2 = await pull('C2', 10);
    assert.equal((await info('C1')).num_ack_pending, 10);

    // The same subjects from account B, and from a user of A who may not publish them.
    for (const s of [...acks1, ...acks2]) {
      b.publish(s, enc('+ACK'));
      noAck.publish(s, enc('+ACK'));
    }
    await b.flush();
    await noAck.flush();
    await checkFor(() => watchedInB.length === 20);
    assert.equal(
      (await info('C1')).num_ack_pending,
      10,
      'neither B nor the user denied $JS.ACK.> acked anything',
    );
    assert.equal((await info('C2')).num_ack_pending, 10);
    assert.deepEqual(watched, [], "nothing reached A's watcher");

    // Interleaved: each switch between the two consumers' routes.
    for (let i = 0; i < 10; i++) {
      a.publish(acks1[i]!, enc('+ACK'));
      a.publish(acks2[i]!, enc(''));
    }
    await a.flush();
    await checkFor(async () => (await info('C1')).num_ack_pending === 0);
    await checkFor(async () => (await info('C2')).num_ack_pending === 0);
    const c1 = await info('C1');
    assert.equal(c1.ack_floor.stream_seq, 10);
    assert.equal((await info('C2')).ack_floor.stream_seq, 10);
    await checkFor(() => watched.length === 20);
    assert.deepEqual(
      watched,
      acks1.flatMap((s, i) => [s, acks2[i]!]),
      'the watcher got every ack of A, in order',
    );
    assert.equal(watchedInB.length, 20, "A's acks did not reach B");
  });
});
