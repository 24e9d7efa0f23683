/**
 * Publish acks to one repeated reply subject (CapturedStream keeps the last
 * reply's match while the sublist is unchanged): each ack reaches exactly
 * who is subscribed to the reply when it is sent — a subscriber that left
 * gets no more, a new one and a wildcard added later get the next.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type Msg, type NatsConnection } from 'nats';
import { startServer, type WeftServer } from '../../src/index.js';
import { checkFor, within } from '../helpers/poll.js';

// biome-ignore lint/suspicious/noExplicitAny: a JSON reply, read field by field
const json = (m: Msg): any => JSON.parse(Buffer.from(m.data).toString('utf8'));

describe('publish acks to a repeated reply subject', () => {
  let server: WeftServer;
  let dataDir: string;
  let pub: NatsConnection;
  let other: NatsConnection;
  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'weft-pubackreply-'));
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      httpPort: -1,
      meshPort: -1,
      dataDir,
      logLevel: 'silent',
    });
    pub = await connect({ port: server.port });
    other = await connect({ port: server.port });
    const r = await pub.request(
      '$JS.API.STREAM.CREATE.R',
      Buffer.from(JSON.stringify({ name: 'R', subjects: ['r.>'], storage: 'file' })),
    );
    assert.equal(json(r).error, undefined);
  });
  after(async () => {
    for (const nc of [pub, other]) await nc?.close();
    await within(server.close(), 5000, 'the server to close');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('each ack goes to the reply subscribers of its moment', async () => {
    const got: Record<string, number[]> = { first: [], second: [], wild: [] };
    const take = (name: string) => (err: Error | null, m: Msg) => {
      if (err === null) got[name]!.push(json(m).seq);
    };
    const first = pub.subscribe('acks.fixed', { callback: take('first') });
    await pub.flush();
    for (let i = 0; i < 3; i++) pub.publish('r.a', Buffer.from('x'), { reply: 'acks.fixed' });
    await checkFor(() => got.first!.length === 3, 5000);
    first.unsubscribe();
    other.subscribe('acks.fixed', { callback: take('second') });
    await other.flush();
    await pub.flush();
    for (let i = 0; i < 2; i++) pub.publish('r.a', Buffer.from('x'), { reply: 'acks.fixed' });
    await checkFor(() => got.second!.length === 2, 5000);
    other.subscribe('acks.*', { callback: take('wild') });
    await other.flush();
    for (let i = 0; i < 2; i++) pub.publish('r.a', Buffer.from('x'), { reply: 'acks.fixed' });
    await checkFor(() => got.second!.length === 4 && got.wild!.length === 2, 5000);
    await pub.flush();
    await other.flush();
    assert.deepEqual(got, { first: [1, 2, 3], second: [4, 5, 6, 7], wild: [6, 7] });
  });
});
