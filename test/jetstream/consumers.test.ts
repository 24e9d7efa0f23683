/**
 * Consumers through the official `nats` v2 client: jsm.consumers, js.fetch,
 * js.pull, js.subscribe (push), acks, redelivery, max_deliver, and durable
 * state across a restart; against Weft or (WEFT_TEST_TARGET=nats-server)
 * `nats-server -js`, so the shapes asserted are the reference's. Dead letters
 * are Weft's own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AckPolicy,
  consumerOpts,
  createInbox,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  NatsError,
  StringCodec,
} from 'nats';
import { checkFor, onlyOn } from '../helpers/harness.js';
import { closeJs, type JsData, type JsTarget, jsData, openJs } from './target.js';

const sc = StringCodec();
const MS = 1_000_000;

async function fetchAll(
  js: JetStreamClient,
  stream: string,
  consumer: string,
  opts: { batch: number; expires?: number; no_wait?: boolean },
): Promise<JsMsg[]> {
  const out: JsMsg[] = [];
  for await (const m of js.fetch(stream, consumer, opts)) out.push(m);
  return out;
}

describe('JetStream consumers', () => {
  let data: JsData;
  let srv: JsTarget;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;

  before(async () => {
    data = await jsData();
    ({ srv, nc, jsm, js } = await openJs(data));
  });
  after(() => closeJs({ srv, nc }, data));

  async function stream(name: string, n: number): Promise<void> {
    await jsm.streams.add({ name, subjects: [`${name.toLowerCase()}.>`] });
    for (let i = 1; i <= n; i++) await js.publish(`${name.toLowerCase()}.${i}`, sc.encode(`m${i}`));
  }

  test('pull: add, fetch a batch, ack, info shows the ack floor', async () => {
    await stream('PULL', 5);
    const ci = await jsm.consumers.add('PULL', {
      durable_name: 'D',
      ack_policy: AckPolicy.Explicit,
    });
    assert.equal(ci.name, 'D');
    assert.equal(ci.stream_name, 'PULL');
    assert.equal(ci.config.durable_name, 'D');
    assert.equal(ci.config.deliver_policy, 'all');
    assert.equal(ci.config.ack_policy, 'explicit');
    assert.equal(ci.config.ack_wait, 30_000 * MS);
    assert.equal(ci.config.max_deliver, -1);
    assert.equal(ci.config.max_ack_pending, 1000);
    assert.equal(ci.config.max_waiting, 512);
    assert.deepEqual(ci.delivered, { consumer_seq: 0, stream_seq: 0 });
    assert.deepEqual(ci.ack_floor, { consumer_seq: 0, stream_seq: 0 });
    assert.equal(ci.num_pending, 5);

    const msgs = await fetchAll(js, 'PULL', 'D', { batch: 3, expires: 1000 });
    assert.deepEqual(
      msgs.map((m) => sc.decode(m.data)),
      ['m1', 'm2', 'm3'],
    );
    assert.equal(msgs[0]!.subject, 'pull.1');
    assert.equal(msgs[0]!.info.streamSequence, 1);
    assert.equal(msgs[2]!.info.deliverySequence, 3);
    assert.equal(msgs[2]!.info.pending, 2);
    assert.equal(msgs[0]!.info.redeliveryCount, 1);
    assert.equal(msgs[0]!.info.stream, 'PULL');
    assert.equal(msgs[0]!.info.consumer, 'D');
    await msgs[0]!.ackAck();
    await msgs[1]!.ackAck();

    const info = await jsm.consumers.info('PULL', 'D');
    assert.equal(info.delivered.consumer_seq, 3);
    assert.equal(info.delivered.stream_seq, 3);
    assert.equal(info.ack_floor.consumer_seq, 2);
    assert.equal(info.ack_floor.stream_seq, 2);
    assert.equal(info.num_ack_pending, 1);
    assert.equal(info.num_pending, 2);
    assert.equal(info.num_redelivered, 0);

    const names = await jsm.consumers.list('PULL').next();
    assert.deepEqual(
      names.map((c) => c.name),
      ['D'],
    );
    const m = await js.pull('PULL', 'D');
    assert.equal(sc.decode(m.data), 'm4');
    await jsm.consumers.delete('PULL', 'D');
    await assert.rejects(jsm.consumers.info('PULL', 'D'), (err: unknown) => {
      assert.ok(err instanceof NatsError);
      assert.deepEqual(err.api_error, {
        code: 404,
        err_code: 10014,
        description: 'consumer not found',
      });
      return true;
    });
  });

  test('no_wait on an empty consumer: no messages', async () => {
    await stream('EMPTY', 0);
    await jsm.consumers.add('EMPTY', { durable_name: 'E', ack_policy: AckPolicy.Explicit });
    const msgs = await fetchAll(js, 'EMPTY', 'E', { batch: 5, no_wait: true });
    assert.equal(msgs.length, 0);
    // Partly filled, then the request ends.
    await js.publish('empty.1', sc.encode('x'));
    const some = await fetchAll(js, 'EMPTY', 'E', { batch: 5, no_wait: true });
    assert.equal(some.length, 1);
  });

  test('unacked messages are redelivered after ack_wait; -NAK redelivers at once', async () => {
    await stream('REDO', 2);
    await jsm.consumers.add('REDO', {
      durable_name: 'R',
      ack_policy: AckPolicy.Explicit,
      ack_wait: 500 * MS,
    });
    const first = await fetchAll(js, 'REDO', 'R', { batch: 2, expires: 1000 });
    assert.equal(first.length, 2);
    // Neither is acked: after ack_wait, both come again, oldest first.
    const again = await fetchAll(js, 'REDO', 'R', { batch: 1, expires: 3000 });
    assert.equal(again.length, 1);
    assert.equal(again[0]!.seq, 1);
    assert.equal(again[0]!.info.redeliveryCount, 2);
    assert.equal(again[0]!.info.deliverySequence, 3);
    again[0]!.nak();
    const third = await fetchAll(js, 'REDO', 'R', { batch: 2, expires: 1000 });
    // Which comes first depends on whether 2's ack_wait ran out before 1 was refused.
    assert.deepEqual(
      third.map((m) => [m.seq, m.info.redeliveryCount]).sort((a, b) => a[0]! - b[0]!),
      [
        [1, 3],
        [2, 2],
      ],
    );
    for (const m of third) await m.ackAck();
    const info = await jsm.consumers.info('REDO', 'R');
    assert.equal(info.num_ack_pending, 0);
    assert.deepEqual(
      [info.ack_floor.stream_seq, info.delivered.stream_seq, info.delivered.consumer_seq],
      [2, 2, 5],
    );
  });

  test('+TERM stops redelivery; max_deliver bounds it', async () => {
    await stream('STOP', 2);
    await jsm.consumers.add('STOP', {
      durable_name: 'S',
      ack_policy: AckPolicy.Explicit,
      ack_wait: 300 * MS,
      max_deliver: 2,
    });
    const [a, b] = await fetchAll(js, 'STOP', 'S', { batch: 2, expires: 1000 });
    a!.term();
    b!.nak();
    const second = await fetchAll(js, 'STOP', 'S', { batch: 2, expires: 1000 });
    assert.deepEqual(
      second.map((m) => [m.seq, m.info.redeliveryCount]),
      [[2, 2]],
    );
    second[0]!.nak();
    const none = await fetchAll(js, 'STOP', 'S', { batch: 2, expires: 1000 });
    assert.equal(none.length, 0);
  });

  test('push: js.subscribe with a durable', async () => {
    await stream('PUSH', 3);
    const opts = consumerOpts();
    opts.durable('P');
    opts.deliverTo(createInbox());
    opts.ackExplicit();
    opts.deliverAll();
    const sub = await js.subscribe('push.>', opts);
    const got: string[] = [];
    for await (const m of sub) {
      got.push(sc.decode(m.data));
      await m.ackAck();
      if (got.length === 3) break;
    }
    assert.deepEqual(got, ['m1', 'm2', 'm3']);
    const info = await jsm.consumers.info('PUSH', 'P');
    assert.equal(info.ack_floor.stream_seq, 3);
    assert.equal(info.num_ack_pending, 0);
    assert.equal(info.config.deliver_subject !== undefined, true);
  });

  test('dead letters: max_deliver and +TERM', onlyOn('weft', 'a Weft extension'), async () => {
    await stream('DEAD', 2);
    const dlq = nc.subscribe('dlq');
    await nc.flush();
    await jsm.consumers.add('DEAD', {
      durable_name: 'X',
      ack_policy: AckPolicy.Explicit,
      max_deliver: 1,
      dead_letter_subject: 'dlq',
    } as never);
    const [a, b] = await fetchAll(js, 'DEAD', 'X', { batch: 2, expires: 1000 });
    a!.nak();
    b!.term();
    const dead: [string, string | undefined, string | undefined, string | undefined][] = [];
    for await (const m of dlq) {
      const h = m.headers;
      dead.push([
        sc.decode(m.data),
        h?.get('Weft-Dead-Letter-Sequence'),
        h?.get('Weft-Dead-Letter-Reason'),
        h?.get('Weft-Dead-Letter-Subject'),
      ]);
      assert.equal(h?.get('Weft-Dead-Letter-Stream'), 'DEAD');
      assert.equal(h?.get('Weft-Dead-Letter-Deliveries'), '1');
      if (dead.length === 2) break;
    }
    assert.deepEqual(dead, [
      ['m1', '1', 'max_deliver', 'dead.1'],
      ['m2', '2', 'term', 'dead.2'],
    ]);
    const info = await jsm.consumers.info('DEAD', 'X');
    assert.equal(info.num_ack_pending, 0);
    assert.equal(info.ack_floor.stream_seq, 2);
  });

  test(
    "dead letters: the stream's dead_letter_subject for consumers without one",
    onlyOn('weft', 'a Weft extension'),
    async () => {
      await jsm.streams.add({
        name: 'DEADS',
        subjects: ['deads.>'],
        dead_letter_subject: 'dlq.streamwide',
      } as never);
      await assert.rejects(
        jsm.streams.add({
          name: 'DEADX',
          subjects: ['deadx.>'],
          dead_letter_subject: 'dlq.*',
        } as never),
        /dead letter subject must be a literal subject/,
      );
      for (const i of [1, 2]) await js.publish(`deads.${i}`, sc.encode(`d${i}`));
      const dlq = nc.subscribe('dlq.streamwide');
      const mine = nc.subscribe('dlq.mine');
      await nc.flush();
      await jsm.consumers.add('DEADS', { durable_name: 'S', ack_policy: AckPolicy.Explicit });
      await jsm.consumers.add('DEADS', {
        durable_name: 'OWN',
        ack_policy: AckPolicy.Explicit,
        dead_letter_subject: 'dlq.mine',
      } as never);
      (await fetchAll(js, 'DEADS', 'S', { batch: 1, expires: 1000 }))[0]!.term();
      (await fetchAll(js, 'DEADS', 'OWN', { batch: 1, expires: 1000 }))[0]!.term();
      for await (const m of dlq) {
        assert.equal(sc.decode(m.data), 'd1');
        assert.equal(m.headers?.get('Weft-Dead-Letter-Consumer'), 'S');
        break;
      }
      for await (const m of mine) {
        assert.equal(m.headers?.get('Weft-Dead-Letter-Consumer'), 'OWN');
        break;
      }
      const info = await jsm.streams.info('DEADS');
      assert.equal(
        (info.config as { dead_letter_subject?: string }).dead_letter_subject,
        'dlq.streamwide',
      );
    },
  );

  test('max_waiting bounds waiting pull requests: 409 Exceeded MaxWaiting past it', async () => {
    await jsm.streams.add({ name: 'WAIT', subjects: ['wait.>'] });
    await jsm.consumers.add('WAIT', {
      durable_name: 'W',
      ack_policy: AckPolicy.Explicit,
      max_waiting: 2,
    });
    const statuses: string[][] = [[], [], []];
    const inboxes = statuses.map((got) => {
      const inbox = createInbox();
      const sub = nc.subscribe(inbox);
      void (async () => {
        for await (const m of sub) got.push(`${m.headers?.code} ${m.headers?.description}`);
      })();
      return inbox;
    });
    await nc.flush();
    for (const inbox of inboxes) {
      nc.publish(
        '$JS.API.CONSUMER.MSG.NEXT.WAIT.W',
        sc.encode('{"batch":1,"expires":3000000000}'),
        {
          reply: inbox,
        },
      );
    }
    await checkFor(() => statuses[2]!.length > 0, 2000);
    assert.deepEqual(statuses[2], ['409 Exceeded MaxWaiting']);
    assert.deepEqual([statuses[0], statuses[1]], [[], []]);
    assert.equal((await jsm.consumers.info('WAIT', 'W')).num_waiting, 2);
  });

  test('deliver policies and filter_subject', async () => {
    await jsm.streams.add({ name: 'POL', subjects: ['pol.>'] });
    for (const s of ['pol.a', 'pol.b', 'pol.a', 'pol.c', 'pol.b']) {
      await js.publish(s, sc.encode(s));
    }
    const seqs = async (durable: string, cfg: Record<string, unknown>): Promise<number[]> => {
      await jsm.consumers.add('POL', {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        ...cfg,
      });
      const got = await fetchAll(js, 'POL', durable, { batch: 10, expires: 1000 });
      return got.map((m) => m.seq);
    };
    assert.deepEqual(await seqs('ALL', {}), [1, 2, 3, 4, 5]);
    assert.deepEqual(await seqs('LAST', { deliver_policy: 'last' }), [5]);
    assert.deepEqual(await seqs('NEW', { deliver_policy: 'new' }), []);
    assert.deepEqual(
      await seqs('FROM', { deliver_policy: 'by_start_sequence', opt_start_seq: 3 }),
      [3, 4, 5],
    );
    assert.deepEqual(
      await seqs('LPS', { deliver_policy: 'last_per_subject', filter_subject: 'pol.>' }),
      [3, 4, 5],
    );
    // nats-server 2.9 wants a filter for last_per_subject.
    await assert.rejects(seqs('LPS0', { deliver_policy: 'last_per_subject' }), (err: unknown) => {
      assert.ok(err instanceof NatsError);
      assert.equal(err.api_error?.err_code, 10094);
      return true;
    });
    assert.deepEqual(await seqs('FA', { filter_subject: 'pol.a' }), [1, 3]);
    assert.deepEqual(await seqs('FLAST', { filter_subject: 'pol.b', deliver_policy: 'last' }), [5]);
    const info = await jsm.consumers.info('POL', 'FA');
    assert.equal(info.num_pending, 0);
    assert.equal(info.config.filter_subject, 'pol.a');
    await js.publish('pol.a', sc.encode('late'));
    await js.publish('pol.c', sc.encode('other'));
    assert.equal((await jsm.consumers.info('POL', 'FA')).num_pending, 1);
  });

  test('ack policy all; ephemeral consumers; pullSubscribe', async () => {
    await stream('MISC', 4);
    await jsm.consumers.add('MISC', { durable_name: 'ALL', ack_policy: AckPolicy.All });
    const msgs = await fetchAll(js, 'MISC', 'ALL', { batch: 3, expires: 1000 });
    await msgs[2]!.ackAck();
    const info = await jsm.consumers.info('MISC', 'ALL');
    assert.equal(info.num_ack_pending, 0);
    assert.equal(info.ack_floor.stream_seq, 3);

    const eph = await jsm.consumers.add('MISC', { ack_policy: AckPolicy.Explicit });
    assert.equal(eph.config.durable_name, undefined);
    assert.equal(eph.config.inactive_threshold, 5_000 * MS);
    assert.equal(eph.num_pending, 4);
    const got = await fetchAll(js, 'MISC', eph.name, { batch: 4, expires: 1000 });
    assert.equal(got.length, 4);

    const opts = consumerOpts();
    opts.durable('PS');
    opts.ackExplicit();
    const psub = await js.pullSubscribe('misc.>', opts);
    psub.pull({ batch: 2, expires: 1000 });
    const seen: number[] = [];
    for await (const m of psub) {
      seen.push(m.seq);
      m.ack();
      if (seen.length === 2) break;
    }
    assert.deepEqual(seen, [1, 2]);
  });

  test('pull status messages on the wire', async () => {
    await stream('WIRE', 1);
    await jsm.consumers.add('WIRE', { durable_name: 'W', ack_policy: AckPolicy.Explicit });
    const inbox = createInbox();
    const sub = nc.subscribe(inbox);
    const got: string[] = [];
    const done = (async () => {
      for await (const m of sub) {
        if (m.headers !== undefined && m.data.length === 0) {
          const h = m.headers;
          got.push(`${h.code} ${h.description} ${h.get('Nats-Pending-Messages')}`);
        } else {
          got.push(`${m.subject} ${(m.reply ?? '').split('.').slice(0, 7).join('.')}`);
        }
        if (got.length === 3) break;
      }
    })();
    nc.publish('$JS.API.CONSUMER.MSG.NEXT.WIRE.W', sc.encode('{"batch":3,"no_wait":true}'), {
      reply: inbox,
    });
    // One at a time: nats-server answers a no-wait request made while another
    // waits with 408 Requests Pending.
    await checkFor(() => got.length === 2);
    nc.publish('$JS.API.CONSUMER.MSG.NEXT.WIRE.W', sc.encode('{"batch":3,"no_wait":true}'), {
      reply: inbox,
    });
    await done;
    assert.deepEqual(got, [
      'wire.1 $JS.ACK.WIRE.W.1.1.1',
      '408 Request Timeout 2',
      '404 No Messages ',
    ]);
  });

  test('a durable consumer survives a restart', async () => {
    await stream('KEEP', 3);
    await jsm.consumers.add('KEEP', {
      durable_name: 'K',
      ack_policy: AckPolicy.Explicit,
      ack_wait: 500 * MS,
    });
    const msgs = await fetchAll(js, 'KEEP', 'K', { batch: 3, expires: 1000 });
    assert.equal(msgs.length, 3);
    await msgs[0]!.ackAck();
    await nc.close();
    await srv.stop();

    ({ srv, nc, jsm, js } = await openJs(data));
    const info = await checkFor(() => jsm.consumers.info('KEEP', 'K'), 3000);
    assert.equal(info.config.ack_wait, 500 * MS);
    assert.equal(info.ack_floor.stream_seq, 1);
    assert.equal(info.delivered.stream_seq, 3);
    assert.equal(info.num_ack_pending, 2);
    const again = await fetchAll(js, 'KEEP', 'K', { batch: 2, expires: 3000 });
    assert.deepEqual(
      again.map((m) => m.seq),
      [2, 3],
    );
  });
});
