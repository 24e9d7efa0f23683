/**
 * The Kafka face on the wire: what a Kafka 3.x broker answers (or does)
 * for the corner cases, byte-level, with the codec as the client.
 * - ApiVersions newer than served: the v0 form with UNSUPPORTED_VERSION
 *   (35) and ApiVersions' own range (KIP-511; Kafka's
 *   RequestContext.parseRequest and ApiVersionsRequest.getErrorResponse);
 * - any other API key or version not served: the connection is closed
 *   (SocketServer.parseRequestHeader throws InvalidRequestException "…which
 *   is not enabled", processChannelException closes) — others go on;
 * - a frame over socket.request.max.bytes: closed (InvalidReceiveException);
 * - a batch with a bad CRC: CORRUPT_MESSAGE (2), nothing stored;
 * - requests pipelined on one connection are answered in order;
 * - idempotent producers: retries deduplicated, gaps refused
 *   (ProducerAppendInfo.checkSequence).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeBatch, encodeBatch, splitBatches } from '../../src/protocols/kafka/records.js';
import { checkFor } from '../helpers/poll.js';
import { type KafkaNode, startKafkaNode } from './helpers.js';
import { rawFrame, WireClient } from './wire-client.js';

const API_VERSIONS = 18;
const PRODUCE = 0;
const METADATA = 3;
const LIST_OFFSETS = 2;
const CREATE_TOPICS = 19;
const INIT_PRODUCER_ID = 22;

function varz(n: KafkaNode): Record<string, unknown> {
  const face = n.srv.node.faces.find((f) => f.name === 'kafka')!;
  return face.varz!();
}

function batch(
  values: string[],
  opts: { pid?: bigint; epoch?: number; seq?: number } = {},
): Buffer {
  return encodeBatch({
    baseTimestamp: Date.now(),
    producerId: opts.pid ?? -1n,
    producerEpoch: opts.epoch ?? -1,
    baseSequence: opts.seq ?? -1,
    records: values.map((v) => ({ value: Buffer.from(v) })),
  });
}

function produceBody(topic: string, records: Buffer, acks = -1) {
  return {
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  };
}

type P = { errorCode: number; baseOffset: bigint };
const partOf = (r: Record<string, unknown>): P =>
  (r.responses as { partitionResponses: P[] }[])[0]!.partitionResponses[0]!;

async function logEnd(c: WireClient, topic: string): Promise<bigint> {
  const r = await c.send(LIST_OFFSETS, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [
      { name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] },
    ],
  });
  return (r.topics as { partitions: { offset: bigint }[] }[])[0]!.partitions[0]!.offset;
}

describe('Kafka face on the wire', () => {
  let n: KafkaNode;
  let c: WireClient;

  before(async () => {
    n = await startKafkaNode({ kafkaMaxRequestBytes: 64 * 1024, maxPayload: 32 * 1024 });
    c = await WireClient.open(n.kafkaPort);
    const r = await c.send(CREATE_TOPICS, 7, {
      topics: [
        { name: 'wire', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
        { name: 'idem', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.deepEqual(
      (r.topics as { errorCode: number }[]).map((t) => t.errorCode),
      [0, 0],
    );
  });

  after(async () => {
    c.close();
    await n.close();
  });

  it('advertises exactly the APIs it serves', async () => {
    const r = await c.send(API_VERSIONS, 3, {
      clientSoftwareName: 'wire',
      clientSoftwareVersion: '1',
    });
    assert.equal(r.errorCode, 0);
    const keys = new Map(
      (r.apiKeys as { apiKey: number; minVersion: number; maxVersion: number }[]).map((k) => [
        k.apiKey,
        k,
      ]),
    );
    for (const k of [0, 1, 2, 3, 18, 19, 20, 22, 32, 37]) assert.ok(keys.has(k), `api key ${k}`);
    assert.deepEqual(keys.get(PRODUCE), { apiKey: 0, minVersion: 3, maxVersion: 9 });
  });

  it('answers an ApiVersions it does not serve in the v0 form with UNSUPPORTED_VERSION (KIP-511)', async () => {
    const w = await WireClient.open(n.kafkaPort);
    w.raw(rawFrame(API_VERSIONS, 99, 4242, Buffer.from([0, 0, 0]), true));
    await checkFor(() => w.unmatched.length === 1);
    const f = w.unmatched[0]!;
    assert.equal(f.readInt32BE(0), 4242);
    assert.equal(f.readInt16BE(4), 35, 'UNSUPPORTED_VERSION');
    assert.equal(f.readInt32BE(6), 1, 'one api key: ApiVersions');
    assert.deepEqual([f.readInt16BE(10), f.readInt16BE(12), f.readInt16BE(14)], [18, 0, 3]);
    // The connection stays open and serves the version it then picks.
    const r = await w.send(API_VERSIONS, 0, {});
    assert.equal(r.errorCode, 0);
    w.close();
  });

  it('closes a connection that sends an API key it does not serve, and only that one', async () => {
    const before = varz(n).unsupported_versions as number;
    const w = await WireClient.open(n.kafkaPort);
    w.raw(rawFrame(1000, 0, 1));
    await w.closed;
    assert.equal(varz(n).unsupported_versions, before + 1);
    const r = await c.send(METADATA, 9, {
      topics: null,
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    assert.ok((r.topics as { name: string }[]).some((t) => t.name === 'wire'));
  });

  it('closes a connection that sends a version below what it serves (Produce v2)', async () => {
    const w = await WireClient.open(n.kafkaPort);
    w.raw(rawFrame(PRODUCE, 2, 1, Buffer.alloc(16)));
    await w.closed;
  });

  it('closes a connection whose frame is over kafka.max_request_bytes, before reading it', async () => {
    const before = varz(n).frames_too_large as number;
    const w = await WireClient.open(n.kafkaPort);
    const head = Buffer.alloc(4);
    head.writeInt32BE(64 * 1024 + 1);
    w.raw(head);
    await w.closed;
    assert.equal(varz(n).frames_too_large, before + 1);
  });

  it('refuses a batch with a bad CRC as CORRUPT_MESSAGE and stores nothing', async () => {
    const end = await logEnd(c, 'wire');
    const good = batch(['a']);
    const bad = Buffer.from(batch(['b', 'c']));
    bad[bad.length - 1] ^= 0xff;
    const r = await c.send(PRODUCE, 9, produceBody('wire', Buffer.concat([good, bad])));
    assert.equal(partOf(r).errorCode, 2);
    assert.equal(await logEnd(c, 'wire'), end, 'not even the good batch before it');
  });

  it('stores a record near max_payload and refuses one over it with MESSAGE_TOO_LARGE', async () => {
    const end = await logEnd(c, 'wire');
    const ok = await c.send(PRODUCE, 9, produceBody('wire', batch(['x'.repeat(32 * 1024 - 64)])));
    assert.equal(partOf(ok).errorCode, 0);
    assert.equal(partOf(ok).baseOffset, end);
    const big = await c.send(PRODUCE, 9, produceBody('wire', batch(['x'.repeat(32 * 1024 + 1)])));
    assert.equal(partOf(big).errorCode, 10);
    assert.equal(await logEnd(c, 'wire'), end + 1n);
  });

  it('answers pipelined requests in order, and acks=0 with nothing', async () => {
    const end = await logEnd(c, 'wire');
    c.socket.cork();
    const sent: Promise<Record<string, unknown>>[] = [];
    for (let i = 0; i < 30; i++) {
      if (i % 3 === 0) sent.push(c.send(PRODUCE, 7, produceBody('wire', batch([`p${i}`]))));
      else if (i % 3 === 1) sent.push(c.send(API_VERSIONS, 2, {}));
      else
        sent.push(
          c.send(METADATA, 4, { topics: [{ name: 'wire' }], allowAutoTopicCreation: false }),
        );
    }
    c.socket.uncork();
    const order: number[] = [];
    sent.forEach((p, i) => {
      p.then(() => order.push(i));
    });
    await Promise.all(sent);
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
    );
    const offsets = (await Promise.all(sent.filter((_, i) => i % 3 === 0))).map(
      (r) => partOf(r).baseOffset,
    );
    assert.deepEqual(
      offsets,
      offsets.map((_, i) => end + BigInt(i)),
    );
    // acks=0: no answer; the next request's answer is the next frame.
    const before = c.unmatched.length;
    const p0 = c.send(PRODUCE, 9, produceBody('wire', batch(['silent']), 0));
    p0.catch(() => {});
    const m = await c.send(API_VERSIONS, 3, {
      clientSoftwareName: 'wire',
      clientSoftwareVersion: '1',
    });
    assert.equal(m.errorCode, 0);
    assert.equal(c.unmatched.length, before);
    assert.equal(await logEnd(c, 'wire'), end + 11n);
  });

  it('deduplicates an idempotent producer retry and refuses a gap, as Kafka does', async () => {
    const init = await c.send(INIT_PRODUCER_ID, 4, {
      transactionalId: null,
      transactionTimeoutMs: -1,
      producerId: -1n,
      producerEpoch: -1,
    });
    assert.equal(init.errorCode, 0);
    const pid = init.producerId as bigint;
    assert.ok(pid > 0n);
    const first = await c.send(
      PRODUCE,
      9,
      produceBody('idem', batch(['a', 'b', 'c'], { pid, epoch: 0, seq: 0 })),
    );
    assert.equal(partOf(first).errorCode, 0);
    assert.equal(partOf(first).baseOffset, 0n);
    // The same batch again (a retry): success with the first offset, nothing stored again.
    const retry = await c.send(
      PRODUCE,
      9,
      produceBody('idem', batch(['a', 'b', 'c'], { pid, epoch: 0, seq: 0 })),
    );
    assert.deepEqual([partOf(retry).errorCode, partOf(retry).baseOffset], [0, 0n]);
    assert.equal(await logEnd(c, 'idem'), 3n);
    // A gap: OUT_OF_ORDER_SEQUENCE_NUMBER.
    const gap = await c.send(
      PRODUCE,
      9,
      produceBody('idem', batch(['e'], { pid, epoch: 0, seq: 5 })),
    );
    assert.equal(partOf(gap).errorCode, 45);
    // The next in order is taken.
    const next = await c.send(
      PRODUCE,
      9,
      produceBody('idem', batch(['d'], { pid, epoch: 0, seq: 3 })),
    );
    assert.deepEqual([partOf(next).errorCode, partOf(next).baseOffset], [0, 3n]);
    // An old epoch is fenced after a newer one wrote.
    const bumped = await c.send(INIT_PRODUCER_ID, 4, {
      transactionalId: null,
      transactionTimeoutMs: -1,
      producerId: pid,
      producerEpoch: 0,
    });
    assert.equal(bumped.producerEpoch, 1);
    const e1 = await c.send(
      PRODUCE,
      9,
      produceBody('idem', batch(['f'], { pid, epoch: 1, seq: 0 })),
    );
    assert.equal(partOf(e1).errorCode, 0);
    const e0 = await c.send(
      PRODUCE,
      9,
      produceBody('idem', batch(['g'], { pid, epoch: 0, seq: 4 })),
    );
    assert.equal(partOf(e0).errorCode, 47);
    assert.equal(await logEnd(c, 'idem'), 5n);
  });
  it('keeps each record of a batch its own timestamp, key, value and headers (a shared header block reused only where they match)', async () => {
    const r0 = await c.send(CREATE_TOPICS, 7, {
      topics: [
        { name: 'mixed', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.equal((r0.topics as { errorCode: number }[])[0]!.errorCode, 0);
    const t0 = 1_700_000_000_000;
    const sent = [
      { value: Buffer.from('a'), timestamp: t0 },
      { value: Buffer.from('b'), timestamp: t0 },
      { value: Buffer.from('c'), timestamp: t0 + 5 },
      { value: Buffer.from('d'), timestamp: t0 + 5, key: Buffer.from('k') },
      { value: null, timestamp: t0 + 5 },
      {
        value: Buffer.from('f'),
        timestamp: t0 + 5,
        headers: [{ key: 'h', value: Buffer.from('v') }],
      },
      { value: Buffer.from('g'), timestamp: t0 },
      { value: Buffer.from('h'), timestamp: t0 },
    ];
    const p = await c.send(
      PRODUCE,
      7,
      produceBody('mixed', encodeBatch({ baseTimestamp: t0, records: sent })),
    );
    assert.equal(partOf(p).errorCode, 0);
    const f = await c.send(1, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: 'mixed',
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset: 0n,
              logStartOffset: -1n,
              partitionMaxBytes: 1 << 20,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    });
    const part = (f.responses as { partitions: { errorCode: number; records: Buffer }[] }[])[0]!
      .partitions[0]!;
    assert.equal(part.errorCode, 0);
    const got = splitBatches(part.records).flatMap((b) => {
      const { header, records } = decodeBatch(b, { maxBytes: 1 << 20 });
      return records.map((r) => ({
        value: r.value === null ? null : r.value.toString(),
        key: r.key === null ? null : r.key.toString(),
        timestamp: Number(header.baseTimestamp) + r.timestampDelta,
        headers: r.headers.map((h) => `${h.key}=${h.value?.toString()}`),
      }));
    });
    assert.deepEqual(
      got,
      sent.map((r) => ({
        value: r.value === null ? null : r.value.toString(),
        key: r.key === undefined ? null : r.key.toString(),
        timestamp: r.timestamp,
        headers: (r.headers ?? []).map((h) => `${h.key}=${h.value.toString()}`),
      })),
    );
  });
});
