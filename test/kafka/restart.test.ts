/**
 * Kafka records across a SIGKILL: a `weft server` child process with the
 * Kafka face, killed right after its producers were answered, then started
 * again on the same data directory. Every record a producer was answered
 * for (acks=all and acks=1, answered once durable under the default sync
 * policy: fsync) is there after the restart, in order, with its key; and an
 * idempotent producer's retry of a batch answered before the kill is
 * recognised after it (its state is read back from the partition) and not
 * stored twice.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeBatch } from '../../src/protocols/kafka/records.js';
import { killWeftProcess, type RunningNode, startNode, tempDir } from '../helpers/weft-process.js';
import { kafkajs } from './helpers.js';
import { WireClient } from './wire-client.js';

interface KafkaProcess extends RunningNode {
  kafkaPort: number;
}

async function startKafkaProcess(dataDir: string): Promise<KafkaProcess> {
  const n = await startNode(['--kafka-port', '0'], { dataDir });
  const m = /Listening for Kafka clients on [^\s]+:(\d+)/.exec(n.stderr());
  assert.ok(m, `no Kafka listener in the log: ${n.stderr()}`);
  return { ...n, kafkaPort: Number(m[1]) };
}

describe('Kafka face: SIGKILL restart', () => {
  test('no acknowledged record is lost, and an idempotent retry is still recognised', async () => {
    const dataDir = tempDir('weft-kafka-restart-');
    let n = await startKafkaProcess(dataDir);
    const k = kafkajs(`127.0.0.1:${n.kafkaPort}`);
    const admin = k.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'durable', numPartitions: 2 }] });
    await admin.disconnect();
    const producer = k.producer({ maxInFlightRequests: 1 });
    await producer.connect();
    const acked: Record<number, string[]> = { 0: [], 1: [] };
    for (let i = 0; i < 40; i++) {
      const partition = i % 2;
      const messages = Array.from({ length: 5 }, (_, j) => ({
        key: `k${i}-${j}`,
        value: `v${i}-${j}`,
        partition,
      }));
      await producer.send({ topic: 'durable', acks: i % 4 === 1 ? 1 : -1, messages });
      acked[partition]!.push(...messages.map((m) => m.value));
    }
    // An idempotent batch by hand, to retry after the kill.
    const w = await WireClient.open(n.kafkaPort);
    const init = await w.send(22, 4, {
      transactionalId: null,
      transactionTimeoutMs: -1,
      producerId: -1n,
      producerEpoch: -1,
    });
    const pid = init.producerId as bigint;
    const idem = encodeBatch({
      baseTimestamp: Date.now(),
      producerId: pid,
      producerEpoch: 0,
      baseSequence: 0,
      records: ['i0', 'i1', 'i2'].map((v) => ({ value: Buffer.from(v) })),
    });
    const body = {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: 'durable', partitionData: [{ index: 0, records: idem }] }],
    };
    const first = await w.send(0, 9, body);
    const part = (r: Record<string, unknown>) =>
      (r.responses as { partitionResponses: { errorCode: number; baseOffset: bigint }[] }[])[0]!
        .partitionResponses[0]!;
    assert.equal(part(first).errorCode, 0);
    const idemOffset = part(first).baseOffset;
    acked[0]!.push('i0', 'i1', 'i2');
    await killWeftProcess(n, 'after produce');
    w.close();
    await producer.disconnect().catch(() => {});

    n = await startKafkaProcess(dataDir);
    try {
      const w2 = await WireClient.open(n.kafkaPort);
      const retry = await w2.send(0, 9, body);
      assert.deepEqual(
        [part(retry).errorCode, part(retry).baseOffset],
        [0, idemOffset],
        'the retry is the batch already stored',
      );
      w2.close();
      const k2 = kafkajs(`127.0.0.1:${n.kafkaPort}`);
      const a2 = k2.admin();
      await a2.connect();
      const offsets = await a2.fetchTopicOffsets('durable');
      await a2.disconnect();
      for (const p of [0, 1]) {
        const o = offsets.find((x) => x.partition === p)!;
        assert.equal(Number(o.high), acked[p]!.length, `partition ${p}: every acknowledged record`);
        assert.equal(o.low, '0');
      }
      const { consumeAll } = await import('./kcat.js');
      for (const p of [0, 1]) {
        const got = await consumeAll(`127.0.0.1:${n.kafkaPort}`, 'durable', p, '%s');
        assert.deepEqual(got, acked[p], `partition ${p} in order`);
      }
    } finally {
      await killWeftProcess(n, 'end');
    }
  });
});
