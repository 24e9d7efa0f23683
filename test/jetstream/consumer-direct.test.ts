/**
 * The in-process way into a pull consumer (consumer-direct.ts): `takeNow`
 * and `ackSeqs` leave a consumer exactly as no-wait pulls and `+ACK` /
 * `-NAK` acks through the message path leave its twin — the same messages
 * in the same order, delivery counts, consumer sequences, pending set, ack
 * floor, redelivery count, num_pending, max_ack_pending's bound, and
 * redelivery after ack_wait — and it takes nothing while a pull request
 * waits (that one is served first, by the message path).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { AckPolicy, connect, type JetStreamClient, type JsMsg, type NatsConnection } from 'nats';
import { startServer, type WeftServer } from '../../src/index.js';
import type { Consumer } from '../../src/jetstream/consumer.js';
import { checkFor } from '../helpers/poll.js';

let dir = '';
let s: WeftServer;
let nc: NatsConnection;
let js: JetStreamClient;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'weft-cdirect-'));
  s = await startServer({
    host: '127.0.0.1',
    port: 0,
    httpPort: -1,
    meshPort: -1,
    dataDir: dir,
    logLevel: 'silent',
  });
  nc = await connect({ port: s.port });
  js = nc.jetstream();
});
afterEach(async () => {
  await nc.close();
  await s.close();
  await rm(dir, { recursive: true, force: true });
});

/** Two consumers `A` (the message path) and `B` (in process) with the same config. */
async function twins(
  cfg: { ack_wait?: number; max_ack_pending?: number },
  msgs: number,
): Promise<{ a: Consumer; b: Consumer }> {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'S', subjects: ['s.>'] });
  for (let i = 1; i <= msgs; i++) await js.publish(`s.${i}`, Buffer.from(`m${i}`));
  for (const name of ['A', 'B']) {
    await jsm.consumers.add('S', { durable_name: name, ack_policy: AckPolicy.Explicit, ...cfg });
  }
  const stream = s.node.jetstream!.account('$G')!.streams.get('S')!;
  return { a: stream.consumers.get('A'), b: stream.consumers.get('B') };
}

async function fetchNow(batch: number): Promise<JsMsg[]> {
  const out: JsMsg[] = [];
  for await (const m of js.fetch('S', 'A', { batch, no_wait: true })) out.push(m);
  return out;
}

/** What a take delivered: [stream seq, deliveries] each. */
function pulled(msgs: JsMsg[]): [number, number][] {
  return msgs.map((m) => [m.seq, m.info.redeliveryCount]);
}
function taken(c: Consumer, batch: number): [number, number][] {
  const { got, more } = c.direct.takeNow(batch);
  assert.equal(more, false);
  const pending = new Map(c.snapshot().pending.map((p) => [p[0], p[2]]));
  for (const m of got) assert.equal(m.payload.toString(), `m${m.seq}`);
  return got.map((m) => [m.seq, pending.get(m.seq)!]);
}

/** The state both paths must agree on (the state file's, and the info's counts). */
function stateOf(c: Consumer): unknown {
  const { config: _c, created: _t, ...rest } = c.snapshot();
  return { ...rest, counts: c.counts() };
}

async function same(a: Consumer, b: Consumer): Promise<void> {
  // The message path's acks are publishes: seen once the consumer has them.
  await nc.flush();
  await checkFor(() => {
    assert.deepEqual(stateOf(b), stateOf(a));
  });
}

/** A's messages by stream sequence (the last delivery of each), to ack through the client. */
const held = new Map<number, JsMsg>();
async function fetchHeld(batch: number): Promise<[number, number][]> {
  const msgs = await fetchNow(batch);
  for (const m of msgs) held.set(m.seq, m);
  return pulled(msgs);
}
function ackA(seqs: number[], kind: 'ack' | 'nak'): void {
  for (const seq of seqs) {
    if (kind === 'ack') held.get(seq)!.ack();
    else held.get(seq)!.nak();
  }
}

describe('consumer: takeNow and ackSeqs (in process)', () => {
  beforeEach(() => held.clear());

  test('deliver, ack and nak as no-wait pulls and acks do, max_ack_pending included', async () => {
    const { a, b } = await twins({ max_ack_pending: 8 }, 20);
    const first = await fetchHeld(5);
    assert.deepEqual(first, [
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 1],
      [5, 1],
    ]);
    assert.deepEqual(taken(b, 5), first);
    await same(a, b);

    // +ACK 2 and 4, -NAK 1 and 3: those first (in NAK order), then new ones up to 8 pending.
    ackA([2, 4], 'ack');
    ackA([3, 1], 'nak');
    b.direct.ackSeqs([2, 4], 'ack');
    b.direct.ackSeqs([3, 1], 'nak');
    await same(a, b);
    const second = await fetchHeld(10);
    assert.deepEqual(second, [
      [3, 2],
      [1, 2],
      [6, 1],
      [7, 1],
      [8, 1],
      [9, 1],
      [10, 1],
    ]);
    assert.deepEqual(taken(b, 10), second);
    await same(a, b);
    // At max_ack_pending: nothing more, on either path.
    assert.deepEqual(await fetchHeld(3), []);
    assert.deepEqual(taken(b, 3), []);

    // Acks free room; the ack floor moves past 1..4 on both.
    ackA([1, 3, 5, 6], 'ack');
    b.direct.ackSeqs([1, 3, 5, 6], 'ack');
    await same(a, b);
    assert.equal(b.snapshot().ackFloor.stream_seq, 6);
    const third = await fetchHeld(20);
    assert.deepEqual(third, [
      [11, 1],
      [12, 1],
      [13, 1],
      [14, 1],
    ]);
    assert.deepEqual(taken(b, 20), third);
    await same(a, b);
    assert.equal(b.counts().num_pending, 6);
    // An ack of something not pending (twice, or never delivered) changes nothing.
    ackA([7], 'ack');
    b.direct.ackSeqs([7], 'ack');
    b.direct.ackSeqs([7, 19], 'ack');
    b.direct.ackSeqs([7, 19], 'nak');
    await same(a, b);
  });

  test('redelivered after ack_wait, as through pulls', async () => {
    const { a, b } = await twins({ ack_wait: 200_000_000 }, 2);
    const first = await fetchHeld(2);
    assert.deepEqual(taken(b, 2), first);
    ackA([1], 'ack');
    b.direct.ackSeqs([1], 'ack');
    // Not acked within ack_wait: 2 again, its second delivery, on both.
    const again = await checkFor(async () => {
      const got = await fetchHeld(5);
      return got.length > 0 ? got : false;
    }, 5000);
    assert.deepEqual(again, [[2, 2]]);
    const later = await checkFor(() => {
      const got = taken(b, 5);
      return got.length > 0 ? got : false;
    }, 5000);
    assert.deepEqual(later, again);
    await same(a, b);
    assert.equal(b.counts().num_redelivered, 1);
  });

  test('takes nothing while a pull request waits; that one is served first', async () => {
    const { b } = await twins({}, 0);
    const waiting = (async () => {
      const out: JsMsg[] = [];
      for await (const m of js.fetch('S', 'B', { batch: 1, expires: 5000 })) out.push(m);
      return out;
    })();
    await checkFor(() => b.counts().num_waiting === 1);
    assert.deepEqual(b.direct.takeNow(5), { got: [], more: true });
    await js.publish('s.1', Buffer.from('m1'));
    const got = await waiting;
    assert.deepEqual(pulled(got), [[1, 1]]);
    // Served: nothing waits, nothing left.
    assert.deepEqual(b.direct.takeNow(5), { got: [], more: false });
  });
});
