/**
 * Whatever a client may legally send crosses a link (issue 10, item 5), end
 * to end, at each limit and one past it: a client on node b subscribes, a
 * client on node a publishes, the message arrives, and a stays up. Past a
 * client limit (max_control_line, max_payload) the client gets nats-server's
 * -ERR and nobody else notices. What the link format cannot carry is dropped
 * and counted, never thrown.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Mesh } from '../../src/mesh/mesh.js';
import { RawClient } from '../helpers/raw.js';
import {
  checkFor,
  type MeshNode,
  publishN,
  record,
  settle,
  startNode,
  waitConverged,
} from './helpers.js';

type T = { after(fn: () => Promise<void> | void): void };

async function pair(
  t: T,
  extra: Record<string, unknown> = {},
  names: [string, string] = ['a', 'b'],
): Promise<[MeshNode, MeshNode]> {
  const a = await startNode({ name: names[0], extra });
  t.after(() => a.close());
  const b = await startNode({ name: names[1], links: [a.linkUrl], extra });
  t.after(() => b.close());
  await waitConverged([a, b], false);
  return [a, b];
}

async function raw(t: T, n: MeshNode): Promise<RawClient> {
  const c = await RawClient.handshake(n.port);
  t.after(() => c.destroy());
  return c;
}

/** b's interest has reached a. */
const synced = (a: MeshNode, b: MeshNode) => waitConverged([a, b], true);

/** Both nodes answer a client. */
async function alive(...nodes: MeshNode[]): Promise<void> {
  for (const n of nodes) {
    const c = await RawClient.handshake(n.port);
    await c.ping();
    c.destroy();
  }
}

describe('what a client may send crosses the mesh', () => {
  test('a 300-byte queue group name (over the old u8 limit)', async (t) => {
    const [a, b] = await pair(t);
    const ncB = await b.connect();
    const r = record(ncB, 'limits.q', 'q'.repeat(300));
    await ncB.flush();
    await synced(a, b);
    const ncA = await a.connect();
    await publishN(ncA, 'limits.q', 20, 'm');
    await settle([r], 20);
    assert.equal(r.count('m-'), 20);
    await alive(a, b);
  });

  test('300 queue groups on one subject on one node: each group served once', async (t) => {
    const [a, b] = await pair(t);
    const ncB = await b.connect();
    const recs = Array.from({ length: 300 }, (_, i) => record(ncB, 'limits.many', `g${i}`));
    const plain = record(ncB, 'limits.many');
    await ncB.flush();
    await synced(a, b);
    const ncA = await a.connect();
    await publishN(ncA, 'limits.many', 5, 'm');
    await settle([...recs, plain], 5 * 301);
    for (const [i, r] of recs.entries()) assert.equal(r.count('m-'), 5, `group g${i}`);
    assert.equal(plain.count('m-'), 5, 'the plain subscriber once per message');
    assert.deepEqual(plain.dupes(), []);
    await alive(a, b);
  });

  test('a queue name and subject at max_control_line cross; one byte past is -ERR', async (t) => {
    const [a, b] = await pair(t);
    const limit = 4096;
    const subB = await raw(t, b);
    // `SUB <subject> <queue> 1` exactly at the limit.
    const queue = 'Q'.repeat(2000);
    const subject = `lim.${'s'.repeat(limit - 'SUB  '.length - queue.length - ' 1'.length - 4)}`;
    const line = `SUB ${subject} ${queue} 1`;
    assert.equal(line.length, limit);
    subB.send(`${line}\r\n`);
    await subB.ping();
    await synced(a, b);
    const pubA = await raw(t, a);
    pubA.send(`PUB ${subject} 2\r\nhi\r\n`);
    await subB.expectMsg(subject, 1, 'hi');
    // One byte past: refused at the client, as nats-server does.
    const over = await raw(t, b);
    over.send(`SUB x${subject} ${queue} 2\r\n`);
    await over.expectLine(/^-ERR 'maximum control line exceeded/i);
    await alive(a, b);
  });

  test('subjects and queue names past 64 KiB (max_control_line raised) cross', async (t) => {
    const [a, b] = await pair(t, { maxControlLine: 256 * 1024 });
    const subB = await raw(t, b);
    const subjects = [65_535, 65_536, 70_000].map((n) => `big.${'x'.repeat(n - 4)}`);
    for (const [i, s] of subjects.entries())
      subB.send(`SUB ${s} ${'g'.repeat(65_536)} ${i + 1}\r\n`);
    await subB.ping();
    await synced(a, b);
    const pubA = await raw(t, a);
    for (const s of subjects) pubA.send(`PUB ${s} _R.${'r'.repeat(70_000)} 3\r\nabc\r\n`);
    for (const [i, s] of subjects.entries()) {
      await subB.expectMsg(s, i + 1, 'abc', `_R.${'r'.repeat(70_000)}`);
    }
    await alive(a, b);
  });

  test('headers and payload at max_payload cross; one byte past is -ERR', async (t) => {
    const max = 64 * 1024;
    const [a, b] = await pair(t, { maxPayload: max });
    const subB = await raw(t, b);
    subB.send('SUB hdr.big 1\r\n');
    await subB.ping();
    await synced(a, b);
    const pubA = await raw(t, a);
    const hdr = `NATS/1.0\r\nX-Big: ${'h'.repeat(40_000)}\r\n\r\n`;
    const body = 'p'.repeat(max - hdr.length);
    pubA.send(`HPUB hdr.big ${hdr.length} ${max}\r\n${hdr}${body}\r\n`);
    await subB.expectLine(`HMSG hdr.big 1 ${hdr.length} ${max}`);
    const got = await subB.readBytes(max + 2, 5000);
    assert.equal(got.toString(), `${hdr}${body}\r\n`);
    pubA.send(`HPUB hdr.big ${hdr.length} ${max + 1}\r\n${hdr}${body}p\r\n`);
    await pubA.expectLine(/^-ERR 'Maximum Payload Violation'$/);
    await alive(a, b);
  });

  test('node names over 255 bytes link and route', async (t) => {
    const long = 'n'.repeat(300);
    const [a, b] = await pair(t, {}, [`a-${long}`, `b-${long}`]);
    const ncB = await b.connect();
    const r = record(ncB, 'names.long', 'workers');
    await ncB.flush();
    await synced(a, b);
    await publishN(await a.connect(), 'names.long', 10, 'm');
    await settle([r], 10);
    assert.equal(r.count('m-'), 10);
  });

  test('a message the format cannot carry is dropped and counted, not thrown', async (t) => {
    const [a, b] = await pair(t);
    // Reach into a: its link to b, and a subject with a lone surrogate (a JS
    // string with no UTF-8 form: it would arrive as another subject).
    const mesh = meshOf(a);
    const link = mesh.links.get('b');
    assert.ok(link, 'a link to b');
    const ok = link.sendMsg(
      5,
      '$G',
      'bad.\ud800',
      '',
      [{ node: 'b', plain: true, queues: [] }],
      null,
      Buffer.from('x'),
    );
    assert.equal(ok, false);
    const ok2 = link.sendMsg(
      5,
      '$G',
      'good',
      '',
      [{ node: 'b', plain: false, queues: ['q\udc00'] }],
      null,
      Buffer.alloc(0),
    );
    assert.equal(ok2, false);
    const z2 = (await a.meshz()) as unknown as { unencodable: Record<string, number> };
    assert.deepEqual(z2.unencodable, { malformed: 2 });
    await alive(a, b);
    await checkFor(async () => (await b.meshz()).links.length === 1, 1000);
  });
});

/** The in-process Mesh of a node started by startNode. */
function meshOf(n: MeshNode): Mesh {
  const m = (n as { mesh?: Mesh | null }).mesh;
  if (m === undefined || m === null)
    throw new Error('startNode does not expose the in-process mesh');
  return m;
}
