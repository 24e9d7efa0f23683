/**
 * Push consumers' idle heartbeats and flow control: the status messages on
 * the deliver subject as the client sees them (code, description, headers,
 * reply subject), the stall and the resume, the config checks, and the
 * official `nats` v2 client's push and ordered consumers on top. Against
 * Weft or (WEFT_TEST_TARGET=nats-server) `nats-server -js`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AckPolicy,
  consumerOpts,
  createInbox,
  type JetStreamClient,
  type JetStreamManager,
  type JetStreamSubscription,
  type Msg,
  type NatsConnection,
  NatsError,
  StorageType,
  StringCodec,
} from 'nats';
import { checkFor } from '../helpers/harness.js';
import { closeJs, type JsData, type JsTarget, jsData, openJs } from './target.js';

const sc = StringCodec();
const MS = 1_000_000;
const KIB = 1024;

/** The client's bookkeeping of a push subscription (counts of heartbeats, requests, restarts). */
interface FlowCounts {
  flow_control: { heartbeat_count: number; fc_count: number; consumer_restarts: number };
}
function infoOf(sub: JetStreamSubscription): FlowCounts {
  const info = (sub as unknown as { info: FlowCounts | null }).info;
  assert.ok(info !== null);
  return info;
}

/** A status message: no payload, a header block with a code. */
function isStatus(m: Msg): boolean {
  return m.data.length === 0 && m.headers !== undefined && m.headers.code > 0;
}

describe('JetStream push: heartbeats and flow control', () => {
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

  async function stream(name: string, n: number, size = 0): Promise<void> {
    await jsm.streams.add({
      name,
      subjects: [`${name.toLowerCase()}.>`],
      storage: StorageType.Memory,
    });
    const body = size > 0 ? new Uint8Array(size).fill(120) : undefined;
    for (let i = 1; i <= n; i++) {
      await js.publish(`${name.toLowerCase()}.${i}`, body ?? sc.encode(`m${i}`));
    }
  }

  async function apiError(p: Promise<unknown>): Promise<string> {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof NatsError, String(err));
      return `${err.api_error?.code} ${err.api_error?.err_code} ${err.api_error?.description}`;
    }
    assert.fail('expected an API error');
  }

  test('config: heartbeats and flow control are checked as nats-server checks them', async () => {
    await stream('CHK', 0);
    const inbox = createInbox();
    assert.equal(
      await apiError(
        jsm.consumers.add('CHK', {
          durable_name: 'small',
          deliver_subject: inbox,
          idle_heartbeat: 50 * MS,
        }),
      ),
      '400 10083 consumer idle heartbeat needs to be >= 100ms',
    );
    assert.equal(
      await apiError(
        jsm.consumers.add('CHK', {
          durable_name: 'pullhb',
          ack_policy: AckPolicy.Explicit,
          idle_heartbeat: 1000 * MS,
        }),
      ),
      '400 10088 consumer idle heartbeat requires a push based consumer',
    );
    assert.equal(
      await apiError(
        jsm.consumers.add('CHK', {
          durable_name: 'pullfc',
          ack_policy: AckPolicy.Explicit,
          flow_control: true,
        }),
      ),
      '400 10089 consumer flow control requires a push based consumer',
    );
    assert.equal(
      await apiError(
        jsm.consumers.add('CHK', {
          durable_name: 'nohb',
          deliver_subject: inbox,
          flow_control: true,
        }),
      ),
      '400 10108 consumer with flow control also needs heartbeats',
    );
    const ci = await jsm.consumers.add('CHK', {
      durable_name: 'ok',
      deliver_subject: inbox,
      ack_policy: AckPolicy.None,
      flow_control: true,
      idle_heartbeat: 1000 * MS,
    });
    assert.equal(ci.config.flow_control, true);
    assert.equal(ci.config.idle_heartbeat, 1000 * MS);
    // Neither can change on an update.
    const e = await apiError(
      jsm.consumers.add('CHK', {
        durable_name: 'ok',
        deliver_subject: inbox,
        ack_policy: AckPolicy.None,
        flow_control: true,
        idle_heartbeat: 2000 * MS,
      }),
    );
    assert.equal(e, '500 10012 heart beats can not be updated');
  });

  test('idle heartbeats: after a quiet interval, with the last sequences', async () => {
    await stream('BEAT', 2);
    const inbox = createInbox();
    const got: { at: number; m: Msg }[] = [];
    const sub = nc.subscribe(inbox, { callback: (_e, m) => got.push({ at: Date.now(), m }) });
    const t0 = Date.now();
    await jsm.consumers.add('BEAT', {
      durable_name: 'B',
      deliver_subject: inbox,
      ack_policy: AckPolicy.None,
      idle_heartbeat: 300 * MS,
    });
    const beats = () => got.filter((g) => isStatus(g.m));
    await checkFor(() => beats().length >= 1, 3000);
    const data1 = got.filter((g) => !isStatus(g.m));
    assert.deepEqual(
      data1.map((g) => g.m.subject),
      ['beat.1', 'beat.2'],
    );
    const hb = beats()[0]!;
    assert.equal(hb.m.subject, inbox);
    assert.equal(hb.m.headers!.code, 100);
    assert.equal(hb.m.headers!.description, 'Idle Heartbeat');
    assert.equal(hb.m.headers!.get('Nats-Last-Consumer'), '2');
    assert.equal(hb.m.headers!.get('Nats-Last-Stream'), '2');
    assert.equal(hb.m.headers!.get('Nats-Consumer-Stalled'), '');
    assert.equal(hb.m.reply ?? '', '');
    // Not before a whole interval of silence (some slack for timers).
    assert.ok(hb.at - t0 >= 250, `heartbeat after ${hb.at - t0}ms`);
    // A delivery postpones the next heartbeat; the next one reports it.
    await js.publish('beat.3', sc.encode('m3'));
    const at = await checkFor(() => {
      const i = got.findIndex((g) => g.m.subject === 'beat.3');
      return i < 0 ? false : i;
    });
    const next = await checkFor(() => got.slice(at + 1).find((g) => isStatus(g.m)) ?? false, 3000);
    const gap = next.at - got[at]!.at;
    assert.ok(gap >= 250, `heartbeat ${gap}ms after data`);
    assert.equal(next.m.headers!.get('Nats-Last-Consumer'), '3');
    assert.equal(next.m.headers!.get('Nats-Last-Stream'), '3');
    // Heartbeats keep coming while idle, about one per interval.
    const before = beats().length;
    await checkFor(() => beats().length >= before + 2, 3000);
    sub.unsubscribe();
  });

  test('flow control: a request past half the window, a stall past it, resume on the answer', async () => {
    // 40 messages of 128 KiB (5 MiB): the first window is 2 MiB.
    const total = 40;
    await stream('FLOW', total, 128 * KIB);
    const inbox = createInbox();
    const dataMsgs: Msg[] = [];
    const fcRequests: Msg[] = [];
    const beats: Msg[] = [];
    const sub = nc.subscribe(inbox, {
      callback: (_e, m) => {
        if (!isStatus(m)) dataMsgs.push(m);
        else if (m.headers!.description === 'FlowControl Request') fcRequests.push(m);
        else if (m.headers!.description === 'Idle Heartbeat') beats.push(m);
      },
    });
    await jsm.consumers.add('FLOW', {
      durable_name: 'F',
      deliver_subject: inbox,
      ack_policy: AckPolicy.None,
      flow_control: true,
      idle_heartbeat: 200 * MS,
    });
    // Unanswered, delivery stalls; the heartbeat names the request it waits for.
    await checkFor(() => beats.some((b) => b.headers!.get('Nats-Consumer-Stalled') !== ''), 5000);
    assert.equal(fcRequests.length, 1);
    const fc = fcRequests[0]!;
    assert.equal(fc.subject, inbox);
    assert.equal(fc.headers!.code, 100);
    assert.match(fc.reply ?? '', /^\$JS\.FC\.FLOW\.F\.[0-9A-Za-z]+$/);
    const stalledOn = beats.find((b) => b.headers!.get('Nats-Consumer-Stalled') !== '')!;
    assert.equal(stalledOn.headers!.get('Nats-Consumer-Stalled'), fc.reply);
    const held = dataMsgs.length;
    // Past half of 2 MiB (the request) and no further than the window allows.
    assert.ok(held >= 9 && held <= 17, `${held} delivered before the stall`);
    assert.equal(stalledOn.headers!.get('Nats-Last-Consumer'), String(held));
    // Still stalled a heartbeat later.
    const n = beats.length;
    await checkFor(() => beats.length > n, 3000);
    assert.equal(dataMsgs.length, held);
    // Answer every request: everything arrives, in order.
    let answered = 0;
    await checkFor(() => {
      while (answered < fcRequests.length) fcRequests[answered++]!.respond();
      return dataMsgs.length === total;
    }, 10_000);
    assert.deepEqual(
      dataMsgs.map((m) => m.subject),
      Array.from({ length: total }, (_, i) => `flow.${i + 1}`),
    );
    // The window widens with each answer (slow start): fewer requests than 2 MiB windows.
    assert.ok(fcRequests.length >= 2 && fcRequests.length < 5, `${fcRequests.length} requests`);
    sub.unsubscribe();
  });

  test('flow control: an answer to the stalled header resumes too', async () => {
    await stream('HDR', 24, 128 * KIB);
    const inbox = createInbox();
    const dataMsgs: Msg[] = [];
    const sub = nc.subscribe(inbox, {
      callback: (_e, m) => {
        if (!isStatus(m)) {
          dataMsgs.push(m);
          return;
        }
        // Ignore requests; answer only what a heartbeat says we stall on.
        const stalled = m.headers!.get('Nats-Consumer-Stalled');
        if (stalled !== '') nc.publish(stalled);
      },
    });
    await jsm.consumers.add('HDR', {
      durable_name: 'H',
      deliver_subject: inbox,
      ack_policy: AckPolicy.None,
      flow_control: true,
      idle_heartbeat: 150 * MS,
    });
    await checkFor(() => dataMsgs.length === 24, 10_000);
    sub.unsubscribe();
  });

  test('client: a push subscription with flowControl() and idleHeartbeat()', async () => {
    const total = 40;
    await stream('CLI', total, 128 * KIB);
    const opts = consumerOpts();
    opts.deliverTo(createInbox());
    opts.ackNone();
    opts.flowControl();
    opts.idleHeartbeat(300);
    let received = 0;
    opts.callback((err, m) => {
      if (err === null && m !== null) received++;
    });
    const sub: JetStreamSubscription = await js.subscribe('cli.>', opts);
    await checkFor(() => received === total, 10_000);
    await checkFor(() => infoOf(sub).flow_control.heartbeat_count > 0, 3000);
    assert.ok(infoOf(sub).flow_control.fc_count > 0);
    sub.unsubscribe();
  });

  test('client: an ordered consumer delivers in order and recreates itself', async () => {
    await stream('ORD', 5);
    const opts = consumerOpts();
    opts.orderedConsumer();
    opts.idleHeartbeat(200);
    const seen: string[] = [];
    opts.callback((err, m) => {
      if (err === null && m !== null) seen.push(sc.decode(m.data));
    });
    const sub = await js.subscribe('ord.>', opts);
    await checkFor(() => seen.length === 5);
    const ci = await sub.consumerInfo();
    assert.equal(ci.config.ack_policy, 'none');
    assert.equal(ci.config.max_deliver, 1);
    assert.equal(ci.config.flow_control, true);
    assert.equal(ci.config.idle_heartbeat, 200 * MS);
    assert.equal(ci.config.mem_storage, true);
    // The consumer goes away under it: missed heartbeats make the client
    // create a new one from where it was.
    await jsm.consumers.delete('ORD', ci.name);
    for (let i = 6; i <= 8; i++) await js.publish(`ord.${i}`, sc.encode(`m${i}`));
    await checkFor(() => seen.length === 8, 5000);
    assert.deepEqual(seen, ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8']);
    assert.ok(infoOf(sub).flow_control.consumer_restarts >= 1);
    sub.unsubscribe();
  });
});
