/**
 * A time-bounded fuzz of the Kafka face's own edge:
 *   - the record ⇄ message mapping (src/protocols/kafka/message-map.ts):
 *     random records — binary and text keys and values, null and empty ones,
 *     headers with any name (colons, spaces, the face's own names in any
 *     case) and any value (binary, CR/LF, spaces around, null) — come back
 *     the same after the trip through a NATS header block;
 *   - a live node's Kafka port fed random and mutated request frames, split
 *     at random: it never crashes, each bad connection is closed or
 *     answered, and a well-behaved connection opened after is served.
 *
 * WEFT_FUZZ_SECONDS sets the time (default 3); WEFT_FUZZ_SEED replays a run.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { encodeRequest } from '../../src/protocols/kafka/codec.js';
import { headersOfRecord, recordOfMessage } from '../../src/protocols/kafka/message-map.js';
import { encodeBatch, type KafkaRecord } from '../../src/protocols/kafka/records.js';
import { startKafkaNode } from '../kafka/helpers.js';
import { WireClient } from '../kafka/wire-client.js';
import { makeRng, type Rng, seedFromEnv, subSeed, withContext } from './nats-frames.js';

const SECONDS = Number(process.env.WEFT_FUZZ_SECONDS ?? '3');
const SEED = seedFromEnv();

function bytes(rng: Rng, max: number): Buffer {
  const b = Buffer.alloc(rng.int(max + 1));
  for (let i = 0; i < b.length; i++) b[i] = rng.chance(0.7) ? rng.range(0x20, 0x7e) : rng.int(256);
  return b;
}

const NAMES = [
  'a',
  'X-Trace',
  'kafka-key',
  'Kafka-Timestamp',
  'has:colon',
  'has space',
  'ünï',
  '',
  'Nats-Msg-Id',
  'k.e.y',
];

function record(rng: Rng): KafkaRecord {
  const n = rng.int(5);
  const headers = Array.from({ length: n }, () => ({
    key: rng.chance(0.5) ? rng.pick(NAMES) : bytes(rng, 8).toString('latin1'),
    value: rng.chance(0.1)
      ? null
      : rng.chance(0.3)
        ? Buffer.from(rng.pick([' pad ', 'a\r\nb', '', 'plain']))
        : bytes(rng, 20),
  }));
  return {
    attributes: 0,
    timestampDelta: 0,
    offsetDelta: 0,
    key: rng.chance(0.2) ? null : rng.chance(0.2) ? Buffer.alloc(0) : bytes(rng, 16),
    value: rng.chance(0.1) ? null : bytes(rng, 64),
    headers,
  };
}

test('records survive the trip through a stream message', () => {
  const rng = makeRng(subSeed(SEED, 1));
  const until = performance.now() + (SECONDS * 1000) / 2;
  let cases = 0;
  while (performance.now() < until || cases < 500) {
    cases++;
    const r = record(rng);
    const ts = BigInt(1_700_000_000_000 + rng.int(1_000_000));
    const headers = headersOfRecord(r, ts, null);
    const back = recordOfMessage(
      { seq: 1, subject: 't.0', time: 1, headers, payload: r.value ?? Buffer.alloc(0) },
      't.0',
    );
    withContext(`seed ${SEED} case ${cases}: ${JSON.stringify(r)}`, () => {
      assert.deepEqual(back.key, r.key);
      assert.deepEqual(back.value, r.value);
      assert.equal(BigInt(back.timestamp!), ts);
      assert.deepEqual(
        back.headers!.map((h) => [h.key, h.value]),
        r.headers.map((h) => [Buffer.from(h.key).toString('utf8'), h.value]),
      );
    });
  }
});

test('random and mutated frames never take the node down', async () => {
  const rng = makeRng(subSeed(SEED, 2));
  const n = await startKafkaNode({ kafkaMaxRequestBytes: 64 * 1024 });
  try {
    const valid = (): Buffer => {
      const pick = rng.int(4);
      const body =
        pick === 0
          ? { clientSoftwareName: 'f', clientSoftwareVersion: '1' }
          : pick === 1
            ? {
                topics: null,
                allowAutoTopicCreation: true,
                includeTopicAuthorizedOperations: false,
              }
            : pick === 2
              ? {
                  transactionalId: null,
                  acks: -1,
                  timeoutMs: 100,
                  topicData: [
                    {
                      name: 'fz',
                      partitionData: [
                        {
                          index: 0,
                          records: encodeBatch({ records: [{ value: bytes(rng, 30) }] }),
                        },
                      ],
                    },
                  ],
                }
              : {
                  topics: [
                    {
                      name: 'fz',
                      numPartitions: 1,
                      replicationFactor: 1,
                      assignments: [],
                      configs: [],
                    },
                  ],
                  timeoutMs: 100,
                  validateOnly: false,
                };
      const [key, v] = (
        [
          [18, 3],
          [3, 12],
          [0, 9],
          [19, 7],
        ] as const
      )[pick]!;
      return Buffer.concat(
        encodeRequest(
          { apiKey: key, apiVersion: v, correlationId: rng.int(1000), clientId: 'fz' },
          body,
        ),
      );
    };
    const until = performance.now() + (SECONDS * 1000) / 2;
    let runs = 0;
    while (performance.now() < until || runs < 20) {
      runs++;
      const frames: Buffer[] = [];
      for (let i = rng.range(1, 4); i > 0; i--) {
        const f = Buffer.from(valid());
        const m = rng.int(4);
        if (m === 1) for (let k = rng.range(1, 6); k > 0; k--) f[rng.int(f.length)] = rng.int(256);
        if (m === 2) frames.push(f.subarray(0, rng.int(f.length)));
        else if (m === 3) frames.push(bytes(rng, 40));
        else frames.push(f);
      }
      const all = Buffer.concat(frames);
      await new Promise<void>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: n.kafkaPort }, () => {
          let at = 0;
          while (at < all.length) {
            const k = rng.range(1, 64);
            s.write(all.subarray(at, at + k));
            at += k;
          }
          setTimeout(() => s.destroy(), 20);
        });
        s.on('data', () => {});
        s.on('error', () => {});
        s.on('close', () => resolve());
      });
    }
    const c = await WireClient.open(n.kafkaPort);
    const r = await c.send(18, 3, { clientSoftwareName: 'after', clientSoftwareVersion: '1' });
    assert.equal(r.errorCode, 0, `seed ${SEED}: served after ${runs} bad connections`);
    c.close();
  } finally {
    await n.close();
  }
});
