/**
 * A produced record's value reaches the stream and live NATS subscribers
 * byte for byte, whoever listens: the produce path hands the store a view of
 * the request (the store copies what it keeps, file and memory storage
 * alike) and copies the value out of the request only for a live delivery
 * (a plain subscriber, a queue group), so a batch produced while nobody
 * listens, then one while a plain and a queued subscriber listen, must both
 * be stored exactly and the second delivered exactly, in order.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { StorageType, type StreamConfig } from 'nats';
import { checkFor } from '../helpers/poll.js';
import { kafkaAndNats, kafkajs } from './helpers.js';

/** Values of several sizes (empty, one byte, about 1 KiB, over a read chunk) and a tombstone. */
function values(): (Buffer | null)[] {
  return [0, 1, 1024, 70 * 1024, 3, 2048]
    .map((n) => randomBytes(n) as Buffer | null)
    .concat([null, randomBytes(100)]);
}

describe('Kafka produce: values stored and delivered live byte for byte', () => {
  const k = kafkaAndNats();

  for (const storage of [StorageType.File, StorageType.Memory]) {
    it(`${storage} storage: nobody listening, then a plain and a queued subscriber`, async () => {
      const stream = `live_${storage}`;
      const jsm = await k.nc.jetstreamManager();
      await jsm.streams.add({
        name: stream,
        subjects: [`${stream}.>`],
        storage,
      } as Partial<StreamConfig>);
      const producer = kafkajs(k.n.broker, { retry: { retries: 0 } }).producer();
      await producer.connect();
      const plain: Buffer[] = [];
      const queued: Buffer[] = [];
      try {
        // One request each: all the records of a send go in one batch.
        const quiet = values();
        await producer.send({ topic: stream, messages: quiet.map((value) => ({ value })) });
        const sub = k.nc.subscribe(`${stream}.>`, {
          callback: (_e, m) => plain.push(Buffer.from(m.data)),
        });
        const qsub = k.nc.subscribe(`${stream}.>`, {
          queue: 'q',
          callback: (_e, m) => queued.push(Buffer.from(m.data)),
        });
        await k.nc.flush();
        const heard = values();
        await producer.send({ topic: stream, messages: heard.map((value) => ({ value })) });
        const want = heard.map((v) => v ?? Buffer.alloc(0));
        await checkFor(() => plain.length >= want.length && queued.length >= want.length, 5000);
        sub.unsubscribe();
        qsub.unsubscribe();
        // Only the second batch was delivered, each value exactly.
        assert.deepEqual(plain, want);
        assert.deepEqual(queued, want);
        const all = [...quiet, ...heard].map((v) => v ?? Buffer.alloc(0));
        assert.equal((await jsm.streams.info(stream)).state.messages, all.length);
        for (let i = 0; i < all.length; i++) {
          const m = await jsm.streams.getMessage(stream, { seq: i + 1 });
          assert.deepEqual(Buffer.from(m.data), all[i], `stored record ${i + 1}`);
        }
      } finally {
        await producer.disconnect();
      }
    });
  }
});
