/**
 * Waiting pull requests leave the consumer's waiting list once served: many
 * more sequential `MSG.NEXT` requests than `max_waiting`, each fully served
 * (plain, with an expiry, with max_bytes, with heartbeats, no_wait), never
 * meet 409 Exceeded MaxWaiting and
 * leave `num_waiting` at 0; against Weft or (WEFT_TEST_TARGET=nats-server)
 * `nats-server -js`.
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
import { checkFor } from '../helpers/harness.js';
import { closeJs, type JsData, type JsTarget, jsData, openJs } from './target.js';

const sc = StringCodec();
const MAX_WAITING = 4;
const ROUNDS = 3 * MAX_WAITING;

describe('JetStream pull requests leave the waiting list when served', () => {
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

  /** A stream NAME with n messages and a pull consumer D with a small max_waiting. */
  async function setup(name: string, n: number): Promise<string> {
    await jsm.streams.add({ name, subjects: [`${name.toLowerCase()}.>`] });
    const acks = [];
    for (let i = 1; i <= n; i++)
      acks.push(js.publish(`${name.toLowerCase()}.x`, sc.encode(`m${i}`)));
    await Promise.all(acks);
    await jsm.consumers.add(name, {
      durable_name: 'D',
      ack_policy: AckPolicy.Explicit,
      max_waiting: MAX_WAITING,
    });
    return `$JS.API.CONSUMER.MSG.NEXT.${name}.D`;
  }

  /** Collects messages and statuses arriving at a fresh inbox; acks each message. */
  function inbox(): { subject: string; msgs: string[]; statuses: string[] } {
    const subject = createInbox();
    const got = { subject, msgs: [] as string[], statuses: [] as string[] };
    const sub = nc.subscribe(subject);
    void (async () => {
      for await (const m of sub as AsyncIterable<Msg>) {
        if (m.headers?.code !== undefined && m.headers.code !== 0 && m.data.length === 0) {
          got.statuses.push(`${m.headers.code} ${m.headers.description}`);
        } else {
          got.msgs.push(sc.decode(m.data));
          m.respond();
        }
      }
    })();
    return got;
  }

  async function sequential(name: string, body: Record<string, unknown>, batch: number) {
    const next = await setup(name, ROUNDS * batch);
    const got = inbox();
    await nc.flush();
    for (let r = 1; r <= ROUNDS; r++) {
      nc.publish(next, sc.encode(JSON.stringify({ batch, ...body })), { reply: got.subject });
      await checkFor(() => got.msgs.length >= r * batch || got.statuses.length > 0, 5000);
      assert.deepEqual(got.statuses, [], `request ${r}`);
    }
    assert.equal(got.msgs.length, ROUNDS * batch);
    assert.equal(got.msgs.at(-1), `m${ROUNDS * batch}`);
    assert.equal((await jsm.consumers.info(name, 'D')).num_waiting, 0);
  }

  test('plain requests, each fully served', () => sequential('SEQ', {}, 3));
  test('requests with an expiry, served before it', () =>
    sequential('EXP', { expires: 30_000_000_000 }, 3));
  test('requests with max_bytes', () =>
    sequential('BYT', { expires: 30_000_000_000, max_bytes: 1_000_000 }, 3));
  test('requests with heartbeats', () =>
    sequential('HB', { expires: 30_000_000_000, idle_heartbeat: 10_000_000_000 }, 3));
  test('no_wait requests, each fully served', () => sequential('NW', { no_wait: true }, 3));
});
