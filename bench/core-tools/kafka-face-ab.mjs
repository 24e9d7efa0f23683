/**
 * A Produce request's face work outside the store, per request, in two
 * builds: the header and body read from a 16 KiB frame (16 records of
 * 1 KiB, as the bench's producer sends), and the answer written. The
 * schema codec is first used for other APIs' messages, as in a node
 * (its property accesses megamorphic). A build with produce-wire.js uses
 * it (as its session does); one without uses the schema codec. A child
 * process per build and round, alternating; ns per request, best of 3
 * passes each.
 *   node bench/core-tools/kafka-face-ab.mjs <base dist> <this dist> [rounds]
 * bench/PROFILE.md, "Issue 16 — kafka6 (round 12)".
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const [a, b, c] = process.argv.slice(2);

if (a === '--child') {
  const dist = b;
  const codec = await import(`${dist}/src/protocols/kafka/codec.js`);
  const { Reader } = await import(`${dist}/src/protocols/kafka/wire.js`);
  const { encodeBatch } = await import(`${dist}/src/protocols/kafka/records.js`);
  const pw = existsSync(`${dist}/src/protocols/kafka/produce-wire.js`)
    ? await import(`${dist}/src/protocols/kafka/produce-wire.js`)
    : null;
  const frameOf = (apiKey, apiVersion, body) =>
    Buffer.concat(
      codec.encodeRequest({ apiKey, apiVersion, correlationId: 1, clientId: 'bench' }, body),
    ).subarray(4);
  // Other APIs through the schema codec first (a node reads many kinds).
  const others = [
    frameOf(3, 12, {
      topics: [{ topicId: '00000000000000000000000000000000', name: 'x' }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    }),
    frameOf(18, 3, { clientSoftwareName: 'a', clientSoftwareVersion: '1' }),
    frameOf(22, 4, {
      transactionalId: null,
      transactionTimeoutMs: 1,
      producerId: -1n,
      producerEpoch: -1,
    }),
    frameOf(2, 5, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        { name: 'x', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] },
      ],
    }),
    frameOf(19, 7, {
      topics: [{ name: 'x', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1,
      validateOnly: false,
    }),
  ];
  for (let i = 0; i < 20000; i++) {
    const f = others[i % others.length];
    const r = new Reader(f);
    const h = codec.decodeRequestHeader(r);
    const m = codec.decodeRequestBody(h, r);
    codec.encodeResponse(h.apiKey, h.apiVersion, 1, m);
  }
  const value = Buffer.alloc(1024, 7);
  const records = encodeBatch({
    baseTimestamp: Date.now(),
    records: Array.from({ length: 16 }, () => ({ value })),
  });
  const produce = {
    transactionalId: null,
    acks: 1,
    timeoutMs: 30000,
    topicData: [{ name: 'bench', partitionData: [{ index: 0, records }] }],
  };
  const answer = {
    responses: [
      {
        name: 'bench',
        partitionResponses: [
          {
            index: 0,
            errorCode: 0,
            baseOffset: 123456n,
            logAppendTimeMs: -1n,
            logStartOffset: 0n,
            recordErrors: [],
            errorMessage: null,
          },
        ],
      },
    ],
    throttleTimeMs: 0,
  };
  const frames = [7, 9].map((v) => frameOf(0, v, produce));
  const out = Buffer.alloc(1 << 16);
  const N = 100000;
  const time = (f) => {
    let best = Infinity;
    for (let pass = 0; pass < 7; pass++) {
      const t = process.hrtime.bigint();
      for (let i = 0; i < N; i++) f(i);
      best = Math.min(best, Number(process.hrtime.bigint() - t) / N);
    }
    return best;
  };
  let sink = 0;
  const decode = time((i) => {
    const r = new Reader(frames[i & 1]);
    const h = codec.decodeRequestHeader(r);
    const m =
      pw !== null ? pw.decodeProduceRequest(h.apiVersion, r) : codec.decodeRequestBody(h, r);
    sink += m.topicData.length;
  });
  const encode = time((i) => {
    const v = i & 1 ? 9 : 7;
    if (pw !== null) {
      const size = pw.produceResponseSize(v, answer);
      sink += pw.writeProduceResponse(out, 0, size, v, i, answer);
    } else {
      const parts = codec.encodeResponse(0, v, i, answer);
      // As the session's queueBytes: copied into the connection's chunk.
      for (const p of parts) sink += p.copy(out, 0);
    }
  });
  console.log(JSON.stringify({ decode, encode, sink: sink > 0 }));
} else {
  const rounds = Number(c ?? 5);
  const res = { base: { decode: [], encode: [] }, this: { decode: [], encode: [] } };
  for (let i = 0; i < rounds; i++) {
    for (const [side, dist] of [
      ['base', a],
      ['this', b],
    ]) {
      const out = JSON.parse(
        execFileSync(process.execPath, [new URL(import.meta.url).pathname, '--child', dist], {
          encoding: 'utf8',
        }),
      );
      res[side].decode.push(out.decode);
      res[side].encode.push(out.encode);
    }
  }
  const med = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  for (const side of ['base', 'this']) {
    for (const k of ['decode', 'encode']) {
      const xs = res[side][k];
      console.log(
        `${side} ${k}: ${med(xs).toFixed(0)} ns per request (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`,
      );
    }
  }
}
