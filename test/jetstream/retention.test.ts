/**
 * Work-queue and interest retention through the official `nats` v2 client,
 * and the consumer counts in stream and account info; against Weft or
 * (WEFT_TEST_TARGET=nats-server) `nats-server -js`, so what is asserted is
 * the reference's behaviour.
 */
import assert from 'node:assert/strict';
import { cp, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AckPolicy,
  connect,
  createInbox,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  NatsError,
  RetentionPolicy,
  StringCodec,
} from 'nats';
import { checkFor, onlyOn } from '../helpers/harness.js';
import { type JsData, type JsTarget, jsData } from './target.js';

const sc = StringCodec();
const MS = 1_000_000;

type ApiError = { code: number; err_code: number; description: string };

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof NatsError, `not a NatsError: ${err}`);
    assert.ok(err.api_error, `no api_error on ${err.message}`);
    return err.api_error as ApiError;
  }
  assert.fail('expected the request to fail');
}

describe('JetStream retention', () => {
  let data: JsData;
  let srv: JsTarget;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;

  const connectAll = async () => {
    nc = await connect({ servers: srv.url });
    jsm = await nc.jetstreamManager();
    js = nc.jetstream();
  };

  before(async () => {
    data = await jsData();
    srv = await data.start();
    await connectAll();
  });
  after(async () => {
    await nc?.close();
    await srv?.stop();
    await data?.remove();
  });

  async function fetch(stream: string, consumer: string, batch: number): Promise<JsMsg[]> {
    const out: JsMsg[] = [];
    for await (const m of js.fetch(stream, consumer, { batch, expires: 1000 })) out.push(m);
    return out;
  }

  /** messages, first_seq, last_seq of a stream. */
  async function counts(stream: string): Promise<[number, number, number]> {
    const { state } = await jsm.streams.info(stream);
    return [state.messages, state.first_seq, state.last_seq];
  }

  /** The sequences a stream still holds. */
  async function held(stream: string): Promise<number[]> {
    const { state } = await jsm.streams.info(stream);
    const out: number[] = [];
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      try {
        out.push((await jsm.streams.getMessage(stream, { seq })).seq);
      } catch (err) {
        assert.ok(err instanceof NatsError && err.api_error?.err_code === 10037, String(err));
      }
    }
    return out;
  }

  const expectHeld = (stream: string, want: number[]) =>
    checkFor(async () => {
      assert.deepEqual(await held(stream), want);
    }, 3000);

  describe('workqueue', () => {
    test('a message is removed once a consumer acks it', async () => {
      await jsm.streams.add({
        name: 'WQ',
        subjects: ['wq.>'],
        retention: RetentionPolicy.Workqueue,
      });
      for (let i = 1; i <= 5; i++) {
        const ack = await js.publish(`wq.${i}`, sc.encode(`m${i}`));
        assert.equal(ack.seq, i);
      }
      await jsm.consumers.add('WQ', { durable_name: 'W', ack_policy: AckPolicy.Explicit });
      const msgs = await fetch('WQ', 'W', 5);
      assert.deepEqual(
        msgs.map((m) => m.seq),
        [1, 2, 3, 4, 5],
      );
      // Delivered is not enough: only an ack removes.
      assert.deepEqual(await counts('WQ'), [5, 1, 5]);
      for (const m of [msgs[0]!, msgs[2]!, msgs[3]!]) assert.equal(await m.ackAck(), true);
      await expectHeld('WQ', [2, 5]);
      const gone = await apiError(jsm.streams.getMessage('WQ', { seq: 1 }));
      assert.deepEqual(gone, { code: 404, err_code: 10037, description: 'no message found' });
      // -NAK keeps it; +TERM settles it like an ack.
      msgs[1]!.nak();
      msgs[4]!.term();
      await expectHeld('WQ', [2]);
      const [again] = await fetch('WQ', 'W', 1);
      assert.equal(again!.seq, 2);
      assert.equal(await again!.ackAck(), true);
      await checkFor(async () => assert.deepEqual(await counts('WQ'), [0, 6, 5]), 3000);
      const info = await jsm.consumers.info('WQ', 'W');
      assert.equal(info.num_ack_pending, 0);
      assert.equal(info.ack_floor.stream_seq, 5);
    });

    test('consumers must ack explicitly, deliver all, and not share a subject', async () => {
      await jsm.streams.add({
        name: 'WQR',
        subjects: ['wqr.>'],
        retention: RetentionPolicy.Workqueue,
      });
      const explicit = {
        code: 400,
        err_code: 10098,
        description: 'workqueue stream requires explicit ack',
      };
      assert.deepEqual(
        await apiError(
          jsm.consumers.add('WQR', { durable_name: 'ALL', ack_policy: AckPolicy.All }),
        ),
        explicit,
      );
      assert.deepEqual(
        await apiError(
          jsm.consumers.add('WQR', {
            durable_name: 'PUSHNONE',
            ack_policy: AckPolicy.None,
            deliver_subject: createInbox(),
          }),
        ),
        explicit,
      );
      await jsm.consumers.add('WQR', {
        durable_name: 'A',
        ack_policy: AckPolicy.Explicit,
        filter_subject: 'wqr.a.>',
      });
      assert.deepEqual(
        await apiError(
          jsm.consumers.add('WQR', { durable_name: 'U', ack_policy: AckPolicy.Explicit }),
        ),
        {
          code: 400,
          err_code: 10099,
          description: 'multiple non-filtered consumers not allowed on workqueue stream',
        },
      );
      const notUnique = {
        code: 400,
        err_code: 10100,
        description: 'filtered consumer not unique on workqueue stream',
      };
      for (const filter of ['wqr.a.b', 'wqr.>', 'wqr.a.>']) {
        assert.deepEqual(
          await apiError(
            jsm.consumers.add('WQR', {
              durable_name: 'O',
              ack_policy: AckPolicy.Explicit,
              filter_subject: filter,
            }),
          ),
          notUnique,
          filter,
        );
      }
      assert.deepEqual(
        await apiError(
          jsm.consumers.add('WQR', {
            durable_name: 'NEW',
            ack_policy: AckPolicy.Explicit,
            filter_subject: 'wqr.b.>',
            deliver_policy: DeliverPolicy.New,
          }),
        ),
        {
          code: 400,
          err_code: 10101,
          description: 'consumer must be deliver all on workqueue stream',
        },
      );
      // A disjoint filter is fine; so is re-creating an existing consumer as it is.
      await jsm.consumers.add('WQR', {
        durable_name: 'B',
        ack_policy: AckPolicy.Explicit,
        filter_subject: 'wqr.b.>',
      });
      await jsm.consumers.add('WQR', {
        durable_name: 'A',
        ack_policy: AckPolicy.Explicit,
        filter_subject: 'wqr.a.>',
      });
      // Once A is gone, its subjects may go to another consumer.
      await jsm.consumers.delete('WQR', 'A');
      await jsm.consumers.add('WQR', {
        durable_name: 'C',
        ack_policy: AckPolicy.Explicit,
        filter_subject: 'wqr.a.b',
      });
      // An unfiltered consumer alone is fine.
      await jsm.streams.add({
        name: 'WQ1',
        subjects: ['wq1'],
        retention: RetentionPolicy.Workqueue,
      });
      await jsm.consumers.add('WQ1', { durable_name: 'ONLY', ack_policy: AckPolicy.Explicit });
    });

    test('filtered consumers each take their own subjects', async () => {
      await jsm.streams.add({
        name: 'WQF',
        subjects: ['wqf.>'],
        retention: RetentionPolicy.Workqueue,
      });
      for (const s of ['wqf.a', 'wqf.b', 'wqf.a', 'wqf.c']) await js.publish(s, sc.encode(s));
      await jsm.consumers.add('WQF', {
        durable_name: 'A',
        ack_policy: AckPolicy.Explicit,
        filter_subject: 'wqf.a',
      });
      await jsm.consumers.add('WQF', {
        durable_name: 'B',
        ack_policy: AckPolicy.Explicit,
        filter_subject: 'wqf.b',
      });
      const a = await fetch('WQF', 'A', 5);
      assert.deepEqual(
        a.map((m) => m.seq),
        [1, 3],
      );
      for (const m of a) await m.ackAck();
      await expectHeld('WQF', [2, 4]);
      const b = await fetch('WQF', 'B', 5);
      assert.deepEqual(
        b.map((m) => m.seq),
        [2],
      );
      await b[0]!.ackAck();
      // Nobody takes wqf.c: it stays.
      await expectHeld('WQF', [4]);
    });

    test('acks survive a restart, and what was not acked is delivered again', async () => {
      await jsm.streams.add({
        name: 'WQS',
        subjects: ['wqs.>'],
        retention: RetentionPolicy.Workqueue,
      });
      for (let i = 1; i <= 4; i++) await js.publish(`wqs.${i}`, sc.encode(`m${i}`));
      await jsm.consumers.add('WQS', {
        durable_name: 'D',
        ack_policy: AckPolicy.Explicit,
        ack_wait: 500 * MS,
      });
      const msgs = await fetch('WQS', 'D', 4);
      assert.equal(msgs.length, 4);
      await msgs[0]!.ackAck();
      await msgs[2]!.ackAck();
      await expectHeld('WQS', [2, 4]);
      await nc.close();
      await srv.stop();
      srv = await data.start();
      await connectAll();
      await expectHeld('WQS', [2, 4]);
      // Only the unacked come back (maybe more than once, with ack_wait this short).
      const seen = new Set<number>();
      await checkFor(async () => {
        for (const m of await fetch('WQS', 'D', 4)) {
          seen.add(m.seq);
          await m.ackAck();
        }
        assert.deepEqual([...seen].sort(), [2, 4]);
      }, 5000);
      await checkFor(async () => assert.deepEqual(await counts('WQS'), [0, 5, 4]), 3000);
    });
  });

  describe('interest', () => {
    test('with no consumers, a message is acked with a sequence but not kept', async () => {
      await jsm.streams.add({
        name: 'IN0',
        subjects: ['in0.>'],
        retention: RetentionPolicy.Interest,
      });
      for (let i = 1; i <= 3; i++) {
        const ack = await js.publish(`in0.${i}`, sc.encode(`m${i}`));
        assert.deepEqual([ack.stream, ack.seq, ack.duplicate], ['IN0', i, false]);
      }
      assert.deepEqual(await counts('IN0'), [0, 4, 3]);
    });

    test('a message goes once every consumer it matches has acked it', async () => {
      await jsm.streams.add({
        name: 'INT',
        subjects: ['int.>'],
        retention: RetentionPolicy.Interest,
      });
      await jsm.consumers.add('INT', { durable_name: 'ALL', ack_policy: AckPolicy.Explicit });
      await jsm.consumers.add('INT', {
        durable_name: 'B',
        ack_policy: AckPolicy.Explicit,
        filter_subject: 'int.b.>',
      });
      await js.publish('int.a.1', sc.encode('a1'));
      await js.publish('int.b.1', sc.encode('b1'));
      await js.publish('int.a.2', sc.encode('a2'));
      assert.deepEqual(await counts('INT'), [3, 1, 3]);
      const all = await fetch('INT', 'ALL', 3);
      assert.deepEqual(
        all.map((m) => m.seq),
        [1, 2, 3],
      );
      for (const m of all) await m.ackAck();
      // int.b.1 still waits for B.
      await expectHeld('INT', [2]);
      const b = await fetch('INT', 'B', 3);
      assert.deepEqual(
        b.map((m) => m.seq),
        [2],
      );
      await b[0]!.ackAck();
      await checkFor(async () => assert.deepEqual(await counts('INT'), [0, 4, 3]), 3000);
    });

    test('a message no consumer filter matches is not kept', async () => {
      await jsm.streams.add({
        name: 'INF',
        subjects: ['inf.>'],
        retention: RetentionPolicy.Interest,
      });
      await jsm.consumers.add('INF', {
        durable_name: 'B',
        ack_policy: AckPolicy.Explicit,
        filter_subject: 'inf.b',
      });
      assert.equal((await js.publish('inf.a', sc.encode('a'))).seq, 1);
      assert.equal((await js.publish('inf.b', sc.encode('b'))).seq, 2);
      assert.equal((await js.publish('inf.a', sc.encode('a'))).seq, 3);
      assert.deepEqual(await held('INF'), [2]);
      assert.deepEqual(await counts('INF'), [1, 2, 3]);
    });

    test('deleting a consumer releases what only it held', async () => {
      await jsm.streams.add({
        name: 'IND',
        subjects: ['ind.>'],
        retention: RetentionPolicy.Interest,
      });
      await jsm.consumers.add('IND', { durable_name: 'X', ack_policy: AckPolicy.Explicit });
      await jsm.consumers.add('IND', { durable_name: 'Y', ack_policy: AckPolicy.Explicit });
      for (let i = 1; i <= 4; i++) await js.publish(`ind.${i}`, sc.encode(`m${i}`));
      const x = await fetch('IND', 'X', 4);
      await x[0]!.ackAck();
      await x[1]!.ackAck();
      const y = await fetch('IND', 'Y', 4);
      await y[1]!.ackAck();
      // 2 is acked by both; 1 waits for Y, 3 and 4 for both.
      await expectHeld('IND', [1, 3, 4]);
      await jsm.consumers.delete('IND', 'Y');
      // Y held back 1; 3 and 4 still wait for X.
      await expectHeld('IND', [3, 4]);
      await jsm.consumers.delete('IND', 'X');
      await checkFor(async () => assert.deepEqual(await counts('IND'), [0, 5, 4]), 3000);
    });

    test('a push consumer with ack none settles on delivery', async () => {
      await jsm.streams.add({
        name: 'INN',
        subjects: ['inn.>'],
        retention: RetentionPolicy.Interest,
      });
      const inbox = createInbox();
      const sub = nc.subscribe(inbox);
      await jsm.consumers.add('INN', {
        durable_name: 'N',
        ack_policy: AckPolicy.None,
        deliver_subject: inbox,
      });
      for (let i = 1; i <= 3; i++) await js.publish(`inn.${i}`, sc.encode(`m${i}`));
      const got: string[] = [];
      for await (const m of sub) {
        got.push(sc.decode(m.data));
        if (got.length === 3) break;
      }
      assert.deepEqual(got, ['m1', 'm2', 'm3']);
      await checkFor(async () => assert.deepEqual(await counts('INN'), [0, 4, 3]), 3000);
    });

    test('retention can not change on update', async () => {
      await jsm.streams.add({
        name: 'INU',
        subjects: ['inu.>'],
        retention: RetentionPolicy.Interest,
      });
      const e = await apiError(
        jsm.streams.update('INU', {
          subjects: ['inu.>'],
          retention: RetentionPolicy.Limits,
        } as never),
      );
      assert.deepEqual(e, {
        code: 500,
        err_code: 10052,
        description: 'stream configuration update can not change retention policy',
      });
    });
  });

  test(
    'a restart removes what a crash kept after it was acked',
    onlyOn('weft', "reads Weft's data directory"),
    async () => {
      // The store is rolled back to before the acks (as if their removals never
      // reached the disk) while the consumers' state keeps them.
      const msgsDir = (name: string) => path.join(data.dir, 'streams', '$G', name, 'msgs');
      const restart = async (between?: () => Promise<void>) => {
        await nc.close();
        await srv.stop();
        await between?.();
        srv = await data.start();
        await connectAll();
      };
      await jsm.streams.add({
        name: 'WQC',
        subjects: ['wqc.>'],
        retention: RetentionPolicy.Workqueue,
      });
      await jsm.streams.add({
        name: 'INC',
        subjects: ['inc.>'],
        retention: RetentionPolicy.Interest,
      });
      const consumer = { ack_policy: AckPolicy.Explicit, ack_wait: 300 * MS };
      await jsm.consumers.add('WQC', { durable_name: 'W', ...consumer });
      await jsm.consumers.add('INC', { durable_name: 'X', ...consumer });
      await jsm.consumers.add('INC', { durable_name: 'Y', ...consumer });
      for (let i = 1; i <= 4; i++) {
        await js.publish(`wqc.${i}`, sc.encode(`w${i}`));
        await js.publish(`inc.${i}`, sc.encode(`i${i}`));
      }
      const backup = path.join(data.dir, 'backup');
      await restart(async () => {
        await cp(msgsDir('WQC'), path.join(backup, 'WQC'), { recursive: true });
        await cp(msgsDir('INC'), path.join(backup, 'INC'), { recursive: true });
      });
      const ackSome = async (stream: string, consumer: string, seqs: number[]) => {
        const done = new Set<number>();
        await checkFor(async () => {
          for (const m of await fetch(stream, consumer, 4)) {
            if (seqs.includes(m.seq) && (await m.ackAck())) done.add(m.seq);
          }
          assert.equal(done.size, seqs.length);
        }, 5000);
      };
      // Out of order, so that acked messages lie above the ack floor too.
      await ackSome('WQC', 'W', [1, 2, 4]);
      await ackSome('INC', 'X', [1, 2, 3, 4]);
      await ackSome('INC', 'Y', [1, 3]);
      await expectHeld('WQC', [3]);
      await expectHeld('INC', [2, 4]);
      await restart(async () => {
        for (const name of ['WQC', 'INC']) {
          await rm(msgsDir(name), { recursive: true });
          await cp(path.join(backup, name), msgsDir(name), { recursive: true });
        }
      });
      await expectHeld('WQC', [3]);
      await expectHeld('INC', [2, 4]);
    },
  );

  test('consumer counts in stream info and account info', async () => {
    await jsm.streams.add({ name: 'CNT', subjects: ['cnt.>'] });
    const before = (await jsm.getAccountInfo()).consumers;
    assert.equal((await jsm.streams.info('CNT')).state.consumer_count, 0);
    await jsm.consumers.add('CNT', { durable_name: 'C1', ack_policy: AckPolicy.Explicit });
    await jsm.consumers.add('CNT', { durable_name: 'C2', ack_policy: AckPolicy.Explicit });
    assert.equal((await jsm.streams.info('CNT')).state.consumer_count, 2);
    const listed = await jsm.streams.list().next();
    assert.equal(listed.find((s) => s.config.name === 'CNT')?.state.consumer_count, 2);
    assert.equal((await jsm.getAccountInfo()).consumers, before + 2);
    await jsm.consumers.delete('CNT', 'C1');
    assert.equal((await jsm.streams.info('CNT')).state.consumer_count, 1);
    assert.equal((await jsm.getAccountInfo()).consumers, before + 1);
  });
});
