/** The retained-message part of the MqttStore contract (store-suite.ts). */
import assert from 'node:assert/strict';
import type { MqttStore } from '../../src/protocols/mqtt/store.js';
import { FULL, type It, msg, shape } from './store-suite.js';

async function topics(store: MqttStore, filter: string): Promise<string[]> {
  return (await store.retained(filter)).map((m) => m.topic);
}

export function retainedTests(it: It): void {
  it('retained: set, replace, clear with null; read back as set', async ({ store }) => {
    assert.deepEqual(await store.retained('a/b'), []);
    assert.equal(await store.setRetained('a/b', msg('a/b', 'one', { retain: true })), null);
    await store.setRetained(FULL.topic, FULL);
    assert.deepEqual((await store.retained('a/b')).map(shape), [
      { topic: 'a/b', payload: 'one', qos: 1, retain: true },
    ]);
    assert.deepEqual((await store.retained(FULL.topic)).map(shape), [shape(FULL)]);
    await store.setRetained('a/b', msg('a/b', 'two', { qos: 0 }));
    assert.deepEqual(
      (await store.retained('a/b')).map((m) => m.payload.toString()),
      ['two'],
    );
    await store.setRetained('a/b', null);
    assert.deepEqual(await store.retained('a/b'), []);
    await store.setRetained('a/b', null);
    await store.setRetained('never', null);
    assert.deepEqual(await topics(store, '#'), [FULL.topic]);
  });

  it('retained: + and # match as the spec says, in the order they were set', async ({ store }) => {
    for (const t of ['a', 'a/b', 'a/b/c', 'a//c', 'b/b', '/a', 'a/b/c/d']) {
      await store.setRetained(t, msg(t, t));
    }
    assert.deepEqual(await topics(store, '#'), [
      'a',
      'a/b',
      'a/b/c',
      'a//c',
      'b/b',
      '/a',
      'a/b/c/d',
    ]);
    // [MQTT-4.7.1-2]: `a/#` also matches the parent level `a`.
    assert.deepEqual(await topics(store, 'a/#'), ['a', 'a/b', 'a/b/c', 'a//c', 'a/b/c/d']);
    assert.deepEqual(await topics(store, 'a/+'), ['a/b']);
    assert.deepEqual(await topics(store, 'a/+/c'), ['a/b/c', 'a//c']);
    assert.deepEqual(await topics(store, '+/b'), ['a/b', 'b/b']);
    assert.deepEqual(await topics(store, '+'), ['a']);
    assert.deepEqual(await topics(store, '+/+'), ['a/b', 'b/b', '/a']);
    assert.deepEqual(await topics(store, '/+'), ['/a']);
    assert.deepEqual(await topics(store, 'a/b/c'), ['a/b/c']);
    assert.deepEqual(await topics(store, 'A/b'), []);
    // Replacing moves a topic to the end: the order is the order of the last set.
    await store.setRetained('a', msg('a', 'again'));
    assert.deepEqual(await topics(store, '+'), ['a']);
    assert.deepEqual((await topics(store, '#')).at(-1), 'a');
  });

  it('retained: $ topics are not matched by a filter starting with a wildcard [MQTT-4.7.2-1]', async ({
    store,
  }) => {
    await store.setRetained('$SYS/uptime', msg('$SYS/uptime', '1'));
    await store.setRetained('x/$y', msg('x/$y', '2'));
    assert.deepEqual(await topics(store, '#'), ['x/$y']);
    assert.deepEqual(await topics(store, '+/uptime'), []);
    assert.deepEqual(await topics(store, '+/+'), ['x/$y']);
    assert.deepEqual(await topics(store, '$SYS/#'), ['$SYS/uptime']);
    assert.deepEqual(await topics(store, '$SYS/+'), ['$SYS/uptime']);
    assert.deepEqual(await topics(store, '$SYS/uptime'), ['$SYS/uptime']);
  });

  it(
    'maxRetainedMessages: a new topic past it is refused and counted; a known topic is replaced',
    async ({ store }) => {
      await store.setRetained('a', msg('a', '1'));
      await store.setRetained('b', msg('b', '1'));
      assert.equal(await store.setRetained('c', msg('c', '1')), 'count');
      assert.equal(store.counters.retainedFullMessages, 1);
      assert.equal(await store.setRetained('a', msg('a', '2')), null);
      assert.deepEqual(await topics(store, '#'), ['b', 'a']);
      await store.setRetained('b', null);
      assert.equal(await store.setRetained('c', msg('c', '1')), null);
    },
    { limits: { maxRetainedMessages: 2 } },
  );

  it(
    'maxRetainedBytes: topic + payload over the account; past it refused, the old one stays',
    async ({ store }) => {
      await store.setRetained('a', msg('a', '123456789')); // 10
      await store.setRetained('b', msg('b', '12345678')); // 9
      assert.equal(await store.setRetained('c', msg('c', '12')), 'bytes'); // 22 > 20
      assert.equal(store.counters.retainedFullBytes, 1);
      assert.equal(await store.setRetained('a', msg('a', '1234567890')), null); // 11 + 9 = 20 fits
      assert.equal(store.counters.retainedFullBytes, 1);
      assert.equal(await store.setRetained('a', msg('a', '12345678901')), 'bytes');
      assert.equal(store.counters.retainedFullBytes, 2);
      assert.deepEqual(
        (await store.retained('a')).map((m) => m.payload.toString()),
        ['1234567890'],
      );
      await store.setRetained('a', null);
      assert.equal(await store.setRetained('c', msg('c', '12')), null);
    },
    { limits: { maxRetainedBytes: 20 } },
  );

  it(
    'retained: a message whose expiresAt passed is dropped on read, counted and cleared',
    async ({ store }) => {
      await store.setRetained('old', msg('old', 'x', { expiresAt: Date.now() - 1 }));
      await store.setRetained('new', msg('new', 'y', { expiresAt: Date.now() + 60_000 }));
      assert.deepEqual(await topics(store, '#'), ['new']);
      assert.equal(store.counters.messagesExpired, 1);
      assert.deepEqual(await topics(store, 'old'), []);
      assert.equal(store.counters.messagesExpired, 1);
    },
    { limits: { maxRetainedMessages: 2 } },
  );
}
