/**
 * Our codec against a second, independent Kafka implementation: librdkafka's
 * built-in mock cluster (librdkafka 2.0, through /usr/bin/python3's
 * confluent_kafka with `test.mock.num.brokers`). librdkafka's own producer
 * writes records with every compression codec into it; our raw client then
 * speaks to the mock with our codec — ApiVersions, Metadata, Produce v7,
 * Fetch v11, ListOffsets, InitProducerId v4 (flexible) — and our records
 * layer decodes librdkafka's batches (raw snappy included), while the mock
 * takes our batches and gives them back.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { RawKafkaClient } from '../../src/bench/kafka-conn.js';
import { ApiKey } from '../../src/protocols/kafka/codec.js';
import { COMPRESSION_NAMES, initCompression } from '../../src/protocols/kafka/compression.js';
import { Attr, decodeBatch, encodeBatch, splitBatches } from '../../src/protocols/kafka/records.js';
import { checkFor } from '../helpers/poll.js';

const PY = '/usr/bin/python3';
const HAVE = spawnSync(PY, ['-c', 'import confluent_kafka'], { stdio: 'ignore' }).status === 0;
if (!HAVE && process.env.CI)
  throw new Error('python3-confluent-kafka is missing (.ci/run installs it)');

const SCRIPT = `
import sys
from confluent_kafka import Producer
first = Producer({'test.mock.num.brokers': 1})
b = list(first.list_topics(timeout=10).brokers.values())[0]
addr = '%s:%d' % (b.host, b.port)
for codec in ['none', 'gzip', 'snappy', 'lz4', 'zstd']:
    p = Producer({'bootstrap.servers': addr, 'compression.codec': codec, 'linger.ms': 50})
    for i in range(3):
        p.produce('x-' + codec, key=b'k%d' % i, value=(b'value-%d-' % i) * 20, headers=[('h', b'%d' % i)], timestamp=1700000000000 + i)
    p.flush(10)
print('READY ' + addr, flush=True)
sys.stdin.read()
`;

let py: ChildProcess | undefined;
const file = join(tmpdir(), `weft-rdkafka-mock-${process.pid}.py`);
let client: RawKafkaClient;
// biome-ignore lint/suspicious/noExplicitAny: decoded messages are walked freely.
type Any = any;

before(async () => {
  if (!HAVE) return;
  await initCompression();
  writeFileSync(file, SCRIPT);
  const child = spawn(PY, [file], { stdio: ['pipe', 'pipe', 'ignore'] });
  py = child;
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  const addr = await checkFor(() => {
    const m = /READY ([\d.]+):(\d+)/.exec(out);
    if (m === null) throw new Error('the librdkafka mock cluster is not ready');
    return m;
  }, 30_000);
  client = await RawKafkaClient.open(addr[1], Number(addr[2]));
});

after(() => {
  client?.close();
  py?.stdin?.end();
  py?.kill();
  rmSync(file, { force: true });
});

const opts = { skip: HAVE ? false : 'python3-confluent-kafka is not installed' };

test("ApiVersions v2 and Metadata v2 decode from librdkafka's mock broker", opts, async () => {
  const av: Any = await client.send(ApiKey.ApiVersions, 2, {});
  assert.equal(av.errorCode, 0);
  const produce = av.apiKeys.find((k: Any) => k.apiKey === ApiKey.Produce);
  assert.ok(produce.maxVersion >= 7);
  const md: Any = await client.send(ApiKey.Metadata, 2, {
    topics: COMPRESSION_NAMES.map((c) => ({ name: `x-${c}` })),
  });
  assert.equal(md.brokers.length, 1);
  assert.deepEqual(
    md.topics.map((t: Any) => [t.name, t.errorCode]).sort(),
    COMPRESSION_NAMES.map((c) => [`x-${c}`, 0]).sort(),
  );
});

/**
 * Every batch of every partition of `topic`: the mock answers a Fetch with
 * at most one batch per partition, and on a loaded machine librdkafka may
 * send a partition's records in two Produce requests (two batches), so each
 * partition is fetched from its next offset until its high watermark.
 */
async function fetchAll(topic: string): Promise<Any[]> {
  const md: Any = await client.send(ApiKey.Metadata, 2, { topics: [{ name: topic }] });
  const batches = [];
  for (const p of md.topics[0].partitions) {
    let next = 0n;
    for (let round = 0; round < 100; round++) {
      const resp: Any = await client.send(ApiKey.Fetch, 11, {
        maxWaitMs: 100,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        topics: [
          {
            topic,
            partitions: [
              { partition: p.partitionIndex, fetchOffset: next, partitionMaxBytes: 1 << 20 },
            ],
          },
        ],
      });
      const part = resp.responses[0].partitions[0];
      assert.equal(part.errorCode, 0);
      for (const raw of splitBatches(part.records ?? Buffer.alloc(0), true)) {
        const b = decodeBatch(raw, { maxBytes: 1 << 20 });
        batches.push(b);
        next = b.header.baseOffset + BigInt(b.header.lastOffsetDelta) + 1n;
      }
      if (next >= BigInt(part.highWatermark)) break;
    }
  }
  return batches;
}

test("librdkafka's batches of every codec decode with ours (CRC checked)", opts, async () => {
  for (const [codec, name] of COMPRESSION_NAMES.entries()) {
    const batches = await fetchAll(`x-${name}`);
    const records = batches.flatMap((b) =>
      b.records.map((r: Any) => ({ ...r, base: b.header.baseTimestamp })),
    );
    assert.equal(records.length, 3, name);
    for (const b of batches)
      assert.equal(b.header.attributes & Attr.CompressionMask, codec, `${name} batch codec`);
    const byKey = new Map(records.map((r) => [r.key.toString(), r]));
    for (let i = 0; i < 3; i++) {
      const r: Any = byKey.get(`k${i}`);
      assert.equal(r.value.toString(), `value-${i}-`.repeat(20), name);
      assert.equal(r.headers[0].key, 'h');
      assert.equal(r.headers[0].value.toString(), String(i));
      assert.equal(r.base + BigInt(r.timestampDelta), 1_700_000_000_000n + BigInt(i));
    }
  }
});

test(
  'the mock takes our Produce v7 batches of every codec and gives them back by Fetch v11',
  opts,
  async () => {
    for (const [codec, name] of COMPRESSION_NAMES.entries()) {
      const topic = `ours-${name}`;
      await client.send(ApiKey.Metadata, 2, { topics: [{ name: topic }] });
      const batch = encodeBatch({
        compression: codec as 0,
        baseTimestamp: 1000,
        records: [
          { key: Buffer.from('a'), value: Buffer.from('1') },
          { value: Buffer.alloc(3000, 9) },
        ],
      });
      const pr: Any = await client.send(ApiKey.Produce, 7, {
        acks: -1,
        timeoutMs: 5000,
        topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
      });
      assert.equal(pr.responses[0].partitionResponses[0].errorCode, 0, name);
      const batches = await fetchAll(topic);
      assert.equal(batches.length, 1);
      assert.equal(batches[0].records[1].value.length, 3000);
      const lo: Any = await client.send(ApiKey.ListOffsets, 5, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -1n }] }],
      });
      assert.equal(lo.topics[0].partitions[0].offset, 2n, `${name} latest offset`);
    }
  },
);

test(
  'InitProducerId v4 (a flexible version: compact strings, tagged fields) round-trips with the mock',
  opts,
  async () => {
    const r: Any = await client.send(ApiKey.InitProducerId, 4, {
      transactionalId: null,
      transactionTimeoutMs: 60000,
    });
    assert.equal(r.errorCode, 0);
    assert.ok(r.producerId >= 0n);
  },
);
