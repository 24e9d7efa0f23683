/**
 * The MqttStore contract (src/protocols/mqtt/store.ts) as one suite that
 * both stores run (store-conformance.test.ts), as test/streams/store-suite.ts
 * does for stream stores. A store that persists also runs the reopen tests
 * (store-suite-reopen.ts): what was written is there, the same, after a
 * close and reopen from the same data.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MqttStore, StoredMessage, StoredSession } from '../../src/protocols/mqtt/store.js';
import {
  DEFAULT_STORE_LIMITS,
  type MqttStoreLimits,
  SESSION_NEVER_EXPIRES,
} from '../../src/protocols/mqtt/store-limits.js';
import type { OpenedMqttStore } from './store-open.js';
import { reopenTests } from './store-suite-reopen.js';
import { retainedTests } from './store-suite-retained.js';

export type Opener = (limits?: Partial<MqttStoreLimits>) => Promise<OpenedMqttStore>;

export interface Ctx {
  store: MqttStore;
  /** Present for a store that persists. */
  reopen?: () => Promise<MqttStore>;
}

/** A test against a fresh store with `limits`, always cleaned up. */
export type It = (
  title: string,
  fn: (c: Ctx) => Promise<void>,
  opts?: { limits?: Partial<MqttStoreLimits>; persist?: boolean },
) => void;

export function mqttStoreSuite(name: string, open: Opener): void {
  const it: It = (title, fn, opts = {}) => {
    test(title, async (t) => {
      const opened = await open(opts.limits);
      try {
        if (opts.persist === true && opened.reopen === undefined) {
          t.skip(`${name} does not persist`);
          return;
        }
        const c: Ctx = { store: opened.store };
        if (opened.reopen !== undefined) {
          const reopen = opened.reopen;
          c.reopen = async () => {
            c.store = await reopen();
            return c.store;
          };
        }
        await fn(c);
      } finally {
        await opened.cleanup();
      }
    });
  };
  describe(`MqttStore contract: ${name}`, () => {
    sessionTests(it);
    queueTests(it);
    incomingTests(it);
    retainedTests(it);
    reopenTests(it);
  });
}

export function session(clientId: string, over: Partial<StoredSession> = {}): StoredSession {
  return {
    clientId,
    protocol: 5,
    expiryInterval: 60,
    subscriptions: [{ filter: 'a/+', qos: 1 }],
    disconnectedAt: null,
    ...over,
  };
}

export function msg(
  topic: string,
  payload: string,
  over: Partial<StoredMessage> = {},
): StoredMessage {
  return { topic, payload: Buffer.from(payload), qos: 1, retain: false, ...over };
}

/** What a message reads as, for deepEqual (Buffers as strings). */
export function shape(m: StoredMessage): Record<string, unknown> {
  const p = m.properties;
  return {
    ...m,
    payload: m.payload.toString(),
    ...(p === undefined
      ? {}
      : {
          properties: {
            ...p,
            ...(p.correlationData === undefined
              ? {}
              : { correlationData: p.correlationData.toString('hex') }),
          },
        }),
  };
}

export const FULL: StoredMessage = {
  topic: 'dev/é/+x',
  payload: Buffer.from([0, 1, 2, 255]),
  qos: 2,
  retain: true,
  properties: {
    payloadFormatIndicator: true,
    messageExpiryInterval: 3600,
    contentType: 'application/octet-stream',
    responseTopic: 'reply/here',
    correlationData: Buffer.from([9, 8, 7]),
    userProperties: { a: '1', b: ['2', '3'] },
  },
  expiresAt: Date.now() + 3_600_000,
};

function sessionTests(it: It): void {
  it('a saved session loads as saved, a second save replaces it, delete removes it', async ({
    store,
  }) => {
    assert.equal(await store.loadSession('c1'), null);
    const s = session('c1', {
      subscriptions: [
        {
          filter: 'x/#',
          qos: 2,
          noLocal: true,
          retainAsPublished: true,
          retainHandling: 1,
          identifier: 7,
        },
      ],
    });
    assert.equal(await store.saveSession(s), null);
    assert.deepEqual(await store.loadSession('c1'), s);
    const s2 = session('c1', { protocol: 4, subscriptions: [], disconnectedAt: 1234 });
    await store.saveSession(s2);
    assert.deepEqual(await store.loadSession('c1'), s2);
    await store.saveSession(session('c2'));
    assert.deepEqual((await store.sessions()).map((x) => x.clientId).sort(), ['c1', 'c2']);
    await store.enqueue('c1', msg('a/b', 'q'));
    await store.rememberIncoming('c1', 5);
    await store.deleteSession('c1');
    assert.equal(await store.loadSession('c1'), null);
    assert.deepEqual(await store.queued('c1'), []);
    assert.deepEqual(await store.incoming('c1'), []);
    assert.deepEqual(
      (await store.sessions()).map((x) => x.clientId),
      ['c2'],
    );
    await store.deleteSession('never-there');
  });

  it('a session the caller changes after saving is not changed in the store', async ({ store }) => {
    const subs = [{ filter: 'a', qos: 0 as const }];
    const s = { ...session('c'), subscriptions: subs };
    await store.saveSession(s);
    subs.push({ filter: 'b', qos: 0 });
    assert.deepEqual((await store.loadSession('c'))!.subscriptions, [{ filter: 'a', qos: 0 }]);
  });

  it(
    'maxSessions: a new session past it is refused and counted; a known one is replaced',
    async ({ store }) => {
      assert.equal(store.limits.maxSessions, 2);
      await store.saveSession(session('a'));
      await store.saveSession(session('b'));
      assert.equal(await store.saveSession(session('c')), 'sessions');
      assert.equal(store.counters.sessionsFull, 1);
      assert.equal(await store.loadSession('c'), null);
      assert.equal(await store.saveSession(session('b', { expiryInterval: 5 })), null);
      await store.deleteSession('a');
      assert.equal(await store.saveSession(session('c')), null);
      assert.equal(store.counters.sessionsFull, 1);
    },
    { limits: { maxSessions: 2 } },
  );

  it('expire deletes disconnected sessions past their expiry interval, with their queues', async ({
    store,
  }) => {
    const t0 = 1_000_000;
    await store.saveSession(session('gone', { expiryInterval: 10, disconnectedAt: t0 }));
    await store.saveSession(session('stays', { expiryInterval: 10, disconnectedAt: t0 + 1 }));
    await store.saveSession(session('connected', { expiryInterval: 0, disconnectedAt: null }));
    await store.saveSession(
      session('forever', { expiryInterval: SESSION_NEVER_EXPIRES, disconnectedAt: 0 }),
    );
    await store.saveSession(session('zero', { expiryInterval: 0, disconnectedAt: t0 + 10_000 }));
    await store.enqueue('gone', msg('a', 'x'));
    assert.deepEqual((await store.expire(t0 + 9_999)).sort(), []);
    assert.deepEqual((await store.expire(t0 + 10_000)).sort(), ['gone', 'zero']);
    assert.equal(store.counters.sessionsExpired, 2);
    assert.deepEqual(await store.queued('gone'), []);
    assert.deepEqual((await store.sessions()).map((s) => s.clientId).sort(), [
      'connected',
      'forever',
      'stays',
    ]);
    assert.deepEqual(await store.expire(t0 + 10_001), ['stays']);
    assert.equal(store.counters.sessionsExpired, 3);
  });

  it('limits default to the named constants', async ({ store }) => {
    assert.deepEqual(store.limits, DEFAULT_STORE_LIMITS);
  });
}

function queueTests(it: It): void {
  it('enqueue gives increasing ids; queued returns the messages as given, oldest first', async ({
    store,
  }) => {
    await store.saveSession(session('c'));
    const a = await store.enqueue('c', FULL);
    const b = await store.enqueue('c', msg('t/2', 'two'));
    assert.equal(typeof a, 'number');
    assert.ok((b as number) > (a as number));
    const q = await store.queued('c');
    assert.deepEqual(
      q.map((e) => e.id),
      [a, b],
    );
    assert.deepEqual(shape(q[0]!.message), shape(FULL));
    assert.deepEqual(shape(q[1]!.message), { topic: 't/2', payload: 'two', qos: 1, retain: false });
    assert.equal(q[0]!.packetId, undefined);
    assert.equal(q[0]!.released, undefined);
  });

  it('the payload is copied: a buffer the caller reuses does not change what is queued', async ({
    store,
  }) => {
    const buf = Buffer.from('abc');
    await store.enqueue('c', { topic: 't', payload: buf, qos: 1, retain: false });
    buf.write('xyz');
    assert.equal((await store.queued('c'))[0]!.message.payload.toString(), 'abc');
  });

  it('markSent records the packet id and QoS 2 release; ack removes the entry', async ({
    store,
  }) => {
    await store.saveSession(session('c'));
    const a = (await store.enqueue('c', msg('t', '1', { qos: 2 }))) as number;
    const b = (await store.enqueue('c', msg('t', '2'))) as number;
    await store.markSent('c', a, 17);
    let q = await store.queued('c');
    assert.deepEqual([q[0]!.packetId, q[0]!.released, q[1]!.packetId], [17, undefined, undefined]);
    await store.markSent('c', a, 17, true);
    await store.markSent('c', b, 18);
    q = await store.queued('c');
    assert.deepEqual(
      q.map((e) => [e.id, e.packetId, e.released]),
      [
        [a, 17, true],
        [b, 18, undefined],
      ],
    );
    await store.ack('c', a);
    assert.deepEqual(
      (await store.queued('c')).map((e) => e.id),
      [b],
    );
    await store.ack('c', a);
    await store.ack('c', 999_999);
    await store.markSent('c', 999_999, 1);
    await store.ack('c', b);
    assert.deepEqual(await store.queued('c'), []);
  });

  it(
    'maxQueuedMessages: past it enqueue answers count and counts; an ack makes room',
    async ({ store }) => {
      await store.saveSession(session('c'));
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(await store.enqueue('c', msg('t', String(i))));
      assert.equal(await store.enqueue('c', msg('t', 'x')), 'count');
      assert.equal(store.counters.queueFullMessages, 1);
      assert.equal(typeof (await store.enqueue('other', msg('t', 'o'))), 'number');
      await store.ack('c', ids[0] as number);
      assert.equal(typeof (await store.enqueue('c', msg('t', 'y'))), 'number');
      assert.deepEqual(
        (await store.queued('c')).map((e) => e.message.payload.toString()),
        ['1', '2', 'y'],
      );
    },
    { limits: { maxQueuedMessages: 3 } },
  );

  it(
    'maxQueuedBytes: topic + payload bytes; past it enqueue answers bytes and counts',
    async ({ store }) => {
      await store.saveSession(session('c'));
      // 't' + 9 bytes = 10 each; 30 fit exactly.
      for (let i = 0; i < 3; i++)
        assert.equal(typeof (await store.enqueue('c', msg('t', '123456789'))), 'number');
      assert.equal(await store.enqueue('c', msg('t', '')), 'bytes');
      assert.equal(store.counters.queueFullBytes, 1);
      await store.deleteSession('c');
      assert.equal(await store.enqueue('c', msg('t', 'x'.repeat(30))), 'bytes');
      assert.equal(store.counters.queueFullBytes, 2);
    },
    { limits: { maxQueuedBytes: 30 } },
  );

  it(
    'a queued message whose expiresAt passed is dropped on read, counted, and frees its room',
    async ({ store }) => {
      await store.saveSession(session('c'));
      await store.enqueue('c', msg('t', 'old', { expiresAt: Date.now() - 1 }));
      await store.enqueue('c', msg('t', 'new', { expiresAt: Date.now() + 60_000 }));
      assert.equal(await store.enqueue('c', msg('t', 'x')), 'count');
      assert.deepEqual(
        (await store.queued('c')).map((e) => e.message.payload.toString()),
        ['new'],
      );
      assert.equal(store.counters.messagesExpired, 1);
      assert.equal(typeof (await store.enqueue('c', msg('t', 'x'))), 'number');
    },
    { limits: { maxQueuedMessages: 2 } },
  );

  it('queues are per client', async ({ store }) => {
    await store.enqueue('a', msg('t', 'for a'));
    await store.enqueue('b', msg('t', 'for b'));
    assert.deepEqual(
      (await store.queued('a')).map((e) => e.message.payload.toString()),
      ['for a'],
    );
    assert.deepEqual(await store.queued('nobody'), []);
    await store.deleteSession('a');
    assert.equal((await store.queued('b')).length, 1);
  });
}

function incomingTests(it: It): void {
  it('QoS 2 packet ids: remembered once, listed in order, released', async ({ store }) => {
    await store.saveSession(session('c'));
    await store.rememberIncoming('c', 300);
    await store.rememberIncoming('c', 2);
    await store.rememberIncoming('c', 300);
    await store.rememberIncoming('d', 2);
    assert.deepEqual(await store.incoming('c'), [2, 300]);
    await store.releaseIncoming('c', 300);
    await store.releaseIncoming('c', 301);
    assert.deepEqual(await store.incoming('c'), [2]);
    assert.deepEqual(await store.incoming('d'), [2]);
    assert.deepEqual(await store.incoming('e'), []);
  });
}
