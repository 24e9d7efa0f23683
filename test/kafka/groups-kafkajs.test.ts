/**
 * Consumer groups against a real node with kafkajs: a group of 1 → 3
 * members rebalancing as members join, leave and crash (a child process
 * SIGKILLed: the session timeout removes it and its partitions move);
 * every record consumed, none by two members of one generation; committed
 * offsets survive a client restart and a node restart; DescribeGroups and
 * ListGroups as kafkajs's admin reads them; DeleteGroups refused while the
 * group has members; lag in /metrics.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import {
  childConsumer,
  createTopic,
  eventually,
  type KafkaNode,
  kafka,
  produce,
  startKafkaNode,
} from './group-helpers.js';

interface Member {
  c: Consumer;
  assigned: number[];
  got: { partition: number; offset: string; value: string }[];
}

async function member(
  k: Kafka,
  group: string,
  topic: string,
  sessionTimeout = 6000,
): Promise<Member> {
  const c = k.consumer({
    groupId: group,
    sessionTimeout,
    heartbeatInterval: 300,
    rebalanceTimeout: 6000,
  });
  const m: Member = { c, assigned: [], got: [] };
  c.on(c.events.GROUP_JOIN, (e) => {
    m.assigned = [...(e.payload.memberAssignment[topic] ?? [])].sort();
  });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({
    eachMessage: async ({ partition, message }: EachMessagePayload) => {
      m.got.push({ partition, offset: message.offset, value: String(message.value) });
    },
  });
  return m;
}

describe('kafka consumer groups with kafkajs', () => {
  let node: KafkaNode;
  let k: Kafka;
  before(async () => {
    node = await startKafkaNode();
    k = kafka(node.brokers);
  });
  after(async () => {
    await node.stop();
    await node.remove();
  });

  test('1 → 3 members: joins and a leave rebalance; every record once; assignments disjoint', async () => {
    const topic = 'rebalance';
    await createTopic(k, topic, 3);
    await produce(k, topic, 30, 3);
    const a = await member(k, 'g-rebalance', topic);
    await eventually(() => a.assigned.length === 3 && a.got.length === 30);
    const b = await member(k, 'g-rebalance', topic);
    const c = await member(k, 'g-rebalance', topic);
    await eventually(
      // Each member hears of its generation at its own time: wait for all three on the last one.
      () =>
        [a, b, c].every((m) => m.assigned.length === 1) &&
        [...a.assigned, ...b.assigned, ...c.assigned].sort().join() === '0,1,2',
    );
    await produce(k, topic, 30, 3, 'second');
    await eventually(
      () =>
        [a, b, c].reduce(
          (n, m) => n + m.got.filter((x) => x.value.startsWith('second')).length,
          0,
        ) === 30,
    );
    for (const m of [a, b, c]) {
      for (const x of m.got.filter((y) => y.value.startsWith('second'))) {
        assert.ok(m.assigned.includes(x.partition), 'a member reads only its partitions');
      }
    }
    await c.c.disconnect(); // LeaveGroup
    await eventually(() => a.assigned.length + b.assigned.length === 3);
    const admin = k.admin();
    await admin.connect();
    const d = await admin.describeGroups(['g-rebalance']);
    const g = d.groups[0]!;
    assert.equal(g.state, 'Stable');
    assert.equal(g.protocolType, 'consumer');
    assert.equal(g.members.length, 2);
    const listed = await admin.listGroups();
    assert.ok(
      listed.groups.some((x) => x.groupId === 'g-rebalance' && x.protocolType === 'consumer'),
    );
    await assert.rejects(
      admin.deleteGroups(['g-rebalance']),
      (err: { groups?: { error?: { type?: string } }[] }) => {
        assert.equal(err.groups?.[0]?.error?.type, 'NON_EMPTY_GROUP');
        return true;
      },
    );
    await a.c.disconnect();
    await b.c.disconnect();
    await eventually(
      async () => (await admin.describeGroups(['g-rebalance'])).groups[0]!.state === 'Empty',
    );
    const offsets = await admin.fetchOffsets({ groupId: 'g-rebalance', topics: [topic] });
    const total = offsets[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0);
    assert.equal(total, 60, 'every record committed');
    await admin.deleteGroups(['g-rebalance']);
    assert.equal((await admin.describeGroups(['g-rebalance'])).groups[0]!.state, 'Dead');
    await admin.disconnect();
  });

  test('a crashed member (SIGKILL, no LeaveGroup) is removed by its session timeout and its partitions move', async () => {
    const topic = 'crash';
    await createTopic(k, topic, 2);
    const survivor = await member(k, 'g-crash', topic, 6000);
    await eventually(() => survivor.assigned.length === 2);
    const child = childConsumer(node.brokers, 'g-crash', topic, 2000);
    try {
      await eventually(
        () => survivor.assigned.length === 1 && (child.assigned()?.length ?? 0) === 1,
      );
      child.proc.kill('SIGKILL');
      await eventually(() => survivor.assigned.length === 2);
      await produce(k, topic, 10, 2, 'after');
      await eventually(() => survivor.got.filter((x) => x.value.startsWith('after')).length === 10);
    } finally {
      child.proc.kill('SIGKILL');
      await survivor.c.disconnect();
    }
  });

  test('committed offsets survive a client restart and a node restart', async () => {
    const topic = 'durable';
    await createTopic(k, topic, 2);
    await produce(k, topic, 20, 2, 'one');
    const first = await member(k, 'g-durable', topic);
    await eventually(() => first.got.length === 20);
    await first.c.disconnect(); // commits on the way out
    await produce(k, topic, 10, 2, 'two');
    const second = await member(k, 'g-durable', topic);
    await eventually(() => assert.equal(second.got.length, 10, JSON.stringify(second.got)));
    assert.ok(
      second.got.every((x) => x.value.startsWith('two')),
      'resumes at the committed offsets',
    );
    await second.c.disconnect();
    await node.stop();
    await node.restart();
    await produce(k, topic, 6, 2, 'three');
    const third = await member(k, 'g-durable', topic);
    await eventually(() => assert.equal(third.got.length, 6, JSON.stringify(third.got)));
    assert.ok(
      third.got.every((x) => x.value.startsWith('three')),
      'offsets came back from the stream',
    );
    const res = await fetch(`http://127.0.0.1:${node.srv.httpPort}/metrics`);
    const text = await res.text();
    assert.match(
      text,
      /weft_kafka_group_lag\{account="\$G",group="g-durable",topic="durable",partition="0"[^}]*\} 0$/m,
    );
    await third.c.disconnect();
  });
});
