/**
 * Retained messages mesh-wide (store-retained.ts): on a chain a - b - c of
 * nodes with JetStream, each with the durable MQTT store of `$G`, a
 * retained message set through one node is read from every node; a clear
 * through another node wins everywhere; the last set wins everywhere; and
 * a node that joins later gets what was set before it came.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { JetStream } from '../../src/jetstream/service.js';
import type { MqttStore, MqttStores } from '../../src/protocols/mqtt/store.js';
import { createMqttStores } from '../../src/protocols/mqtt/store-factory.js';
import { chain, checkFor, type Mesh, type MeshNode, startMesh } from '../mesh/helpers.js';
import { quietLog } from './store-open.js';

/** Mesh-wide copies travel by stream sources: allow for a feed's back-off and the peer poll. */
const SPREAD_MS = 15_000;

function jetstreamOf(n: MeshNode): JetStream {
  const js = (n as MeshNode & { node: { jetstream: JetStream | null } | null }).node?.jetstream;
  assert.ok(js, `node ${n.name} runs no JetStream`);
  return js;
}

async function payloads(store: MqttStore, filter: string): Promise<string[]> {
  return (await store.retained(filter)).map((m) => `${m.topic}=${m.payload.toString()}`);
}

function retain(topic: string, payload: string) {
  return { topic, payload: Buffer.from(payload), qos: 1 as const, retain: true };
}

describe('MQTT retained messages across the mesh', () => {
  let mesh: Mesh;
  const stores: Record<string, MqttStores> = {};
  const s: Record<string, MqttStore> = {};

  async function open(name: string): Promise<void> {
    stores[name] = createMqttStores({
      jetstream: jetstreamOf(mesh.node(name)),
      log: quietLog,
      node: name,
    });
    s[name] = await stores[name]!.forAccount('$G');
  }

  before(async () => {
    mesh = await startMesh(chain(3), { extra: { jetstream: true } });
    for (const n of ['a', 'b', 'c']) await open(n);
  });
  after(async () => {
    for (const st of Object.values(stores)) await st.close();
    await mesh?.stopAll();
  });

  test('the stores are durable, one per account, the same on each call', async () => {
    assert.equal(s.a!.durable, true);
    assert.equal(await stores.a!.forAccount('$G'), s.a);
  });

  test('set through a is read on b and c', async () => {
    assert.equal(await s.a!.setRetained('home/t', retain('home/t', '21')), null);
    for (const n of ['b', 'c']) {
      await checkFor(
        async () => assert.deepEqual(await payloads(s[n]!, 'home/#'), ['home/t=21']),
        SPREAD_MS,
        50,
      );
    }
  });

  test('a clear through c wins on a and b', async () => {
    await s.c!.setRetained('home/t', null);
    assert.deepEqual(await payloads(s.c!, 'home/#'), []);
    for (const n of ['a', 'b']) {
      await checkFor(
        async () => assert.deepEqual(await payloads(s[n]!, 'home/#'), []),
        SPREAD_MS,
        50,
      );
    }
  });

  test('the last set wins everywhere, whichever node it went through', async () => {
    await s.b!.setRetained('x', retain('x', 'from b'));
    await checkFor(
      async () => assert.deepEqual(await payloads(s.a!, 'x'), ['x=from b']),
      SPREAD_MS,
      50,
    );
    // a has seen b's version: its own set is later, and wins on every node.
    await s.a!.setRetained('x', retain('x', 'from a'));
    for (const n of ['a', 'b', 'c']) {
      await checkFor(
        async () => assert.deepEqual(await payloads(s[n]!, 'x'), ['x=from a']),
        SPREAD_MS,
        50,
      );
    }
  });

  test('a node that joins later gets what was set before it came', async () => {
    await s.c!.setRetained('late/1', retain('late/1', 'one'));
    await mesh.add({ name: 'd', dials: ['c'] });
    await mesh.converged();
    await open('d');
    // d learns them in the order its sources deliver them: compared as a set.
    await checkFor(
      async () => assert.deepEqual((await payloads(s.d!, '#')).sort(), ['late/1=one', 'x=from a']),
      SPREAD_MS,
      50,
    );
  });
});
