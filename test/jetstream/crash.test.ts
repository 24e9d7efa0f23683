/**
 * Crash safety through the JetStream API. `weft server` (the CLI, from
 * dist) runs as a child process on a data directory. Here, publishers send
 * with publish acks (`js.publish`, several at once) while a durable pull
 * consumer fetches and acks each message with an ack-ack; the test kills
 * the node with SIGKILL at a random moment, starts it again on the same
 * port and data, and repeats (the client reconnects by itself).
 *
 * What must hold:
 * - every acknowledged publish is in the stream, intact, at the sequence its
 *   ack named; the stream holds 1..last without a hole, each message intact
 *   (publishes that failed may or may not be there; if there, intact);
 * - a message whose ack was confirmed (the ack-ack arrived) is never
 *   delivered again, and after each restart the consumer's ack floor is at
 *   least the confirmed progress before the kill (unconfirmed acks may be
 *   delivered again);
 * - after the last restart the consumer goes on to ack every message.
 *
 * WEFT_CRASH_CYCLES (default 4) and WEFT_CRASH_SEED make runs longer or
 * repeatable; the seed is printed. Shares its random generator with the
 * store-level crash test (test/streams/crash.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  AckPolicy,
  connect,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
} from 'nats';
import { freePort } from '../helpers/nats-server.js';
import { checkFor, within } from '../helpers/poll.js';
import { killWeftProcess, type Proc, startWeftProcess } from '../helpers/weft-process.js';
import { prng } from '../streams/crash-messages.js';
import { checkMessage, makeMessage } from './checked-messages.js';

const CYCLES = Number(process.env['WEFT_CRASH_CYCLES'] ?? '4');
const SEED = Number(process.env['WEFT_CRASH_SEED'] ?? String(Math.floor(Math.random() * 2 ** 31)));
const PUBLISHERS = 4;
const STREAM = 'CRASH';
const DURABLE = 'C';
const MS = 1_000_000;
/** Longer than a batch takes to ack, so only a restart redelivers. */
const ACK_WAIT_MS = 2000;

test('JetStream: acked publishes and confirmed acks survive SIGKILL', {
  timeout: 60_000 + CYCLES * 10_000,
}, async (t) => {
  t.diagnostic(`seed ${SEED} (WEFT_CRASH_SEED=${SEED} repeats it), ${CYCLES} cycles`);
  const t0 = Date.now();
  const at = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
  const rand = prng(SEED);
  const dir = await mkdtemp(join(tmpdir(), 'weft-js-crash-'));
  const port = await freePort();
  const startNode = (): Promise<Proc> =>
    startWeftProcess([
      '--port',
      String(port),
      '--http-port=-1',
      '--mesh-port=-1',
      '--data-dir',
      dir,
    ]);
  let node = await startNode();
  const nc: NatsConnection = await connect({
    servers: `127.0.0.1:${port}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 50,
    reconnectJitter: 0,
    pingInterval: 1000,
  });
  const jsm: JetStreamManager = await nc.jetstreamManager();
  let reconnects = 0;
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'reconnect') reconnects++;
  })();
  const js: JetStreamClient = nc.jetstream();

  /** seq → digest of every acknowledged publish. */
  const acked = new Map<number, string>();
  const ackConflicts: string[] = [];
  let publishFailures = 0;
  let maxAcked = 0;
  /** Stream sequences whose ack the server confirmed. */
  const confirmed = new Set<number>();
  const redelivered: string[] = [];
  /** Stream sequences delivered to the consumer at least once. */
  const seen = new Set<number>();
  const torn: number[] = [];
  let deliveries = 0;
  let redeliveries = 0;
  let cycle = 0;
  let stopPublishing = false;
  let stopConsuming = false;

  /** The highest s such that 1..s are all confirmed. */
  let prefix = 0;
  const confirmedPrefix = (): number => {
    while (confirmed.has(prefix + 1)) prefix++;
    return prefix;
  };

  const publisher = async (w: number): Promise<void> => {
    const r = prng(SEED * 131 + w);
    while (!stopPublishing) {
      const m = makeMessage(r, `crash.w${w}`);
      try {
        const ack = await js.publish(m.subject, m.payload, { timeout: 1000 });
        const before = acked.get(ack.seq);
        if (before !== undefined && before !== m.sum) {
          ackConflicts.push(`${ack.seq}: acked for ${before} and ${m.sum}`);
        }
        acked.set(ack.seq, m.sum);
        if (ack.seq > maxAcked) maxAcked = ack.seq;
      } catch {
        publishFailures++;
        // Disconnected: the client buffers until it reconnects; don't spin.
        if (nc.isClosed()) return;
      }
    }
  };

  const consume = async (): Promise<void> => {
    while (!stopConsuming) {
      let batch: JsMsg[] = [];
      try {
        for await (const m of js.fetch(STREAM, DURABLE, { batch: 256, expires: 500 }))
          batch.push(m);
      } catch {
        batch = [];
      }
      if (batch.length === 0 && !stopConsuming) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      for (const m of batch) {
        deliveries++;
        if (seen.has(m.seq)) redeliveries++;
        seen.add(m.seq);
        if (!checkMessage(m.subject, m.data).intact) torn.push(m.seq);
        if (confirmed.has(m.seq)) {
          redelivered.push(
            `seq ${m.seq} (delivery ${m.info.redeliveryCount}, cycle ${cycle}) after its ack was confirmed`,
          );
        }
      }
      // A batch is acked at once, so its acks share the server's writes of the
      // consumer state. An ack that fails (the node is down) or goes unanswered
      // is unconfirmed: that message may come again.
      await Promise.all(
        batch.map(async (m) => {
          try {
            if (await m.ackAck({ timeout: 1000 })) confirmed.add(m.seq);
          } catch {
            // unconfirmed
          }
        }),
      );
    }
  };

  try {
    await jsm.streams.add({ name: STREAM, subjects: ['crash.>'] });
    await jsm.consumers.add(STREAM, {
      durable_name: DURABLE,
      ack_policy: AckPolicy.Explicit,
      ack_wait: ACK_WAIT_MS * MS,
      max_ack_pending: 10_000,
    });
    const workers = [...Array.from({ length: PUBLISHERS }, (_, w) => publisher(w)), consume()];

    for (cycle = 1; cycle <= CYCLES; cycle++) {
      const where = `seed ${SEED}, cycle ${cycle}`;
      const ackedBefore = acked.size;
      const confirmedBefore = confirmed.size;
      // Kill only once this run of the node has taken publishes and acks.
      await checkFor(
        () => acked.size > ackedBefore && confirmed.size > confirmedBefore,
        15_000,
        10,
      );
      await new Promise((r) => setTimeout(r, 100 + Math.floor(rand() * 900)));
      const floorAtKill = confirmedPrefix();
      const lastAcked = maxAcked;
      const reconnectsBefore = reconnects;
      await killWeftProcess(node, where);
      node = await startNode();
      // A request sent while the client is away waits out its timeout: wait for it.
      await checkFor(() => reconnects > reconnectsBefore, 10_000);
      const info = await jsm.consumers.info(STREAM, DURABLE);
      assert.ok(
        info.ack_floor.stream_seq >= floorAtKill,
        `${where}: ack floor ${info.ack_floor.stream_seq} after the restart, ${floorAtKill} confirmed before`,
      );
      const si = await jsm.streams.info(STREAM);
      assert.ok(
        si.state.last_seq >= lastAcked,
        `${where}: last_seq ${si.state.last_seq} after the restart, ${lastAcked} acked before`,
      );
      t.diagnostic(
        `${where} (${at()}): ${acked.size} publishes acked, ${confirmed.size} acks confirmed, ` +
          `ack floor ${info.ack_floor.stream_seq} (≥ ${floorAtKill})`,
      );
    }

    // The last run: publishing stops, the consumer catches up on everything.
    await checkFor(() => acked.size > 0, 5000);
    stopPublishing = true;
    await within(Promise.all(workers.slice(0, PUBLISHERS)), 10_000, 'the publishers to stop');
    const last = (await jsm.streams.info(STREAM)).state;
    t.diagnostic(`publishing stopped (${at()}), the consumer catches up`);
    // Every message reaches the consumer, and the consumer acks them all. (An
    // ack can take effect and still go unconfirmed, its reply lost in a kill:
    // so the server's ack floor, not the confirmations, tells when it is done.)
    await checkFor(
      async () => {
        const ci = await jsm.consumers.info(STREAM, DURABLE);
        const unseen: number[] = [];
        for (let s = 1; s <= last.last_seq && unseen.length < 10; s++) {
          if (!seen.has(s)) unseen.push(s);
        }
        assert.ok(
          ci.ack_floor.stream_seq === last.last_seq && unseen.length === 0,
          `consumer: ack floor ${ci.ack_floor.stream_seq} of ${last.last_seq}, ` +
            `${ci.num_ack_pending} pending acks, ${ci.num_pending} left; never delivered: ${unseen.join(' ')}`,
        );
        return true;
      },
      ACK_WAIT_MS * 3 + 10_000,
      200,
    );
    stopConsuming = true;
    await within(workers[PUBLISHERS]!, 5000, 'the consumer to stop');
    const ci = await jsm.consumers.info(STREAM, DURABLE);
    assert.deepEqual(
      [ci.ack_floor.stream_seq, ci.delivered.stream_seq, ci.num_ack_pending, ci.num_pending],
      [last.last_seq, last.last_seq, 0, 0],
    );

    // Walk the whole stream with a second consumer.
    t.diagnostic(`caught up (${at()}), walking the stream`);
    assert.deepEqual(
      [last.messages, last.first_seq],
      [last.last_seq, 1],
      'the stream holds 1..last without a hole',
    );
    await jsm.consumers.add(STREAM, {
      durable_name: 'WALK',
      ack_policy: AckPolicy.Explicit,
      max_ack_pending: -1,
    });
    const held = new Map<number, { sum: string; intact: boolean }>();
    let expect = 1;
    while (expect <= last.last_seq) {
      const want = Math.min(1000, last.last_seq - expect + 1);
      for await (const m of js.fetch(STREAM, 'WALK', { batch: want, expires: 2000 })) {
        assert.equal(m.seq, expect, 'the walk sees the stream in order');
        held.set(m.seq, checkMessage(m.subject, m.data));
        expect++;
      }
    }
    const badHeld = [...held].filter(([, h]) => !h.intact).map(([s]) => s);
    assert.deepEqual(badHeld.slice(0, 20), [], 'messages in the stream that are torn');
    const missing: number[] = [];
    const changed: string[] = [];
    for (const [seq, sum] of acked) {
      const h = held.get(seq);
      if (h === undefined) missing.push(seq);
      else if (h.sum !== sum) changed.push(`${seq}: acked ${sum}, held ${h.sum}`);
    }
    // A sample through MSG.GET too: the same content by the direct path.
    const sample = [...acked.keys()].filter(() => rand() < 0.02).slice(0, 100);
    for (const seq of sample) {
      const sm = await jsm.streams.getMessage(STREAM, { seq });
      assert.equal(checkMessage(sm.subject, sm.data).sum, acked.get(seq), `MSG.GET ${seq}`);
    }
    assert.deepEqual(missing.slice(0, 20), [], `${missing.length} acked publishes missing`);
    assert.deepEqual(changed.slice(0, 20), [], 'acked publishes with other content');
    assert.deepEqual(ackConflicts, [], 'one sequence acked for two messages');
    assert.deepEqual(torn, [], 'torn messages delivered to the consumer');
    assert.deepEqual(redelivered.slice(0, 20), [], 'messages delivered after a confirmed ack');
    t.diagnostic(
      `seed ${SEED} (${at()}): ${acked.size} publishes acked (${publishFailures} failed), ` +
        `${last.last_seq} held, ${deliveries} deliveries, ${confirmed.size} acks confirmed, ` +
        `${redeliveries} delivered again`,
    );
  } finally {
    stopPublishing = true;
    stopConsuming = true;
    await nc.close().catch(() => {});
    if (node.child.exitCode === null && node.child.signalCode === null) {
      node.child.kill('SIGKILL');
      await node.exited;
    }
    await rm(dir, { recursive: true, force: true });
  }
});
