/**
 * Stream-backed SSE (`?stream=NAME&start=…`, `Last-Event-ID`): replay from
 * the stream, then live, through one consumer — no gap and no duplicate at
 * the seam while a NATS client publishes without pause, both when a client
 * connects and when it reconnects with `Last-Event-ID`. Each event's id is
 * its stream sequence. Also every `start` form and the refusals.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import { checkFor } from '../helpers/poll.js';
import { eventsOf, SseClient, type SseNode, startSseNode } from '../helpers/sse.js';

/**
 * Publishes `ev.<n % 3>` with payload n (from 1) until stopped; n is then
 * the stream sequence. Without pause, but paced (20 messages, a flush, a
 * timer turn): unpaced, a fast machine published millions while the test
 * waited for its next step, and the readers' catching up, not the seam,
 * decided whether the test passed.
 */
function publisher(nc: NatsConnection) {
  const state = { sent: 0, stopped: false, done: Promise.resolve() };
  state.done = (async () => {
    while (!state.stopped) {
      for (let i = 0; i < 20; i++) {
        state.sent++;
        nc.publish(`ev.${state.sent % 3}`, Buffer.from(String(state.sent)));
      }
      await nc.flush();
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  return state;
}

function assertRun(ids: number[], from: number, what: string): void {
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] !== from + i) {
      assert.fail(
        `${what}: event ${i} has id ${ids[i]}, expected ${from + i} (no gap, no duplicate)`,
      );
    }
  }
}

describe('SSE: resume from a stream', () => {
  let node: SseNode;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  before(async () => {
    node = await startSseNode();
    nc = await connect({ servers: node.natsUrl, reconnect: false });
    jsm = await nc.jetstreamManager();
  });
  after(async () => {
    await nc.close();
    await node.close();
  });

  test('connect and reconnect with Last-Event-ID under continuous publishing: no gap, no duplicate', async () => {
    await jsm.streams.add({ name: 'EV', subjects: ['ev.>'] });
    const pub = publisher(nc);
    try {
      await checkFor(() => pub.sent >= 300, 10_000);
      // Joins while messages keep coming: replay 1.., then live, one consumer.
      const joined = pub.sent;
      const a = await SseClient.open(`${node.base}/v1/subscribe/ev.%3E?stream=EV&start=first`);
      assert.equal(a.status, 200);
      await checkFor(() => {
        if (a.events.length >= joined + 500) return true;
        throw new Error(`${a.events.length} events, ${pub.sent} sent, joined at ${joined}`);
      }, 20_000);
      a.close();
      const aIds = a.events.map((e) => Number(e.id));
      assertRun(aIds, 1, 'first connection');
      for (const e of a.events) assert.equal(e.data, e.id);
      const last = a.lastEventId;
      // More is published while the client is away.
      await checkFor(() => {
        if (pub.sent >= Number(last) + 500) return true;
        throw new Error(`${pub.sent} sent, the first connection ended at ${last}`);
      }, 10_000);
      const b = await SseClient.open(`${node.base}/v1/subscribe/ev.%3E?stream=EV`, {
        'last-event-id': last,
      });
      assert.equal(b.status, 200);
      await checkFor(() => {
        if (b.events.length >= 1000) return true;
        throw new Error(`${b.events.length} events after reconnecting, ${pub.sent} sent`);
      }, 20_000);
      pub.stopped = true;
      await pub.done;
      const total = pub.sent;
      await checkFor(() => {
        if (Number(b.lastEventId) === total) return true;
        throw new Error(`last event ${b.lastEventId}, ${total} sent (${b.events.length} events)`);
      }, 10_000);
      b.close();
      assertRun(
        b.events.map((e) => Number(e.id)),
        Number(last) + 1,
        'after reconnecting',
      );
      assert.equal(Number(last) + b.events.length, total);
    } finally {
      pub.stopped = true;
      await pub.done;
    }
  });

  test('start: a sequence, last, new, a time; a filtered subject keeps stream sequences', async () => {
    await jsm.streams.add({ name: 'ST', subjects: ['st.>'] });
    const js = nc.jetstream();
    for (let i = 1; i <= 6; i++)
      await js.publish(`st.${i % 2 === 0 ? 'even' : 'odd'}`, Buffer.from(`m${i}`));
    const open = (q: string) => SseClient.open(`${node.base}/v1/subscribe/${q}`);
    const fromSeq = await open('st.%3E?stream=ST&start=4');
    assert.deepEqual(
      (await eventsOf(fromSeq, 3)).map((e) => [e.id, e.event, e.data]),
      [
        ['4', 'st.even', 'm4'],
        ['5', 'st.odd', 'm5'],
        ['6', 'st.even', 'm6'],
      ],
    );
    const evens = await open('st.even?stream=ST&start=first');
    assert.deepEqual(
      (await eventsOf(evens, 3)).map((e) => e.id),
      ['2', '4', '6'],
    );
    const last = await open('st.odd?stream=ST&start=last');
    assert.deepEqual(
      (await eventsOf(last, 1)).map((e) => e.id),
      ['5'],
    );
    const fresh = await open('st.%3E?stream=ST&start=new');
    const future = new Date(Date.now() + 60_000).toISOString();
    const byTime = await open(`st.%3E?stream=ST&start=${encodeURIComponent(future)}`);
    await checkFor(() => fresh.retry > 0 && byTime.retry > 0);
    await js.publish('st.odd', Buffer.from('m7'));
    assert.deepEqual(
      (await eventsOf(fresh, 1)).map((e) => [e.id, e.data]),
      [['7', 'm7']],
    );
    const past = await open(`st.%3E?stream=ST&start=${encodeURIComponent('2000-01-01T00:00:00Z')}`);
    assert.equal((await eventsOf(past, 7)).at(-1)!.id, '7');
    // As nats-server: a time after the last message starts after it, so m7 is next.
    assert.deepEqual(
      (await eventsOf(byTime, 1)).map((e) => e.id),
      ['7'],
    );
    // JSON events carry the sequence too.
    const json = await open('st.odd?stream=ST&start=7&format=json');
    assert.deepEqual(JSON.parse((await eventsOf(json, 1))[0]!.data), {
      subject: 'st.odd',
      seq: 7,
      data: 'm7',
    });
    for (const c of [fromSeq, evens, last, fresh, byTime, past, json]) c.close();
  });

  test('refusals: an unknown stream 404; a subject outside the stream 400; consumer gone after close', async () => {
    const missing = await fetch(`${node.base}/v1/subscribe/x?stream=NOPE`);
    assert.equal(missing.status, 404);
    assert.match(
      ((await missing.json()) as { error: { description: string } }).error.description,
      /NOPE/,
    );
    await jsm.streams.add({ name: 'RF', subjects: ['rf.>'] });
    const outside = await fetch(`${node.base}/v1/subscribe/elsewhere?stream=RF`);
    assert.equal(outside.status, 400);
    await outside.body?.cancel();
    const c = await SseClient.open(`${node.base}/v1/subscribe/rf.a?stream=RF`);
    await checkFor(async () => (await jsm.streams.info('RF')).state.consumer_count === 1);
    c.close();
    await checkFor(async () => (await jsm.streams.info('RF')).state.consumer_count === 0);
  });
});
