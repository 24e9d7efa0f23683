/**
 * Imports across a full mesh of 3: every node has the same accounts and
 * imports; a message is imported on the node where it is published and
 * crosses links as the importing account's message, so each subscriber, on
 * any node, gets it once under the mapped subject; a service request from
 * one node reaches a responder on another and the response finds its way
 * back through the `_R_.` subscription of the requester's node.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type NatsConnection, StringCodec } from 'nats';
import { parseSecurity } from '../../src/auth/config.js';
import { checkFor, fullMesh, type Mesh, quiet, startMesh } from './helpers.js';

const sc = StringCodec();

const CONFIG = {
  accounts: {
    A: {
      users: [{ user: 'a', password: 'a' }],
      exports: [{ stream: 'events.>' }, { service: 'svc.>' }],
    },
    B: {
      users: [{ user: 'b', password: 'b' }],
      imports: [
        { stream: { account: 'A', subject: 'events.>' }, prefix: 'from_a' },
        { service: { account: 'A', subject: 'svc.>' } },
      ],
    },
  },
};

function record(nc: NatsConnection, subject: string): string[] {
  const got: string[] = [];
  nc.subscribe(subject, { callback: (_e, m) => got.push(`${m.subject}=${sc.decode(m.data)}`) });
  return got;
}

describe('imports across a mesh of 3', () => {
  let mesh: Mesh;
  before(async () => {
    mesh = await startMesh(fullMesh(3), { extra: { ...parseSecurity(CONFIG) } });
  });
  after(() => mesh.stopAll());

  test('a stream published on a reaches B everywhere once, mapped', async () => {
    const pubA = await mesh.node('a').connect({ user: 'a', pass: 'a' });
    const subs = await Promise.all(
      (
        [
          ['a', 'b'],
          ['b', 'b'],
          ['c', 'b'],
          ['c', 'a'],
        ] as const
      ).map(([node, user]) => mesh.node(node).connect({ user, pass: user })),
    );
    const onA = record(subs[0], 'from_a.>');
    const onB = record(subs[1], 'from_a.>');
    const onC = record(subs[2], '>');
    const aOnC = record(subs[3], 'events.>');
    // Every SUB is in before the mesh is asked whether interest has settled.
    await Promise.all(subs.map((nc) => nc.flush()));
    await mesh.synced();
    const n = 20;
    for (let i = 0; i < n; i++) pubA.publish(`events.${i}`, sc.encode(String(i)));
    await pubA.flush();
    const all = () => onA.length + onB.length + onC.length + aOnC.length;
    await checkFor(() => all() >= 4 * n, 5000);
    await quiet(all);
    const want = Array.from({ length: n }, (_, i) => `from_a.events.${i}=${i}`);
    assert.deepEqual(onA, want);
    assert.deepEqual(onB, want);
    assert.deepEqual(onC, want);
    assert.deepEqual(
      aOnC,
      Array.from({ length: n }, (_, i) => `events.${i}=${i}`),
    );
  });

  test('a request in B on node a is answered by A on node c', async () => {
    const responder = await mesh.node('c').connect({ user: 'a', pass: 'a' });
    const handled: string[] = [];
    responder.subscribe('svc.>', {
      callback: (_e, m) => {
        handled.push(m.subject);
        m.respond(sc.encode(`c:${sc.decode(m.data)}`));
      },
    });
    await responder.flush();
    await mesh.synced();
    const req = await mesh.node('a').connect({ user: 'b', pass: 'b' });
    for (let i = 0; i < 10; i++) {
      const r = await req.request('svc.echo', sc.encode(String(i)), { timeout: 3000 });
      assert.equal(sc.decode(r.data), `c:${i}`);
    }
    assert.equal(handled.length, 10);
  });
});
