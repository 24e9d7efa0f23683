/**
 * The sync policy of the Redis groups' record streams
 * (src/jetstream/sync-overrides.ts): written before each answer, fsynced
 * on a timer under the default policy; every other stream keeps the
 * node's policy (XADD's streams fsync before each answer).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STATE_STREAM_SYNC_MS, syncFor } from '../../src/jetstream/sync-overrides.js';
import { groupStreamNames } from '../../src/protocols/redis/groups/store.js';

test('group record streams are fsynced on a timer; other streams keep the node policy', () => {
  const always = { kind: 'always' } as const;
  const timer = { kind: 'interval', intervalMs: STATE_STREAM_SYNC_MS };
  for (const node of ['', 'a', 'a node with spaces']) {
    assert.deepEqual(syncFor(groupStreamNames(node).stream, always), timer);
  }
  for (const name of ['orders', 'REDIS_groups', '$MQTT_sess', 'x$REDIS_groups']) {
    assert.deepEqual(syncFor(name, always), always);
  }
  // A node on sync_interval keeps its own interval, for every stream.
  const everysec = { kind: 'interval', intervalMs: 1000 } as const;
  assert.deepEqual(syncFor(groupStreamNames('').stream, everysec), everysec);
  assert.deepEqual(syncFor('orders', everysec), everysec);
});
