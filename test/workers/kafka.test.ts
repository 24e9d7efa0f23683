/**
 * Kafka clients of `weft server --workers 2` see one broker: whichever
 * worker a connection lands on answers with the same node id and cluster
 * id (worker 0's), and a topic produced through some connections is read
 * once by a consumer group whose connections spread over both workers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checkFor, within } from '../helpers/poll.js';
import { type Proc, startProcess, tempDir } from '../helpers/weft-process.js';
import { createTopic, eventually, kafka, produce } from '../kafka/group-helpers.js';

describe('Kafka on weft server --workers 2', () => {
  let server: Proc;
  let broker = '';

  before(async () => {
    server = startProcess([
      '--host',
      '127.0.0.1',
      '-p',
      '0',
      '-m',
      '0',
      '--kafka-port',
      '0',
      '--data-dir',
      tempDir('weft-workers-kafka-'),
      '--workers',
      '2',
    ]);
    await checkFor(() => {
      if (server.child.exitCode !== null) throw new Error(`exited: ${server.stderr()}`);
      return /Server is ready: 2 workers/.test(server.stderr());
    }, 30_000);
    broker = /Kafka broker advertised as (\S+:\d+)/.exec(server.stderr())![1];
  });

  after(async () => {
    if (server !== undefined && server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await within(server.exited, 20_000, 'the server to stop');
    }
  });

  test('every worker is the same broker: node id and cluster id', async () => {
    const ids = /node id (\d+)/g;
    const logged = [...server.stderr().matchAll(ids)].map((m) => m[1]);
    assert.equal(logged.length, 2, server.stderr());
    assert.equal(logged[0], logged[1], 'both workers advertise one node id');
    const seen = new Set<string>();
    // Connections go to the workers in turn: four admins reach both.
    for (let i = 0; i < 4; i++) {
      const admin = kafka([broker], `describe-${i}`).admin();
      await admin.connect();
      try {
        const c = await admin.describeCluster();
        assert.equal(c.brokers.length, 1);
        seen.add(`${c.clusterId}/${c.brokers[0].nodeId}/${c.controller}`);
      } finally {
        await admin.disconnect();
      }
    }
    assert.equal(seen.size, 1, `one broker identity: ${[...seen]}`);
  });

  test('a consumer group reads each produced record once', async () => {
    const k = kafka([broker], 'workers-group');
    await createTopic(k, 'wk-topic', 2);
    await produce(k, 'wk-topic', 40, 2, 'r');
    const got: string[] = [];
    // A group's owner is made once the workers' grace after start is over
    // (KAFKA_GROUP_OWNER_GRACE_MS): until then the coordinator is not
    // available and the client retries, with room for a loaded machine.
    const kc = kafka([broker], 'workers-group-consumer', {
      retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    const c = kc.consumer({ groupId: 'wk-group', sessionTimeout: 6000, heartbeatInterval: 300 });
    let joins = 0;
    c.on(c.events.GROUP_JOIN, () => joins++);
    await c.connect();
    try {
      await c.subscribe({ topic: 'wk-topic', fromBeginning: true });
      await c.run({
        eachMessage: async ({ message }) => {
          got.push(String(message.value));
        },
      });
      await eventually(() => new Set(got).size === 40, 60_000);
      // Kafka is at least once: a member that rejoined may read again what
      // it had not committed. With one join, each record came exactly once.
      if (joins === 1) assert.equal(got.length, 40, 'no record twice');
    } finally {
      await c.disconnect();
    }
  });
});
