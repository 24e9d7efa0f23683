/**
 * A record the stream refuses mid-batch fails the partition with the
 * stream's error (POLICY_VIOLATION for a 4xx refusal, KAFKA_STORAGE_ERROR
 * for a 5xx one such as a discard-new limit), and the records before it
 * stay stored and reach live NATS subscribers; each later record is stored
 * or refused on its own. Both ways the produce path stores: a stream with
 * no limit that removes messages (the plain path, refused by max_msg_size
 * counting the headers) and one with discard-new max_msgs (through `store`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DiscardPolicy, type StreamConfig } from 'nats';
import { checkFor } from '../helpers/poll.js';
import { kafkaAndNats, kafkajs } from './helpers.js';
import { consumeAll } from './kcat.js';

describe('Kafka produce: a record the stream refuses mid-batch', () => {
  const k = kafkaAndNats();

  const cases = [
    {
      name: 'by max_msg_size, headers counted (the plain path)',
      stream: 'sized',
      config: { max_msg_size: 200 } as Partial<StreamConfig>,
      // Its value fits max_msg_size; with its header block it does not.
      third: { value: 'c'.repeat(150), headers: { 'X-Pad': 'p'.repeat(100) } },
      // kafkajs's text for POLICY_VIOLATION (44).
      error: /configured policy/,
      stored: ['a', 'b', 'd'],
    },
    {
      name: 'by a discard-new max_msgs (through store)',
      stream: 'capped',
      config: { max_msgs: 2, discard: DiscardPolicy.New } as Partial<StreamConfig>,
      third: { value: 'c' },
      // kafkajs's text for KAFKA_STORAGE_ERROR (56).
      error: /Disk error/,
      stored: ['a', 'b'],
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const jsm = await k.nc.jetstreamManager();
      await jsm.streams.add({ name: c.stream, subjects: [`${c.stream}.>`], ...c.config });
      const live: string[] = [];
      const sub = k.nc.subscribe(`${c.stream}.>`, {
        callback: (_e, m) => live.push(new TextDecoder().decode(m.data)),
      });
      await k.nc.flush();
      const producer = kafkajs(k.n.broker, { retry: { retries: 0 } }).producer();
      await producer.connect();
      try {
        await assert.rejects(
          producer.send({
            topic: c.stream,
            messages: [{ value: 'a' }, { value: 'b' }, c.third, { value: 'd' }],
          }),
          c.error,
        );
      } finally {
        await producer.disconnect();
      }
      assert.equal((await jsm.streams.info(c.stream)).state.messages, c.stored.length);
      assert.deepEqual(await consumeAll(k.n.broker, c.stream, 0, '%s'), c.stored);
      await checkFor(() => live.length >= c.stored.length, 5000);
      sub.unsubscribe();
      assert.deepEqual(live, c.stored);
    });
  }
});
