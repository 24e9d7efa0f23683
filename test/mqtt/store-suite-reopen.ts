/**
 * The reopen part of the MqttStore contract (store-suite.ts), for stores
 * that persist: everything written is there, the same, after the store is
 * closed and opened again from the same data (a restart).
 */
import assert from 'node:assert/strict';
import type { MqttStore } from '../../src/protocols/mqtt/store.js';
import { FULL, type It, msg, session, shape } from './store-suite.js';

/** Everything a store holds for the given clients, comparable with deepEqual. */
async function snapshot(store: MqttStore, clients: string[]): Promise<unknown> {
  const sessions = (await store.sessions()).sort((a, b) => a.clientId.localeCompare(b.clientId));
  const per: Record<string, unknown> = {};
  for (const c of clients) {
    per[c] = {
      queued: (await store.queued(c)).map((q) => ({ ...q, message: shape(q.message) })),
      incoming: await store.incoming(c),
    };
  }
  return { sessions, per, retained: (await store.retained('#')).map(shape) };
}

export function reopenTests(it: It): void {
  it(
    'reopen: sessions, queues with marks, QoS 2 ids and retained messages are as they were',
    async (c) => {
      const s = c.store;
      await s.saveSession(
        session('a', {
          disconnectedAt: 5,
          subscriptions: [{ filter: '$share/g/x/#', qos: 2, identifier: 3 }],
        }),
      );
      await s.saveSession(session('a', { disconnectedAt: 6, expiryInterval: 120 }));
      await s.saveSession(session('b', { protocol: 4, disconnectedAt: 7 }));
      const ids: number[] = [];
      for (let i = 0; i < 5; i++)
        ids.push((await s.enqueue('a', msg(`t/${i}`, `m${i}`, { qos: 2 }))) as number);
      await s.enqueue('b', FULL);
      await s.markSent('a', ids[0]!, 1);
      await s.markSent('a', ids[0]!, 1, true);
      await s.markSent('a', ids[1]!, 2);
      await s.markSent('a', ids[2]!, 3);
      await s.ack('a', ids[2]!);
      await s.ack('a', ids[3]!);
      await s.rememberIncoming('a', 10);
      await s.rememberIncoming('a', 11);
      await s.releaseIncoming('a', 10);
      await s.rememberIncoming('b', 65535);
      await s.setRetained('r/1', msg('r/1', 'x'));
      await s.setRetained(FULL.topic, FULL);
      await s.setRetained('r/2', msg('r/2', 'y'));
      await s.setRetained('r/1', msg('r/1', 'x2', { qos: 2 }));
      await s.setRetained('r/2', null);
      const before = await snapshot(s, ['a', 'b']);
      const reopened = await c.reopen!();
      assert.deepEqual(await snapshot(reopened, ['a', 'b']), before);
      // Marks and acks survive exactly: a[0] released, a[1] sent as 2, a[4] not sent.
      assert.deepEqual(
        (await reopened.queued('a')).map((q) => [q.id, q.packetId, q.released]),
        [
          [ids[0], 1, true],
          [ids[1], 2, undefined],
          [ids[4], undefined, undefined],
        ],
      );
      // And again: what the reopened store cleaned up (replaced marks) does not come back.
      assert.deepEqual(await snapshot(await c.reopen!(), ['a', 'b']), before);
    },
    { persist: true },
  );

  it(
    'reopen: the store goes on (ids keep increasing, acks and deletes stick, bounds hold)',
    async (c) => {
      await c.store.saveSession(session('a', { disconnectedAt: 1 }));
      const first = (await c.store.enqueue('a', msg('t', '1'))) as number;
      await c.store.enqueue('a', msg('t', '2'));
      let s = await c.reopen!();
      const third = (await s.enqueue('a', msg('t', '3'))) as number;
      assert.ok(third > first);
      assert.equal(await s.enqueue('a', msg('t', '4')), 'count');
      await s.ack('a', first);
      await s.setRetained('k', msg('k', 'v'));
      s = await c.reopen!();
      assert.deepEqual(
        (await s.queued('a')).map((q) => q.message.payload.toString()),
        ['2', '3'],
      );
      assert.deepEqual(
        (await s.retained('k')).map((m) => m.payload.toString()),
        ['v'],
      );
      await s.deleteSession('a');
      await s.setRetained('k', null);
      s = await c.reopen!();
      assert.equal(await s.loadSession('a'), null);
      assert.deepEqual(await s.queued('a'), []);
      assert.deepEqual(await s.retained('#'), []);
    },
    { persist: true, limits: { maxQueuedMessages: 3 } },
  );

  it(
    'reopen: a session stored as connected is disconnected since the open, and expires from then',
    async (c) => {
      await c.store.saveSession(session('live', { expiryInterval: 30, disconnectedAt: null }));
      const t0 = Date.now();
      const s = await c.reopen!();
      const got = await s.loadSession('live');
      assert.ok(got !== null && got.disconnectedAt !== null && got.disconnectedAt >= t0);
      assert.deepEqual(await s.expire(got.disconnectedAt! + 29_999), []);
      assert.deepEqual(await s.expire(got.disconnectedAt! + 30_000), ['live']);
    },
    { persist: true },
  );

  it(
    'reopen: state of a client without a session is dropped',
    async (c) => {
      await c.store.enqueue('clean', msg('t', 'x'));
      await c.store.rememberIncoming('clean', 4);
      await c.store.saveSession(session('kept', { disconnectedAt: 1 }));
      await c.store.rememberIncoming('kept', 4);
      const s = await c.reopen!();
      assert.deepEqual(await s.queued('clean'), []);
      assert.deepEqual(await s.incoming('clean'), []);
      assert.deepEqual(await s.incoming('kept'), [4]);
      const again = await c.reopen!();
      assert.deepEqual(await again.incoming('clean'), []);
    },
    { persist: true },
  );
}
