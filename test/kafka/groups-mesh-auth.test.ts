/**
 * Group permissions across the mesh (a - b, the same users on both): a owns
 * the account's groups; on b, a user denied the group `secret` is refused
 * GROUP_AUTHORIZATION_FAILED by a forwarded OffsetFetch (decided on the
 * owner with that user's rules, counted there), while its allowed group's
 * offsets, committed on a, are read through b.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SASLOptions } from 'kafkajs';
import { parseConfigText } from '../../src/config/config.js';
import type { Face } from '../../src/protocols/face.js';
import { chain, type Mesh, type MeshNode, startMesh } from '../mesh/helpers.js';
import { createTopic, eventually, FAST_GROUPS, kafka } from './group-helpers.js';
import { WireClient } from './wire-client.js';

const CONFIG = `
authorization:
  users:
    - user: alice
      password: alice-pw
    - user: limited
      password: lim-pw
      permissions:
        subscribe:
          deny: ["$WEFT.kafka.group.secret"]
`;

function broker(n: MeshNode): string {
  const faces = (n as MeshNode & { node?: { faces: Face[] } }).node?.faces ?? [];
  const f = faces.find((x) => x.name === 'kafka');
  assert.ok(f, `node ${n.name} has no Kafka face`);
  return `127.0.0.1:${f.listeners[0]!.port}`;
}

describe('Kafka group permissions across the mesh (a - b)', () => {
  let mesh: Mesh;
  before(async () => {
    mesh = await startMesh(chain(2), {
      extra: { jetstream: true, kafkaPort: 0, ...FAST_GROUPS, ...parseConfigText(CONFIG) },
    });
  });
  after(async () => {
    await mesh?.stopAll();
  });

  test('a denied group is refused on b, an allowed one is served by a', async () => {
    const a = mesh.node('a');
    const b = mesh.node('b');
    const sasl = (username: string, password: string) =>
      ({ mechanism: 'plain', username, password }) as SASLOptions;
    const ka = kafka([broker(a)], 'auth-a', { sasl: sasl('alice', 'alice-pw') });
    await createTopic(ka, 'auth-mesh', 1);
    const adminA = ka.admin();
    await adminA.connect();
    // a owns the account's groups (after its start grace).
    await eventually(() =>
      adminA
        .setOffsets({
          groupId: 'open',
          topic: 'auth-mesh',
          partitions: [{ partition: 0, offset: '1' }],
        })
        .then(
          () => true,
          () => false,
        ),
    );
    await adminA.disconnect();

    const kb = kafka([broker(b)], 'auth-b', { sasl: sasl('limited', 'lim-pw') });
    const adminB = kb.admin();
    await adminB.connect();
    try {
      // Once b sees a's offsets stream, b forwards: the commit made on a is read on b.
      await eventually(async () => {
        const o = await adminB
          .fetchOffsets({ groupId: 'open', topics: ['auth-mesh'] })
          .catch(() => null);
        return o?.[0]?.partitions[0]?.offset === '1';
      });
      const varz = (n: MeshNode) =>
        (n as MeshNode & { node?: { faces: Face[] } }).node!.faces.find((f) => f.name === 'kafka')!
          .varz!() as Record<string, number>;
      const refusedOnA = varz(a).group_authorization_failures!;
      const forwardedByB = varz(b).group_requests_forwarded!;
      assert.ok(forwardedByB > 0, 'b forwards group requests to a');
      // FindCoordinator refuses it on b already (kafkajs stops there): ask b directly.
      const w = await WireClient.open(Number(broker(b).split(':')[1]));
      try {
        const hs = await w.send(17, 1, { mechanism: 'PLAIN' });
        assert.equal(hs.errorCode, 0);
        const auth = await w.send(36, 1, { authBytes: Buffer.from('\0limited\0lim-pw') });
        assert.equal(auth.errorCode, 0);
        const r = await w.send(9, 7, {
          groupId: 'secret',
          topics: [{ name: 'auth-mesh', partitionIndexes: [0] }],
        });
        assert.equal(r.errorCode, 30, 'GROUP_AUTHORIZATION_FAILED');
        const ok = await w.send(9, 7, {
          groupId: 'open',
          topics: [{ name: 'auth-mesh', partitionIndexes: [0] }],
        });
        assert.equal(ok.errorCode, 0);
      } finally {
        w.close();
      }
      // Decided on the owner with limited's rules, counted there.
      assert.ok(varz(a).group_authorization_failures! > refusedOnA);
      assert.ok(varz(b).group_requests_forwarded! > forwardedByB);
    } finally {
      await adminB.disconnect();
    }
  });
});
