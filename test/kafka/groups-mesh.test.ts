/**
 * Consumer groups across the mesh (chain a - b - c): the account's groups
 * live on one node (the holder of `$WEFT_kafka_offsets`, here a) and every
 * group request of a client on another node is forwarded there. A kafkajs
 * group with one member on a and one on c is one group: DescribeGroups on
 * b shows both, their assignments are disjoint and cover the topic, every
 * record is consumed once; offsets committed through a are read by an
 * OffsetFetch through c; the member on c leaving gives a every partition.
 * With a down, c answers COORDINATOR_NOT_AVAILABLE (clients retry) rather
 * than becoming a second owner.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import type { Face } from '../../src/protocols/face.js';
import { chain, type Mesh, type MeshNode, startMesh } from '../mesh/helpers.js';
import { createTopic, eventually, FAST_GROUPS, kafka, produce } from './group-helpers.js';
import { WireClient } from './wire-client.js';

const TOPIC = 'mesh-group-topic';
const GROUP = 'mesh-group';

function broker(n: MeshNode): string {
  const faces = (n as MeshNode & { node?: { faces: Face[] } }).node?.faces ?? [];
  const f = faces.find((x) => x.name === 'kafka');
  assert.ok(f, `node ${n.name} has no Kafka face`);
  return `127.0.0.1:${f.listeners[0]!.port}`;
}

interface Member {
  c: Consumer;
  assigned: number[];
  got: { partition: number; offset: string; value: string }[];
}

async function member(k: Kafka): Promise<Member> {
  const c = k.consumer({
    groupId: GROUP,
    sessionTimeout: 6000,
    heartbeatInterval: 300,
    rebalanceTimeout: 6000,
  });
  const m: Member = { c, assigned: [], got: [] };
  c.on(c.events.GROUP_JOIN, (e) => {
    m.assigned = [...(e.payload.memberAssignment[TOPIC] ?? [])].sort();
  });
  await c.connect();
  await c.subscribe({ topic: TOPIC, fromBeginning: true });
  await c.run({
    eachMessage: async ({ partition, message }: EachMessagePayload) => {
      m.got.push({ partition, offset: message.offset, value: String(message.value) });
    },
  });
  return m;
}

describe('Kafka consumer groups across the mesh (chain a - b - c)', () => {
  let mesh: Mesh;
  const members: Member[] = [];

  before(async () => {
    mesh = await startMesh(chain(3), {
      extra: { jetstream: true, kafkaPort: 0, ...FAST_GROUPS },
    });
  });
  after(async () => {
    for (const m of members) await m.c.disconnect().catch(() => {});
    await mesh?.stopAll();
  });

  test('one group, one owner: members on a and c, described on b, offsets read on c', async () => {
    const [a, b, c] = ['a', 'b', 'c'].map((n) => mesh.node(n));
    const ka = kafka([broker(a!)], 'on-a');
    const kb = kafka([broker(b!)], 'on-b');
    const kc = kafka([broker(c!)], 'on-c');
    await createTopic(ka, TOPIC, 4);

    // The first group request of the account (on a) makes a the owner:
    // a's offsets stream, then seen from c through the mesh.
    const adminA = ka.admin();
    await adminA.connect();
    // (COORDINATOR_NOT_AVAILABLE for the first 3 s after a's start: the owner grace.)
    await eventually(() =>
      adminA.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }).then(
        () => true,
        () => false,
      ),
    );
    await adminA.disconnect();
    const nc = await c!.connect();
    await eventually(async () => {
      const r = await nc
        .request('$JS.API.STREAM.INFO.$WEFT_kafka_offsets', new Uint8Array(), { timeout: 1000 })
        .catch(() => null);
      if (r === null) return false;
      const info = JSON.parse(new TextDecoder().decode(r.data)) as { config?: unknown };
      return info.config !== undefined;
    });
    // c sees the topic too.
    const adminC = kc.admin();
    await adminC.connect();
    await eventually(async () => {
      const md = await adminC.fetchTopicMetadata({ topics: [TOPIC] }).catch(() => null);
      return md?.topics[0]?.partitions.length === 4;
    });

    const onA = await member(ka);
    members.push(onA);
    await eventually(() => onA.assigned.length === 4);
    const onC = await member(kc);
    members.push(onC);
    await eventually(
      () =>
        onA.assigned.length > 0 &&
        onC.assigned.length > 0 &&
        [...onA.assigned, ...onC.assigned].sort().join() === '0,1,2,3',
    );

    // One group: b (no member there) describes both members.
    const adminB = kb.admin();
    await adminB.connect();
    const described = await adminB.describeGroups([GROUP]);
    const g = described.groups[0]!;
    assert.equal(g.state, 'Stable');
    assert.equal(g.members.length, 2);
    const listed = await adminB.listGroups();
    assert.ok(listed.groups.some((x) => x.groupId === GROUP));

    await produce(kb, TOPIC, 40, 4);
    await eventually(() => onA.got.length + onC.got.length >= 40);
    const values = [...onA.got, ...onC.got].map((r) => r.value).sort();
    assert.deepEqual(values, Array.from({ length: 40 }, (_, i) => `m-${i}`).sort());
    for (const r of onA.got) assert.ok(onA.assigned.includes(r.partition));
    for (const r of onC.got) assert.ok(onC.assigned.includes(r.partition));

    // Commits made through a (its member's partitions) are read through c.
    const aParts = [...onA.assigned];
    await eventually(async () => {
      const offs = await adminC.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
      const parts = offs[0]!.partitions;
      return parts.length === 4 && parts.every((p) => p.offset === '10');
    });
    const offs = await adminC.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    for (const p of aParts) {
      assert.equal(offs[0]!.partitions.find((x) => x.partition === p)?.offset, '10');
    }

    // The member on c leaves: a gets every partition and the next records.
    await onC.c.disconnect();
    members.splice(members.indexOf(onC), 1);
    await eventually(() => onA.assigned.length === 4);
    const before = onA.got.length;
    await produce(kb, TOPIC, 8, 4, 'n');
    await eventually(() => onA.got.length >= before + 8);
    assert.equal(onC.got.length + onA.got.length, 48);
    const after = await adminB.describeGroups([GROUP]);
    assert.equal(after.groups[0]!.members.length, 1);

    await adminB.disconnect();
    await adminC.disconnect();
    await nc.close();
  });

  test('the owner down: c answers COORDINATOR_NOT_AVAILABLE and makes no owner of its own', async () => {
    for (const m of members.splice(0)) await m.c.disconnect();
    const c = mesh.node('c');
    const port = Number(broker(c).split(':')[1]);
    await mesh.node('a').close();
    const w = await WireClient.open(port);
    try {
      // Once c hears a's stream is gone (a's interest withdrawn across b).
      const res = await eventually(async () => {
        const r = await w.send(9, 7, {
          groupId: GROUP,
          topics: [{ name: TOPIC, partitionIndexes: [0] }],
        });
        return r.errorCode === 15 ? r : false;
      });
      assert.equal(res.errorCode, 15);
      const hb = await w.send(12, 3, {
        groupId: GROUP,
        generationId: 1,
        memberId: 'x',
        groupInstanceId: null,
      });
      assert.equal(hb.errorCode, 15, 'Heartbeat: COORDINATOR_NOT_AVAILABLE');
    } finally {
      w.close();
    }
  });
});
