/**
 * Limits as the official client meets them: big payloads, max_payload, slow
 * consumers, max connections and subscriptions, and many subscriptions.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { ErrorCode, type NatsConnection, type NatsError, StringCodec } from 'nats';
import { monitorJson, startTargetFor, type Target } from '../helpers/harness.js';

const sc = StringCodec();
const KiB = 1024;
const MiB = 1024 * KiB;

/** Waits for the first 'error' status event the client reports. */
async function nextErrorStatus(nc: NatsConnection): Promise<string> {
  for await (const s of nc.status()) {
    if (s.type === 'error') return String(s.data);
  }
  throw new Error('status stream ended without an error');
}

async function varzNumber(srv: Target, field: string): Promise<number> {
  const v = await monitorJson(srv, '/varz');
  assert.equal(typeof v[field], 'number', `/varz ${field}`);
  return v[field] as number;
}

describe('limits', () => {
  test('a 900 KiB payload round-trips byte for byte under a 1 MiB max_payload', async (t) => {
    const { pool } = await startTargetFor(t, { maxPayload: MiB });
    const sub = await pool.connect();
    const pub = await pool.connect();
    assert.equal(pub.info?.max_payload, MiB);
    const s = sub.subscribe('big', { max: 2 });
    await sub.flush();
    const body = randomBytes(900 * KiB);
    const exact = randomBytes(MiB);
    pub.publish('big', body);
    pub.publish('big', exact);
    const got: Uint8Array[] = [];
    for await (const m of s) got.push(m.data);
    assert.ok(Buffer.from(got[0]!).equals(body), '900 KiB payload intact');
    assert.ok(Buffer.from(got[1]!).equals(exact), 'payload of exactly max_payload intact');
  });

  test('over max_payload: INFO advertises the limit and the client refuses to send', async (t) => {
    const { pool } = await startTargetFor(t, { maxPayload: 64 * KiB });
    const nc = await pool.connect();
    assert.equal(nc.info?.max_payload, 64 * KiB);
    assert.throws(
      () => nc.publish('too.big', new Uint8Array(64 * KiB + 1)),
      (err: NatsError) => err.code === ErrorCode.MaxPayloadExceeded,
    );
    // Nothing reached the server, so the connection is fine. (The server's
    // own refusal of an oversized PUB is a wire test: errors.test.ts.)
    const s = nc.subscribe('ok.size', { max: 1 });
    nc.publish('ok.size', new Uint8Array(64 * KiB));
    for await (const m of s) assert.equal(m.data.length, 64 * KiB);
    assert.equal(nc.isClosed(), false);
  });

  test('slow consumer: a subscriber that never reads is cut off, a fast one gets everything', async (t) => {
    const { srv, pool, raw } = await startTargetFor(t, {
      maxPending: 512 * KiB,
      maxPayload: 64 * KiB,
      referenceWriteDeadlineMs: 500,
    });
    const slowBefore = await varzNumber(srv, 'slow_consumers');

    const slow = await raw.handshake(srv.port);
    slow.send('SUB flood 1\r\n');
    await slow.ping();
    slow.pause();

    const fastConn = await pool.connect();
    let fastGot = 0;
    let fastBytes = 0;
    fastConn.subscribe('flood', {
      callback: (_err, m) => {
        fastGot++;
        fastBytes += m.data.length;
      },
    });
    await fastConn.flush();

    // Flood in 1 MiB batches until the server reports the slow consumer. The
    // kernel buffers of the paused socket absorb several MiB first. (The
    // reference then blocks the publisher's read loop on the stuck socket
    // until its write deadline, hence referenceWriteDeadlineMs; Weft must cut
    // the consumer off at maxPending without stalling the publisher.)
    const pub = await pool.connect();
    const chunk = new Uint8Array(32 * KiB).fill(120);
    let published = 0;
    const deadline = Date.now() + 20_000;
    while ((await varzNumber(srv, 'slow_consumers')) === slowBefore) {
      assert.ok(Date.now() < deadline, `no slow consumer after ${published} messages`);
      assert.ok(published < 64 * 32, `no slow consumer after ${published * 32} KiB`);
      for (let i = 0; i < 32; i++) pub.publish('flood', chunk);
      published += 32;
      await pub.flush();
    }
    // The flood goes on after the slow consumer is gone.
    for (let i = 0; i < 32; i++) pub.publish('flood', chunk);
    published += 32;
    await pub.flush();
    await fastConn.flush();

    assert.equal(fastGot, published, 'the fast subscriber received every message');
    assert.equal(fastBytes, published * chunk.length);
    assert.equal(fastConn.isClosed(), false);
    assert.equal(await varzNumber(srv, 'slow_consumers'), slowBefore + 1);
    await slow.discardUntilClosed(10_000);
  });

  test('max connections: one more client is refused, the others are fine', async (t) => {
    const { pool } = await startTargetFor(t, { maxConnections: 2 });
    const a = await pool.connect();
    const b = await pool.connect();
    // The server sends -ERR 'maximum connections exceeded' and closes; the
    // client reports that or the broken pipe, depending on timing.
    await assert.rejects(pool.connect());
    await a.flush();
    await b.flush();
    assert.equal(a.isClosed(), false);
  });

  test('many subscriptions on one connection each get their own messages', async (t) => {
    const { pool } = await startTargetFor(t, {});
    const sub = await pool.connect();
    const pub = await pool.connect();
    const N = 5000;
    const counts = new Uint32Array(N);
    for (let i = 0; i < N; i++) {
      sub.subscribe(`many.${i}`, {
        callback: () => {
          counts[i]!++;
        },
      });
    }
    // One subscription on all of them too.
    let wild = 0;
    sub.subscribe('many.*', {
      callback: () => {
        wild++;
      },
    });
    await sub.flush();
    for (let i = 0; i < N; i++) pub.publish(`many.${i}`, sc.encode(String(i)));
    await pub.flush();
    await sub.flush();
    assert.ok(
      counts.every((c) => c === 1),
      'every subscription got exactly its one message',
    );
    assert.equal(wild, N);
  });

  test('max subscriptions: the extra SUB is refused with an error, the connection stays', async (t) => {
    const { pool } = await startTargetFor(t, { maxSubscriptions: 10 });
    const nc = await pool.connect();
    const errored = nextErrorStatus(nc);
    const got: string[] = [];
    for (let i = 0; i < 11; i++) {
      nc.subscribe(`s.${i}`, {
        callback: (_err, m) => {
          got.push(m.subject);
        },
      });
    }
    // The client reports the server's -ERR as a protocol error status.
    assert.equal(await errored, ErrorCode.ProtocolError);
    await nc.flush();
    assert.equal(nc.isClosed(), false);
    // The eleventh subscription does not exist on the server: its message,
    // published first, is not delivered before the tenth's.
    nc.publish('s.10', sc.encode('x'));
    nc.publish('s.9', sc.encode('x'));
    await nc.flush();
    assert.deepEqual(got, ['s.9']);
  });
});
