/**
 * Kafka ⇄ the other faces, on one node: a NATS publish into any stream is a
 * record Kafka consumers read (its subject in the Nats-Subject header, its
 * NATS headers as record headers); a Kafka produce reaches NATS subscribers
 * of the partition's subject live (`<topic>.<partition>`, or the first
 * subject of a stream made by another face); a Fetch waiting at the end of
 * a partition is woken by a NATS publish.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { headers as natsHeaders, StringCodec } from 'nats';
import { checkFor } from '../helpers/poll.js';
import { kafkaAndNats, kafkajs } from './helpers.js';
import { consumeAll } from './kcat.js';
import { WireClient } from './wire-client.js';

const sc = StringCodec();

describe('Kafka and NATS on one node', () => {
  const k = kafkaAndNats();

  before(async () => {
    const jsm = await k.nc.jetstreamManager();
    await jsm.streams.add({ name: 'shop', subjects: ['shop.>'] });
    const admin = kafkajs(k.n.broker).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 2 }] });
    await admin.disconnect();
  });

  it('a NATS publish into a stream is a record, with its subject and headers', async () => {
    const js = k.nc.jetstream();
    const h = natsHeaders();
    h.set('X-Id', '7');
    await js.publish('shop.eu.1', sc.encode('first'), { headers: h });
    await js.publish('shop.us.2', sc.encode('second'));
    const got = await consumeAll(k.n.broker, 'shop', 0, '%o|%s|%h');
    assert.deepEqual(got, [
      '0|first|X-Id=7,Nats-Subject=shop.eu.1',
      '1|second|Nats-Subject=shop.us.2',
    ]);
  });

  it('a Kafka produce reaches NATS subscribers of the partition subject, live', async () => {
    const got: { subject: string; data: string; key: string | undefined }[] = [];
    const sub = k.nc.subscribe('orders.*', {
      callback: (_e, m) =>
        got.push({ subject: m.subject, data: sc.decode(m.data), key: m.headers?.get('Kafka-Key') }),
    });
    await k.nc.flush();
    const producer = kafkajs(k.n.broker).producer();
    await producer.connect();
    await producer.send({
      topic: 'orders',
      messages: [
        { key: 'a', value: 'to-0', partition: 0 },
        { key: 'b', value: 'to-1', partition: 1 },
      ],
    });
    await producer.disconnect();
    await checkFor(() => got.length === 2, 5000);
    sub.unsubscribe();
    assert.deepEqual(
      got.sort((x, y) => x.subject.localeCompare(y.subject)),
      [
        { subject: 'orders.0', data: 'to-0', key: 'a' },
        { subject: 'orders.1', data: 'to-1', key: 'b' },
      ],
    );
    // And the JetStream view of the partition stream holds it.
    const jsm = await k.nc.jetstreamManager();
    assert.equal((await jsm.streams.info('orders~1')).state.messages, 1);
  });

  it('a record with a Nats-Msg-Id header is deduplicated as a JetStream publish is', async () => {
    const jsm = await k.nc.jetstreamManager();
    await jsm.streams.add({
      name: 'dedup',
      subjects: ['dedup.>'],
      duplicate_window: 60_000_000_000,
    });
    const producer = kafkajs(k.n.broker).producer();
    await producer.connect();
    // Separate sends: each record is stored in its own batch, the second a duplicate.
    for (const value of ['one', 'again', 'two']) {
      const id = value === 'two' ? 'id-2' : 'id-1';
      await producer.send({
        topic: 'dedup',
        messages: [{ value, headers: { 'Nats-Msg-Id': id } }],
      });
    }
    await producer.disconnect();
    const info = await jsm.streams.info('dedup');
    assert.equal(info.state.messages, 2);
    // The same id through the NATS face is a duplicate too: the window is shared.
    const ack = await k.nc.jetstream().publish('dedup.x', sc.encode('nats'), { msgID: 'id-1' });
    assert.equal(ack.duplicate, true);
    const got = await consumeAll(k.n.broker, 'dedup', 0, '%s');
    assert.deepEqual(got, ['one', 'two']);
  });

  it('a Kafka produce into a stream made by NATS goes to its first subject', async () => {
    const got: string[] = [];
    const sub = k.nc.subscribe('shop.>', {
      callback: (_e, m) => got.push(`${m.subject}|${sc.decode(m.data)}`),
    });
    await k.nc.flush();
    const producer = kafkajs(k.n.broker).producer();
    await producer.connect();
    await producer.send({ topic: 'shop', messages: [{ value: 'from-kafka' }] });
    await producer.disconnect();
    await checkFor(() => got.length === 1, 5000);
    sub.unsubscribe();
    assert.deepEqual(got, ['shop.kafka|from-kafka']);
    const jsm = await k.nc.jetstreamManager();
    assert.equal(
      (await jsm.streams.info('shop')).state.messages,
      3,
      'stored once, not captured twice',
    );
  });

  it('a Fetch waiting at the end of a partition is woken by a NATS publish', async () => {
    const w = await WireClient.open(k.n.kafkaPort);
    const started = Date.now();
    const fetch = w.send(1, 12, {
      replicaId: -1,
      maxWaitMs: 20_000,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 1,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: 'shop',
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset: 3n,
              lastFetchedEpoch: -1,
              logStartOffset: -1n,
              partitionMaxBytes: 1 << 20,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    });
    await k.nc.jetstream().publish('shop.late', sc.encode('late'));
    const r = await fetch;
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 10_000, `woken after ${elapsed}ms`);
    const part = (
      r.responses as {
        partitions: { errorCode: number; highWatermark: bigint; records: Buffer }[];
      }[]
    )[0]!.partitions[0]!;
    assert.equal(part.errorCode, 0);
    assert.equal(part.highWatermark, 4n);
    assert.ok(part.records.length > 0 && part.records.includes(Buffer.from('late')));
    w.close();
  });
});
