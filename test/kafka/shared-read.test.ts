/**
 * Plain-TCP Kafka clients read into the shared read buffer
 * (src/connection/shared-read.ts): a read's bytes are valid only during
 * the call. Reads are poisoned here (each overwritten after its call, as
 * WEFT_POISON_READS=1 does), so what the face keeps past a read without
 * copying it — a frame not read whole, a group member's metadata, a
 * produced value waiting for its fsync before the live publish — shows as
 * 0xee bytes; so does a frame gathered over reads into a pooled buffer,
 * overwritten when given back for the next request.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { EachMessagePayload } from 'kafkajs';
import { StorageType, type StreamConfig } from 'nats';
import { poisonReads } from '../../src/connection/shared-read.js';
import type { KafkaFace } from '../../src/protocols/kafka/face.js';
import { checkFor } from '../helpers/poll.js';
import { kafkaAndNats, kafkajs } from './helpers.js';

describe('Kafka reads of the shared buffer, poisoned', () => {
  before(() => poisonReads(true));
  after(() => poisonReads(false));
  const k = kafkaAndNats();

  it('produced values are stored and delivered live exactly; a group consumes them', async () => {
    const jsm = await k.nc.jetstreamManager();
    await jsm.streams.add({
      name: 'poisoned',
      subjects: ['poisoned.>'],
      storage: StorageType.File,
    } as Partial<StreamConfig>);
    const live: Buffer[] = [];
    const sub = k.nc.subscribe('poisoned.>', {
      callback: (_e, m) => live.push(Buffer.from(m.data)),
    });
    await k.nc.flush();
    // A request within one read (its values are views of it), then one
    // over a read chunk (64 KiB: its frame straddles reads).
    const small = [10, 1024, 5, 3000].map((n) => randomBytes(n));
    const large = [70 * 1024, 7].map((n) => randomBytes(n));
    const values = [...small, ...large];
    const kafka = kafkajs(k.n.broker, { retry: { retries: 0 } });
    const producer = kafka.producer();
    await producer.connect();
    try {
      for (const batch of [small, large]) {
        await producer.send({ topic: 'poisoned', messages: batch.map((value) => ({ value })) });
      }
    } finally {
      await producer.disconnect();
    }
    await checkFor(() => live.length >= values.length, 5000);
    sub.unsubscribe();
    assert.deepEqual(live, values);
    // The large request was gathered over reads into a buffer of the pool (frames.ts).
    const face = k.n.srv.node.faces.find((f) => f.name === 'kafka') as unknown as KafkaFace;
    assert.ok((face.varz().frame_buffers_allocated as number) >= 1);
    const got: Buffer[] = [];
    const c = kafka.consumer({ groupId: 'poisoned-group', heartbeatInterval: 300 });
    await c.connect();
    try {
      await c.subscribe({ topic: 'poisoned', fromBeginning: true });
      await c.run({
        eachMessage: async ({ message }: EachMessagePayload) => {
          got.push(Buffer.from(message.value ?? Buffer.alloc(0)));
        },
      });
      await checkFor(() => got.length >= values.length, 15_000);
    } finally {
      await c.disconnect();
    }
    assert.deepEqual(got, values);
  });
});
