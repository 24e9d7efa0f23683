/**
 * Committed offsets across a SIGKILL: a `weft server` child process with
 * the Kafka face; every OffsetCommit kafkajs saw acknowledged is there
 * after the node is killed and started again on the same data directory
 * (a commit is answered only once its records are durable), and a consumer
 * of the group resumes from them.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  killWeftProcess,
  type RunningNode,
  startNode,
  stopWeftProcess,
} from '../helpers/weft-process.js';
import { createTopic, eventually, kafka, produce } from './group-helpers.js';

async function startKafkaProcess(
  dataDir?: string,
  port = 0,
): Promise<RunningNode & { broker: string }> {
  const n = await startNode(
    ['--kafka-port', String(port)],
    dataDir === undefined ? {} : { dataDir },
  );
  const m = /Listening for Kafka clients on [^\s]+:(\d+)/.exec(n.stderr());
  assert.ok(m, `no Kafka listener in the log: ${n.stderr()}`);
  return { ...n, broker: `127.0.0.1:${m[1]}` };
}

describe('kafka committed offsets across a SIGKILL', () => {
  test('every acknowledged commit survives; a consumer resumes from them', async () => {
    let node = await startKafkaProcess();
    try {
      let k = kafka([node.broker]);
      await createTopic(k, 'killed', 4);
      await produce(k, 'killed', 40, 4, 'r');
      // A member of the group commits many times, each acknowledged before the next:
      // the last of each partition must survive the kill.
      const m = k.consumer({ groupId: 'g-kill', sessionTimeout: 6000, heartbeatInterval: 300 });
      await m.connect();
      await m.subscribe({ topic: 'killed', fromBeginning: true });
      let joined = false;
      m.on(m.events.GROUP_JOIN, () => {
        joined = true;
      });
      await m.run({ autoCommit: false, eachMessage: async () => {} });
      await eventually(() => joined);
      for (let round = 1; round <= 10; round++) {
        await m.commitOffsets(
          [0, 1, 2, 3].map((partition) => ({ topic: 'killed', partition, offset: String(round) })),
        );
      }
      await m.stop();
      await m.disconnect();
      const port = Number(node.broker.split(':')[1]);
      await killWeftProcess(node, 'after the commits');
      node = await startKafkaProcess(node.dataDir, port);
      k = kafka([node.broker]);
      const admin2 = k.admin();
      await admin2.connect();
      const o = await admin2.fetchOffsets({ groupId: 'g-kill', topics: ['killed'] });
      assert.deepEqual(o[0]!.partitions.map((p) => [p.partition, p.offset]).sort(), [
        [0, '10'],
        [1, '10'],
        [2, '10'],
        [3, '10'],
      ]);
      const d = await admin2.describeGroups(['g-kill']);
      assert.equal(d.groups[0]!.state, 'Empty', 'known by its offsets after the restart');
      await admin2.disconnect();
      const c = k.consumer({ groupId: 'g-kill', sessionTimeout: 6000, heartbeatInterval: 300 });
      const got: string[] = [];
      await c.connect();
      await c.subscribe({ topic: 'killed', fromBeginning: true });
      await c.run({ eachMessage: async ({ message }) => void got.push(String(message.value)) });
      // 10 records per partition, resumed at offset 10 of each: nothing left.
      await produce(k, 'killed', 4, 4, 'new');
      await eventually(() => got.length === 4);
      assert.deepEqual(got.sort(), ['new-0', 'new-1', 'new-2', 'new-3']);
      await c.disconnect();
    } finally {
      await stopWeftProcess(node, 'the end').catch(() => node.child.kill('SIGKILL'));
      rmSync(node.dataDir, { recursive: true, force: true });
    }
  });
});
