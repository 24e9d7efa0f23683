/**
 * Consumer groups with the other clients: kcat's balanced consumer (-G,
 * librdkafka), confluent-kafka-python (librdkafka) with static membership
 * (group.instance.id: a restarted static member takes its place again
 * without a rebalance) and kafka-python's KafkaConsumer (its own protocol
 * code). Each reads the records of a group, commits, and a second run of
 * the same group starts where the first committed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Kafka } from 'kafkajs';
import { createTopic, type KafkaNode, kafka, produce, startKafkaNode } from './group-helpers.js';

const run = promisify(execFile);
const PY = '/usr/bin/python3';
const haveKcat = existsSync('/usr/bin/kcat');
const havePy = existsSync(PY);
const skip = (have: boolean, what: string) =>
  !have && !process.env.CI ? `${what} not installed` : false;

async function varzKafka(node: KafkaNode): Promise<Record<string, number>> {
  const r = await fetch(`http://127.0.0.1:${node.srv.httpPort}/varz`);
  const v = (await r.json()) as { weft: { faces: { kafka: Record<string, number> } } };
  return v.weft.faces.kafka;
}

/** confluent_kafka: consume `n` records of `topic` in `group`, commit, close; prints the values. */
const CONFLUENT = `
import sys, json
from confluent_kafka import Consumer
broker, group, topic, n, instance = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
conf = {'bootstrap.servers': broker, 'group.id': group, 'auto.offset.reset': 'earliest',
        'enable.auto.commit': False, 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 500}
if instance != '-':
    conf['group.instance.id'] = instance
c = Consumer(conf)
c.subscribe([topic])
got = []
while len(got) < n:
    m = c.poll(10.0)
    if m is None:
        break
    if m.error():
        continue
    got.append(m.value().decode())
    c.commit(message=m, asynchronous=False)
c.close()
print(json.dumps(got))
`;

/** kafka-python: the same with KafkaConsumer. */
const KAFKA_PYTHON = `
import sys, json
from kafka import KafkaConsumer
broker, group, topic, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = KafkaConsumer(topic, bootstrap_servers=broker, group_id=group, auto_offset_reset='earliest',
                  enable_auto_commit=False, consumer_timeout_ms=15000, session_timeout_ms=6000,
                  heartbeat_interval_ms=500)
got = []
for m in c:
    got.append(m.value.decode())
    if len(got) >= n:
        break
c.commit()
c.close()
print(json.dumps(got))
`;

describe('kafka consumer groups with librdkafka and kafka-python', () => {
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

  test('kcat -G (balanced consumer): a group reads, commits, and a second run resumes', {
    skip: skip(haveKcat, 'kcat'),
  }, async () => {
    await createTopic(k, 'kcat-g', 2);
    await produce(k, 'kcat-g', 10, 2, 'a');
    const args = [
      '-b',
      node.brokers[0]!,
      '-G',
      'kcat-group',
      '-X',
      'auto.offset.reset=earliest',
      '-q',
      '-f',
      '%s\\n',
    ];
    const first = await run('kcat', [...args, '-c', '10', 'kcat-g'], { timeout: 30_000 });
    assert.deepEqual(
      first.stdout.trim().split('\n').sort(),
      Array.from({ length: 10 }, (_, i) => `a-${i}`).sort(),
    );
    await produce(k, 'kcat-g', 4, 2, 'b');
    const second = await run('kcat', [...args, '-c', '4', 'kcat-g'], { timeout: 30_000 });
    assert.deepEqual(second.stdout.trim().split('\n').sort(), ['b-0', 'b-1', 'b-2', 'b-3']);
  });

  test('confluent-kafka-python: static membership rejoins without a rebalance; offsets resume', {
    skip: skip(havePy, 'python3'),
  }, async () => {
    await createTopic(k, 'static-t', 1);
    await produce(k, 'static-t', 5, 1, 's');
    const once = async (n: number) =>
      JSON.parse(
        (
          await run(
            PY,
            ['-c', CONFLUENT, node.brokers[0]!, 'static-g', 'static-t', String(n), 'inst-1'],
            { timeout: 60_000 },
          )
        ).stdout,
      ) as string[];
    assert.deepEqual(await once(5), ['s-0', 's-1', 's-2', 's-3', 's-4']);
    // A static member leaves no LeaveGroup behind: the group stays Stable with it.
    const admin = k.admin();
    await admin.connect();
    const d = (await admin.describeGroups(['static-g'])).groups[0]!;
    assert.equal(d.state, 'Stable');
    assert.equal(d.members.length, 1);
    const rebalances = (await varzKafka(node)).rebalances;
    assert.ok(typeof rebalances === 'number' && rebalances > 0, 'rebalances are counted in /varz');
    await produce(k, 'static-t', 3, 1, 't');
    assert.deepEqual(await once(3), ['t-0', 't-1', 't-2']);
    assert.equal(
      (await varzKafka(node)).rebalances,
      rebalances,
      'the static member took its place: no rebalance',
    );
    const after = (await admin.describeGroups(['static-g'])).groups[0]!;
    assert.notEqual(
      after.members[0]!.memberId,
      d.members[0]!.memberId,
      'a new member id for the same instance',
    );
    await admin.disconnect();
  });

  test('kafka-python KafkaConsumer: a group reads, commits, and a second run resumes', {
    skip: skip(havePy, 'python3'),
  }, async () => {
    await createTopic(k, 'kp-t', 2);
    await produce(k, 'kp-t', 6, 2, 'p');
    const once = async (n: number) =>
      JSON.parse(
        (
          await run(PY, ['-c', KAFKA_PYTHON, node.brokers[0]!, 'kp-g', 'kp-t', String(n)], {
            timeout: 60_000,
          })
        ).stdout,
      ) as string[];
    assert.deepEqual((await once(6)).sort(), ['p-0', 'p-1', 'p-2', 'p-3', 'p-4', 'p-5']);
    await produce(k, 'kp-t', 2, 2, 'q');
    assert.deepEqual((await once(2)).sort(), ['q-0', 'q-1']);
  });
});
