/**
 * Pull consumers with ack policy none, which nats-server 2.9 accepts and the
 * v3 client's ordered consumer (`js.consumers.get(stream)`) is made of: a
 * delivery counts as acknowledged (the ack floor follows what was
 * delivered, nothing awaits an ack, nothing is redelivered). Against Weft
 * or (WEFT_TEST_TARGET=nats-server) `nats-server -js`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { jetstream } from '@nats-io/jetstream';
import { connect as connectV3, type NatsConnection as NatsV3 } from '@nats-io/transport-node';
import {
  AckPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  StringCodec,
} from 'nats';
import { closeJs, type JsData, type JsTarget, jsData, openJs } from './target.js';

const sc = StringCodec();

describe('ordered and ack-none pull consumers', () => {
  let data: JsData;
  let srv: JsTarget;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;
  let v3: NatsV3;

  before(async () => {
    data = await jsData();
    ({ srv, nc, jsm, js } = await openJs(data));
    v3 = await connectV3({ servers: srv.url, reconnect: false });
  });
  after(async () => {
    await v3?.close();
    await closeJs({ srv, nc }, data);
  });

  async function stream(name: string, n: number): Promise<void> {
    await jsm.streams.add({ name, subjects: [`${name.toLowerCase()}.>`] });
    for (let i = 1; i <= n; i++) await js.publish(`${name.toLowerCase()}.${i}`, sc.encode(`m${i}`));
  }

  test('INFO announces JetStream', () => {
    assert.equal(nc.info?.jetstream, true);
    assert.equal(v3.info?.jetstream, true);
  });

  test('v3 ordered consumer: next() reads the stream in order', async () => {
    await stream('ORD', 5);
    const c = await jetstream(v3).consumers.get('ORD');
    const got: string[] = [];
    for (let i = 0; i < 5; i++) {
      const m = await c.next({ expires: 2000 });
      assert.ok(m !== null, `message ${i + 1} came`);
      got.push(`${m.seq}:${m.string()}`);
    }
    assert.deepEqual(got, ['1:m1', '2:m2', '3:m3', '4:m4', '5:m5']);
    const info = await c.info(true);
    assert.equal(info.config.ack_policy, 'none');
    assert.equal(info.num_ack_pending, 0);
    // Nothing more: next() ends empty-handed once the stream is read.
    assert.equal(await c.next({ expires: 1000 }), null);
  });

  test('v3 ordered consumer: consume() follows new messages', async () => {
    await stream('ORDC', 3);
    const c = await jetstream(v3).consumers.get('ORDC');
    const it = await c.consume({ max_messages: 10 });
    const got: number[] = [];
    for await (const m of it) {
      got.push(m.seq);
      if (m.seq === 3) await js.publish('ordc.4', sc.encode('m4'));
      if (m.seq === 4) break;
    }
    assert.deepEqual(got, [1, 2, 3, 4]);
  });

  test('a durable pull consumer with ack policy none: deliveries count as acks', async () => {
    await stream('NONE', 5);
    const ci = await jsm.consumers.add('NONE', {
      durable_name: 'N',
      ack_policy: AckPolicy.None,
    });
    assert.equal(ci.config.ack_policy, 'none');
    // As nats-server: nothing waits for an ack, so no ack wait and no ack pending limit.
    assert.equal(ci.config.ack_wait, undefined);
    assert.equal(ci.config.max_ack_pending, undefined);
    assert.equal(ci.config.max_waiting, 512);

    const first: JsMsg[] = [];
    for await (const m of js.fetch('NONE', 'N', { batch: 3, expires: 2000 })) first.push(m);
    assert.deepEqual(
      first.map((m) => m.seq),
      [1, 2, 3],
    );
    let info = await jsm.consumers.info('NONE', 'N');
    assert.deepEqual(
      { consumer_seq: info.delivered.consumer_seq, stream_seq: info.delivered.stream_seq },
      { consumer_seq: 3, stream_seq: 3 },
    );
    assert.deepEqual(
      { consumer_seq: info.ack_floor.consumer_seq, stream_seq: info.ack_floor.stream_seq },
      { consumer_seq: 3, stream_seq: 3 },
    );
    assert.equal(info.num_ack_pending, 0);
    assert.equal(info.num_pending, 2);
    // Never acked, never redelivered: the next fetch goes on from 4.
    const rest: number[] = [];
    for await (const m of js.fetch('NONE', 'N', { batch: 5, expires: 1000 })) rest.push(m.seq);
    assert.deepEqual(rest, [4, 5]);
    info = await jsm.consumers.info('NONE', 'N');
    assert.equal(info.num_redelivered, 0);
    assert.equal(info.num_pending, 0);
    assert.equal(info.ack_floor.stream_seq, 5);
  });
});
