/**
 * What only the durable store has: its streams' names and subjects, the
 * removal of old retained tombstones by `expire`, and records that do not
 * decode (written by someone else into its subjects) skipped at open.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_ACCOUNT } from '../../src/core/account.js';
import type { JetStream } from '../../src/jetstream/service.js';
import { encodeRetained, keyOf } from '../../src/protocols/mqtt/store-records.js';
import { RETAINED_TOMBSTONE_MS } from '../../src/protocols/mqtt/store-retained.js';
import { mqttStreamNames } from '../../src/protocols/mqtt/store-streams.js';
import { openStreamStore, startJetStream } from './store-open.js';

async function withJetStream(fn: (js: JetStream, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-mqtt-streams-'));
  try {
    await fn(await startJetStream(dir), dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function streamOf(js: JetStream, name: string) {
  const cs = js.account(DEFAULT_ACCOUNT)!.streams.get(name);
  assert.ok(cs, `stream ${name}`);
  return cs.stream;
}

test('stream names: a plain node name as it is, another one hashed, none for an unnamed node', () => {
  assert.deepEqual(mqttStreamNames(''), {
    sess: '$MQTT_sess',
    msgs: '$MQTT_msgs',
    rmsgs: '$MQTT_rmsgs',
    prefix: '$MQTT',
    token: 'local',
  });
  assert.equal(mqttStreamNames('edge-7').sess, '$MQTT_sess_edge-7');
  const odd = mqttStreamNames('a.b c');
  assert.match(odd.token, /^[A-Za-z0-9_-]{22}$/);
  assert.equal(odd.rmsgs, `$MQTT_rmsgs_${odd.token}`);
});

test('the streams hold the records on the documented subjects', async () => {
  await withJetStream(async (js) => {
    const store = await openStreamStore(js, {}, 'n1');
    await store.saveSession({
      clientId: 'c',
      protocol: 5,
      expiryInterval: 9,
      subscriptions: [],
      disconnectedAt: null,
    });
    await store.rememberIncoming('c', 7);
    await store.enqueue('c', { topic: 't', payload: Buffer.from('x'), qos: 1, retain: false });
    await store.setRetained('r', { topic: 'r', payload: Buffer.from('y'), qos: 0, retain: true });
    const subjects = async (name: string) => {
      const s = streamOf(js, name);
      const out: string[] = [];
      for (let m = await s.messages.next(0); m !== null; m = await s.messages.next(m.seq + 1)) {
        out.push(m.subject.replace(/\.[A-Za-z0-9_-]{22}(\.|$)/, '.<key>$1'));
      }
      return out;
    };
    assert.deepEqual(await subjects('$MQTT_sess_n1'), [
      '$MQTT.sess.n1.<key>',
      '$MQTT.sess.n1.<key>.in.7',
    ]);
    assert.deepEqual(await subjects('$MQTT_msgs_n1'), ['$MQTT.msgs.n1.<key>.q']);
    assert.deepEqual(await subjects('$MQTT_rmsgs_n1'), ['$MQTT.rmsg.n1.<key>']);
    assert.equal(streamOf(js, '$MQTT_sess_n1').config.max_msgs_per_subject, 1);
    await js.stop();
  });
});

test('expire removes a retained clear older than RETAINED_TOMBSTONE_MS, not a newer one', async () => {
  await withJetStream(async (js) => {
    const store = await openStreamStore(js);
    const rmsgs = streamOf(js, '$MQTT_rmsgs');
    const m = (t: string) => ({
      topic: t,
      payload: Buffer.from('v'),
      qos: 0 as const,
      retain: true,
    });
    await store.setRetained('gone', m('gone'));
    await store.setRetained('gone', null);
    await store.setRetained('kept', m('kept'));
    assert.equal(rmsgs.state().messages, 2, 'the clear is a tombstone record');
    await store.expire(Date.now() + RETAINED_TOMBSTONE_MS - 60_000);
    assert.equal(rmsgs.state().messages, 2);
    await store.expire(Date.now() + RETAINED_TOMBSTONE_MS + 1);
    assert.equal(rmsgs.state().messages, 1);
    assert.deepEqual(
      (await store.retained('#')).map((x) => x.topic),
      ['kept'],
    );
    await store.setRetained('gone', m('gone'));
    assert.deepEqual(
      (await store.retained('#')).map((x) => x.topic),
      ['kept', 'gone'],
    );
    await js.stop();
  });
});

test('records that do not decode are skipped at open and counted; the others are read', async () => {
  await withJetStream(async (js, dir) => {
    let store = await openStreamStore(js);
    await store.saveSession({
      clientId: 'c',
      protocol: 4,
      expiryInterval: 60,
      subscriptions: [],
      disconnectedAt: 1,
    });
    await store.enqueue('c', { topic: 't', payload: Buffer.from('x'), qos: 1, retain: false });
    // As a client allowed to publish into `$MQTT.>` would write them.
    await streamOf(js, '$MQTT_sess').store('$MQTT.sess.local.junk', null, Buffer.from('{not json'));
    await streamOf(js, '$MQTT_msgs').store('$MQTT.msgs.local.junk.q', null, Buffer.from([0, 0]));
    await streamOf(js, '$MQTT_rmsgs').store('$MQTT.rmsg.local.junk', null, Buffer.from('x'));
    await js.stop();
    const again = await startJetStream(dir);
    store = await openStreamStore(again);
    assert.equal(store.skippedRecords, 3);
    assert.deepEqual(
      (await store.sessions()).map((s) => s.clientId),
      ['c'],
    );
    assert.equal((await store.queued('c')).length, 1);
    assert.deepEqual(await store.retained('#'), []);
    await again.stop();
  });
});

test('retained versions from other nodes: the newest wins, a newer clear wins, a local set beats what it saw', async () => {
  await withJetStream(async (js) => {
    const store = await openStreamStore(js, { maxRetainedBytes: 8 }, 'me');
    const rmsgs = streamOf(js, '$MQTT_rmsgs_me');
    const m = (t: string, v: string) => ({
      topic: t,
      payload: Buffer.from(v),
      qos: 0 as const,
      retain: true,
    });
    // As a source copies them from node `other`'s stream.
    const copy = (topic: string, v: string | null, at: number) =>
      rmsgs.store(
        `$MQTT.rmsg.other.${keyOf(topic)}`,
        null,
        encodeRetained(topic, v === null ? null : m(topic, v), at),
      );
    const now = Date.now();
    await store.setRetained('t', m('t', 'mine'));
    await copy('t', 'older', now - 60_000);
    assert.deepEqual(
      (await store.retained('t')).map((x) => x.payload.toString()),
      ['mine'],
    );
    await copy('t', 'newer', now + 60_000);
    assert.deepEqual(
      (await store.retained('t')).map((x) => x.payload.toString()),
      ['newer'],
    );
    await copy('t', null, now + 120_000);
    assert.deepEqual(await store.retained('t'), []);
    // A set here is later than every version it knows of, so it wins again.
    await store.setRetained('t', m('t', 'again'));
    assert.deepEqual(
      (await store.retained('#')).map((x) => x.payload.toString()),
      ['again'],
    );
    // Copies past the account's retained bytes are taken, and read from the stream, not memory.
    await copy('big', 'a large retained payload', now);
    const before = store.retainedUncachedReads;
    assert.deepEqual(
      (await store.retained('big')).map((x) => x.payload.toString()),
      ['a large retained payload'],
    );
    assert.equal(store.retainedUncachedReads, before + 1);
    await js.stop();
  });
});
