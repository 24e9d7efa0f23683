/**
 * The broker's identity is stable across restarts: derived from
 * `server_name` when set, else kept in `<data_dir>/kafka/broker.json`
 * (src/protocols/kafka/node-id.ts); Metadata reports it, and a node started
 * again on the same data dir (or with the same name) reports the same.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { brokerIdentity, nodeIdOfName } from '../../src/protocols/kafka/node-id.js';
import { startKafkaNode } from './helpers.js';
import { WireClient } from './wire-client.js';

test('the node id and cluster id are kept, or derived from the name', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'weft-kafka-id-'));
  try {
    const a = await brokerIdentity(dir, '');
    const b = await brokerIdentity(dir, '');
    assert.deepEqual(a, b);
    assert.match(a.clusterId, /^[A-Za-z0-9_-]{22}$/);
    assert.ok(a.nodeId >= 0 && a.nodeId <= 0x7fffffff);
    const named = await brokerIdentity(dir, 'node-a');
    assert.equal(named.nodeId, nodeIdOfName('node-a'));
    assert.equal(named.clusterId, a.clusterId);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Metadata reports the same broker after a restart on the same data dir', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'weft-kafka-id-'));
  const ids: unknown[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const n = await startKafkaNode({ dataDir: dir });
      const c = await WireClient.open(n.kafkaPort);
      const r = await c.send(3, 12, {
        topics: [],
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: false,
      });
      const brokers = r.brokers as { nodeId: number; host: string }[];
      assert.equal(brokers.length, 1);
      assert.equal(r.controllerId, brokers[0]!.nodeId);
      ids.push([brokers[0]!.nodeId, r.clusterId]);
      c.close();
      await n.close();
    }
    assert.deepEqual(ids[0], ids[1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
