/**
 * The bench's pull driver (src/bench/pull-credit.ts) keeps about one batch
 * outstanding on one inbox and replaces a request only when a status ends
 * it. Against Weft or (WEFT_TEST_TARGET=nats-server) `nats-server -js`: once
 * the stream runs dry, every request expires (408 with what it had left)
 * and is replaced by one, so the waiting list stays at a couple of requests
 * and never reaches max_waiting (409 Exceeded MaxWaiting), however many
 * expiries there are.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AckPolicy,
  createInbox,
  type JetStreamClient,
  type JetStreamManager,
  type Msg,
  type NatsConnection,
  StringCodec,
} from 'nats';
import { PullCredit } from '../../src/bench/pull-credit.js';
import { checkFor } from '../helpers/harness.js';
import { closeJs, type JsData, type JsTarget, jsData, openJs } from './target.js';

const sc = StringCodec();

describe('JetStream pull driver: statuses replace requests, not all of them', () => {
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

  test('expiring requests keep the waiting list small (no 409 Exceeded MaxWaiting)', async () => {
    const MSGS = 10;
    const MAX_WAITING = 8;
    const EXPIRIES = 4 * MAX_WAITING;
    await jsm.streams.add({ name: 'DRIVE', subjects: ['drive.>'] });
    await Promise.all(
      Array.from({ length: MSGS }, (_, i) => js.publish('drive.x', sc.encode(`m${i + 1}`))),
    );
    await jsm.consumers.add('DRIVE', {
      durable_name: 'D',
      ack_policy: AckPolicy.Explicit,
      max_waiting: MAX_WAITING,
    });
    const next = '$JS.API.CONSUMER.MSG.NEXT.DRIVE.D';
    const body = sc.encode(JSON.stringify({ batch: 4, expires: 50_000_000 }));
    const credit = new PullCredit(4);
    const inbox = createInbox();
    const codes: string[] = [];
    let stopped = false;
    const pull = () => {
      if (stopped) return;
      nc.publish(next, body, { reply: inbox });
      credit.asked();
    };
    nc.subscribe(inbox, {
      callback: (_err, m: Msg) => {
        const code = m.headers?.code ?? 0;
        if (code === 0 || m.data.length > 0) {
          credit.got();
          m.respond();
          if (credit.short) pull();
          return;
        }
        codes.push(String(code));
        const pending = m.headers?.get('Nats-Pending-Messages') ?? '';
        credit.status(String(code), `Nats-Pending-Messages: ${pending}`);
        if (code !== 409 && credit.short) pull();
      },
    });
    await nc.flush();
    pull();
    pull();
    try {
      await checkFor(
        () => codes.filter((c) => c === '408').length >= EXPIRIES || codes.includes('409'),
        20_000,
      );
    } finally {
      stopped = true;
    }
    assert.equal(credit.received, MSGS);
    assert.deepEqual(
      codes.filter((c) => c !== '408'),
      [],
    );
    assert.ok((await jsm.consumers.info('DRIVE', 'D')).num_waiting <= 2);
  });
});
