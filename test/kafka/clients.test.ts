/**
 * Real Kafka clients against the face: kcat (librdkafka), kafkajs (with its
 * compression codecs plugged in from snappy, lz4-napi and zstd-wasm),
 * confluent-kafka-python (librdkafka) and kafka-python. Each produces and
 * consumes; together they check keys, headers and timestamps kept, order
 * per partition, keyed partitioning stable, every compression codec, and
 * OFFSET_OUT_OF_RANGE. Consumers here assign partitions themselves (the
 * group coordinator is tested with it, test/kafka/groups*).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import * as zstd from '@bokuweb/zstd-wasm';
import kafkajsModule, { type Kafka } from 'kafkajs';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import snappy from 'snappy';
import { type KafkaNode, kafkajs, startKafkaNode } from './helpers.js';
import { consumeAll, kcat } from './kcat.js';

const PYTHON = '/usr/bin/python3';

function python(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      PYTHON,
      ['-c', script],
      { timeout: 30_000, env: { ...process.env, ...env } },
      (e, out, err) => resolve({ code: e === null ? 0 : 1, out, err }),
    );
  });
}

const { CompressionCodecs, CompressionTypes } = kafkajsModule;

async function plugCodecs(): Promise<void> {
  await zstd.init();
  CompressionCodecs[CompressionTypes.Snappy] = () => ({
    compress: async (e: { buffer: Buffer }) => snappy.compressSync(e.buffer),
    decompress: async (b: Buffer) => snappy.uncompressSync(b) as Buffer,
  });
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    compress: async (e: { buffer: Buffer }) => compressFrameSync(e.buffer),
    decompress: async (b: Buffer) => decompressFrameSync(b),
  });
  CompressionCodecs[CompressionTypes.ZSTD] = () => ({
    compress: async (e: { buffer: Buffer }) => Buffer.from(zstd.compress(e.buffer, 3)),
    decompress: async (b: Buffer) => Buffer.from(zstd.decompress(b)),
  });
}

describe('Kafka clients', () => {
  let n: KafkaNode;
  let k: Kafka;

  before(async () => {
    await plugCodecs();
    n = await startKafkaNode({ kafkaAutoCreateTopics: true });
    k = kafkajs(n.broker);
    const admin = k.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'kcat', numPartitions: 1 },
        { topic: 'keyed', numPartitions: 4 },
        { topic: 'codecs', numPartitions: 1 },
        { topic: 'py', numPartitions: 2 },
      ],
    });
    await admin.disconnect();
  });

  after(async () => {
    await n.close();
  });

  it('kcat: produce and consume with keys, headers and timestamps, in order', async () => {
    const lines = Array.from({ length: 50 }, (_, i) => `key${i}:value${i}`).join('\n');
    const p = await kcat(
      n.broker,
      ['-P', '-t', 'kcat', '-p', '0', '-K:', '-H', 'trace=abc', '-H', 'n=1'],
      `${lines}\n`,
    );
    assert.equal(p.code, 0, p.stderr);
    const got = await consumeAll(n.broker, 'kcat', 0, '%o|%k|%s|%h|%T');
    assert.equal(got.length, 50);
    const now = Date.now();
    got.forEach((line, i) => {
      const [offset, key, value, headers, ts] = line.split('|');
      assert.equal(offset, String(i));
      assert.equal(key, `key${i}`);
      assert.equal(value, `value${i}`);
      assert.equal(headers, 'trace=abc,n=1');
      assert.ok(Math.abs(Number(ts) - now) < 60_000, `timestamp ${ts}`);
    });
  });

  it('kcat: every compression codec, produced and consumed', async () => {
    for (const z of ['gzip', 'snappy', 'lz4', 'zstd']) {
      const r = await kcat(
        n.broker,
        ['-P', '-t', 'codecs', '-p', '0', '-z', z],
        `${z}-1\n${z}-2\n`,
      );
      assert.equal(r.code, 0, `${z}: ${r.stderr}`);
    }
    const got = await consumeAll(n.broker, 'codecs', 0, '%s');
    assert.deepEqual(got.slice(0, 8), [
      'gzip-1',
      'gzip-2',
      'snappy-1',
      'snappy-2',
      'lz4-1',
      'lz4-2',
      'zstd-1',
      'zstd-2',
    ]);
  });

  it('kafkajs: every compression codec, keys and headers, read back by kcat', async () => {
    const producer = k.producer();
    await producer.connect();
    const codecs = [
      CompressionTypes.None,
      CompressionTypes.GZIP,
      CompressionTypes.Snappy,
      CompressionTypes.LZ4,
      CompressionTypes.ZSTD,
    ];
    for (const compression of codecs) {
      await producer.send({
        topic: 'codecs',
        compression,
        messages: [
          {
            key: `c${compression}`,
            value: `kafkajs-${compression}`,
            headers: { codec: String(compression) },
            timestamp: '1700000000000',
          },
        ],
      });
    }
    await producer.disconnect();
    const got = await consumeAll(n.broker, 'codecs', 0, '%k|%s|%h|%T');
    assert.deepEqual(
      got.slice(8),
      codecs.map((c) => `c${c}|kafkajs-${c}|codec=${c}|1700000000000`),
    );
  });

  it('kafkajs: a key always goes to the same partition', async () => {
    const producer = k.producer();
    await producer.connect();
    const keys = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    const where = new Map<string, number>();
    for (let round = 0; round < 3; round++) {
      const r = await producer.send({
        topic: 'keyed',
        messages: keys.map((key) => ({ key, value: `${key}-${round}` })),
      });
      assert.ok(r.length > 0);
    }
    await producer.disconnect();
    for (let p = 0; p < 4; p++) {
      for (const line of await consumeAll(n.broker, 'keyed', p, '%k|%s')) {
        const [key, value] = line.split('|');
        const had = where.get(key!);
        assert.ok(had === undefined || had === p, `${key} on partitions ${had} and ${p}`);
        where.set(key!, p);
        assert.ok(value!.startsWith(key!));
      }
    }
    assert.equal(where.size, 20);
    assert.ok(new Set(where.values()).size > 1, 'keys spread over partitions');
    // Each key's records are in the order they were sent.
    for (let p = 0; p < 4; p++) {
      const seen = new Map<string, number>();
      for (const line of await consumeAll(n.broker, 'keyed', p, '%k|%s')) {
        const [key, value] = line.split('|');
        const round = Number(value!.split('-').pop());
        assert.equal(round, seen.get(key!) ?? 0);
        seen.set(key!, round + 1);
      }
    }
  });

  it('kcat: an offset past the end is OFFSET_OUT_OF_RANGE', async () => {
    const r = await kcat(n.broker, [
      '-C',
      '-t',
      'kcat',
      '-p',
      '0',
      '-o',
      '1000',
      '-e',
      '-X',
      'auto.offset.reset=error',
    ]);
    assert.match(r.stderr + r.stdout, /[Oo]ffset out of range/);
  });

  it('confluent-kafka-python: produce with keys and headers, consume by assignment', async () => {
    const script = `
import os, sys
from confluent_kafka import Producer, Consumer, TopicPartition
b = os.environ['BROKER']
p = Producer({'bootstrap.servers': b, 'enable.idempotence': True, 'compression.type': 'lz4'})
errs = []
for i in range(30):
    p.produce('py', key=('ck%d' % i).encode(), value=('cv%d' % i).encode(), partition=i % 2, headers=[('h', b'x%d' % i)],
              on_delivery=lambda e, m: errs.append(e) if e else None)
p.flush(10)
assert not errs, errs
c = Consumer({'bootstrap.servers': b, 'group.id': 'py-assign', 'enable.auto.commit': False})
c.assign([TopicPartition('py', 0, 0), TopicPartition('py', 1, 0)])
got = []
while len(got) < 30:
    m = c.poll(10)
    if m is None: break
    if m.error(): continue
    got.append((m.partition(), m.offset(), m.key().decode(), m.value().decode(), dict(m.headers())['h'].decode()))
c.close()
for part, off, k, v, h in sorted(got):
    print(part, off, k, v, h)
`;
    const r = await python(script, { BROKER: n.broker });
    assert.equal(r.code, 0, r.err);
    const rows = r.out.trim().split('\n');
    assert.equal(rows.length, 30);
    const p0 = rows.filter((l) => l.startsWith('0 '));
    assert.deepEqual(p0.slice(0, 2), ['0 0 ck0 cv0 x0', '0 1 ck2 cv2 x2']);
  });

  it('kafka-python: produce and consume by assignment', async () => {
    const script = `
import os
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
b = os.environ['BROKER']
p = KafkaProducer(bootstrap_servers=b, compression_type='gzip', acks='all')
for i in range(10):
    p.send('py', key=b'kp%d' % i, value=b'kv%d' % i, partition=1, headers=[('src', b'kafka-python')]).get(timeout=10)
p.close()
c = KafkaConsumer(bootstrap_servers=b, group_id=None, enable_auto_commit=False, consumer_timeout_ms=3000)
tp = TopicPartition('py', 1)
c.assign([tp])
c.seek_to_beginning(tp)
for m in c:
    if m.key.startswith(b'kp'):
        print(m.offset, m.key.decode(), m.value.decode(), dict(m.headers)['src'].decode())
c.close()
`;
    const r = await python(script, { BROKER: n.broker });
    assert.equal(r.code, 0, r.err);
    const rows = r.out.trim().split('\n');
    assert.equal(rows.length, 10, r.out + r.err);
    assert.match(rows[0]!, /^\d+ kp0 kv0 kafka-python$/);
  });
});
