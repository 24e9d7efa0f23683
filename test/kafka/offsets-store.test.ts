/**
 * The committed-offsets store (src/protocols/kafka/groups/offsets.ts) over
 * its record backend: commits are visible only once written, a reopened
 * store reads back what was committed, a failed write changes nothing,
 * records that do not decode (or sit under the wrong subject) are skipped
 * and counted, and a group's deletion removes its records.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  keyOf,
  MemoryOffsetBackend,
  OffsetStore,
  offsetsStreamNames,
} from '../../src/protocols/kafka/groups/offsets.js';

const at = (offset: number, partition = 0, topic = 't.with.dots') => ({
  topic,
  partition,
  offset,
  leaderEpoch: -1,
  metadata: null,
  timestamp: 1,
});

describe('kafka offsets store', () => {
  test('commits survive a reopen; the latest per partition wins; deletion is durable', async () => {
    const backend = new MemoryOffsetBackend();
    const a = new OffsetStore(backend, 'n1');
    await a.open();
    assert.equal((await a.commit('g 1', [at(5), at(7, 1)])).size, 0);
    assert.equal((await a.commit('g 1', [at(6)])).size, 0);
    await a.commit('other', [at(1)]);
    const b = new OffsetStore(backend, 'n1');
    await b.open();
    assert.equal(b.get('g 1', 't.with.dots', 0)?.offset, 6);
    assert.equal(b.get('g 1', 't.with.dots', 1)?.offset, 7);
    assert.deepEqual(b.groups().sort(), ['g 1', 'other']);
    assert.equal(backend.records.size, 3, 'one record per partition');
    await b.deleteGroup('g 1');
    const c = new OffsetStore(backend, 'n1');
    await c.open();
    assert.equal(c.hasGroup('g 1'), false);
    assert.equal(c.get('other', 't.with.dots', 0)?.offset, 1);
  });

  test('a failed write is reported and changes nothing', async () => {
    const backend = new MemoryOffsetBackend();
    const s = new OffsetStore(backend);
    await s.open();
    await s.commit('g', [at(1)]);
    backend.failNext = 1;
    const e = at(2);
    const failed = await s.commit('g', [e]);
    assert.ok(failed.has(e));
    assert.equal(s.get('g', 't.with.dots', 0)?.offset, 1);
    assert.equal(s.commitFailures, 1);
  });

  test('records that do not decode or do not match their subject are skipped, counted', async () => {
    const backend = new MemoryOffsetBackend();
    backend.records.set(
      `$WEFT.kafka.offsets.local.${keyOf('g')}.${keyOf('t')}.0`,
      Buffer.from('{nope'),
    );
    backend.records.set(
      `$WEFT.kafka.offsets.local.${keyOf('g')}.${keyOf('t')}.1`,
      Buffer.from(JSON.stringify({ g: 'g', t: 't', p: 0, o: 1, e: -1, m: null, ts: 1 })),
    );
    const s = new OffsetStore(backend);
    await s.open();
    assert.equal(s.skipped, 2);
    assert.equal(s.hasGroup('g'), false);
  });

  test('stream names: one per node, as the MQTT face names its streams', () => {
    assert.deepEqual(offsetsStreamNames(''), { stream: '$WEFT_kafka_offsets', token: 'local' });
    assert.deepEqual(offsetsStreamNames('n-1'), {
      stream: '$WEFT_kafka_offsets_n-1',
      token: 'n-1',
    });
    assert.equal(offsetsStreamNames('a.b').token, keyOf('a.b'));
  });
});
