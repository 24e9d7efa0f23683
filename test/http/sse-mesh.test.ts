/**
 * SSE across the mesh: an SSE subscriber on the last node of a chain of
 * three receives what a NATS client publishes on the first, and what an
 * HTTP client publishes on the middle one; its interest crosses the links
 * like a NATS client's and leaves with it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Face } from '../../src/protocols/face.js';
import { SseClient } from '../helpers/sse.js';
import { chain, checkFor, type Mesh, startMesh } from '../mesh/helpers.js';

function httpBase(mesh: Mesh, name: string): string {
  const node = (mesh.node(name) as unknown as { node: { faces: Face[] } }).node;
  const port = node.faces.find((f) => f.name === 'http')?.listeners[0]?.port ?? 0;
  return `http://127.0.0.1:${port}`;
}

describe('SSE across a chain of three nodes', () => {
  let mesh: Mesh;
  before(async () => {
    mesh = await startMesh(chain(3), { extra: { httpApiPort: 0 } });
  });
  after(() => mesh.stopAll());

  test('published on the first (NATS) and the middle (HTTP) node, received on the last', async () => {
    const sse = await SseClient.open(`${httpBase(mesh, 'c')}/v1/subscribe/mesh.%3E`);
    assert.equal(sse.status, 200);
    const nc = await mesh.node('a').connect();
    // The interest crosses the links: publish until the first one arrives.
    await checkFor(
      () => {
        nc.publish('mesh.probe', Buffer.from('probe'));
        return sse.events.length > 0;
      },
      5000,
      50,
    );
    nc.publish('mesh.nats', Buffer.from('from a'));
    await nc.flush();
    const real = () => sse.events.filter((e) => e.event !== 'mesh.probe');
    await checkFor(() => real().length === 1);
    const r = await fetch(`${httpBase(mesh, 'b')}/v1/publish/mesh.http`, {
      method: 'POST',
      body: 'from b',
    });
    assert.equal(r.status, 202);
    await checkFor(() => real().length === 2);
    assert.deepEqual(
      real().map((e) => [e.event, e.data]),
      [
        ['mesh.nats', 'from a'],
        ['mesh.http', 'from b'],
      ],
    );
    sse.close();
  });
});
