/**
 * The bench's Kafka load generator (src/bench/kafka-produce-wire.ts,
 * kafka-runner.ts) sends what the general codec would (byte for byte), and
 * what it sends over a socket decodes with the face's own decoders: every
 * request a Produce v7, every batch's CRC good, every record the value.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { ProduceWire, produceAnswerErrors } from '../../src/bench/kafka-produce-wire.js';
import { runKafkaProduce } from '../../src/bench/kafka-runner.js';
import {
  ApiKey,
  decodeRequest,
  encodeRequest,
  encodeResponse,
} from '../../src/protocols/kafka/codec.js';
import { FrameSplitter } from '../../src/protocols/kafka/frames.js';
import { decodeBatch, encodeBatch } from '../../src/protocols/kafka/records.js';

const value = (size: number) => Buffer.from(Array.from({ length: size }, (_, i) => (i * 7) & 0xff));

test('ProduceWire: the same bytes as encodeRequest over encodeBatch', () => {
  for (const size of [0, 1, 63, 100, 1024, 20_000]) {
    for (const partitions of [[0], [3], [0, 1, 2]]) {
      for (const counts of [[1], [64], [200]]) {
        const v = value(size);
        const wire = new ProduceWire({
          topic: 'bench-topic',
          clientId: 'weft-bench-producer',
          acks: -1,
          timeoutMs: 30_000,
          value: v,
          maxRecords: 200,
          poolMax: 4,
        });
        const now = 1_765_000_000_123 + size;
        const batches = partitions.map((p, i) => {
          const b = wire.open(p, now + i);
          for (let k = 0; k < counts[0]!; k++) wire.append(b);
          wire.close(b);
          return b;
        });
        const got = Buffer.concat(wire.request(4242, batches));
        const want = Buffer.concat(
          encodeRequest(
            {
              apiKey: ApiKey.Produce,
              apiVersion: 7,
              correlationId: 4242,
              clientId: 'weft-bench-producer',
            },
            {
              transactionalId: null,
              acks: -1,
              timeoutMs: 30_000,
              topicData: [
                {
                  name: 'bench-topic',
                  partitionData: partitions.map((p, i) => ({
                    index: p,
                    records: encodeBatch({
                      baseTimestamp: now + i,
                      records: Array.from({ length: counts[0]! }, () => ({ value: v })),
                    }),
                  })),
                },
              ],
            },
          ),
        );
        assert.deepEqual(got, want, `size ${size}, partitions ${partitions}, ${counts[0]} records`);
        // Reused buffers give the same bytes again.
        for (const b of batches) wire.release(b);
        const again = partitions.map((p, i) => {
          const b = wire.open(p, now + i);
          for (let k = 0; k < counts[0]!; k++) wire.append(b);
          wire.close(b);
          return b;
        });
        assert.deepEqual(Buffer.concat(wire.request(4242, again)), want);
        assert.equal(wire.allocated, partitions.length);
      }
    }
  }
});

/** A Kafka sink: decodes every Produce with the face's decoders and checks each record. */
async function sink(size: number) {
  const want = Buffer.alloc(size, 0x61);
  const seen = {
    requests: 0,
    records: 0,
    byPartition: new Map<number, number>(),
    bad: [] as string[],
  };
  const server = createServer((s: Socket) => {
    const splitter = new FrameSplitter(1 << 26);
    s.on('data', (chunk: Buffer) => {
      splitter.push(chunk);
      for (let f = splitter.next(); f !== null; f = splitter.next()) {
        const { header, body } = decodeRequest(Buffer.from(f));
        assert.equal(header.apiKey, ApiKey.Produce);
        const req = body as {
          acks: number;
          topicData: { name: string; partitionData: { index: number; records: Buffer }[] }[];
        };
        seen.requests++;
        const responses = req.topicData.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => {
            const { header: h, records } = decodeBatch(p.records, { maxBytes: 1 << 26 });
            if (h.magic !== 2 || h.recordCount !== records.length) seen.bad.push('header');
            records.forEach((r, i) => {
              if (
                r.offsetDelta !== i ||
                r.key !== null ||
                r.headers.length !== 0 ||
                r.timestampDelta !== 0
              )
                seen.bad.push(`record ${i}`);
              if (r.value === null || !r.value.equals(want)) seen.bad.push(`value ${i}`);
            });
            seen.records += records.length;
            seen.byPartition.set(p.index, (seen.byPartition.get(p.index) ?? 0) + records.length);
            return {
              index: p.index,
              errorCode: 0,
              baseOffset: 0n,
              logAppendTimeMs: -1n,
              logStartOffset: 0n,
              recordErrors: [],
              errorMessage: null,
            };
          }),
        }));
        s.cork();
        for (const b of encodeResponse(ApiKey.Produce, header.apiVersion, header.correlationId, {
          responses,
          throttleTimeMs: 0,
        }))
          s.write(b);
        s.uncork();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, seen, port: (server.address() as { port: number }).port };
}

for (const [size, partitions, msgs] of [
  [1024, 1, 5_000],
  [100, 8, 20_000],
  [0, 3, 5_000],
] as const) {
  test(`runKafkaProduce: ${msgs} × ${size} B over ${partitions} partitions decode with the face's decoders`, async () => {
    const { server, seen, port } = await sink(size);
    try {
      const r = await runKafkaProduce({
        server: { host: '127.0.0.1', port },
        topic: 'bench',
        partitions,
        msgs,
        size,
        acks: -1,
      });
      assert.equal(r.complete, true, r.errors.join('; '));
      assert.equal(r.done, msgs);
      assert.deepEqual(seen.bad, []);
      assert.equal(seen.records, msgs);
      assert.equal(seen.requests, r.requests);
      // The sticky partitioner spreads full batches over every partition.
      assert.equal(seen.byPartition.size, partitions);
    } finally {
      server.close();
    }
  });
}

/** A sink that answers every partition with `errorCode`, closes the connection at the first request, or never answers. */
async function badSink(how: { errorCode: number } | 'close' | 'silent') {
  const server = createServer((s: Socket) => {
    const splitter = new FrameSplitter(1 << 26);
    s.on('data', (chunk: Buffer) => {
      splitter.push(chunk);
      for (let f = splitter.next(); f !== null; f = splitter.next()) {
        if (how === 'silent') continue;
        if (how === 'close') {
          s.destroy();
          return;
        }
        const { header, body } = decodeRequest(Buffer.from(f));
        const req = body as { topicData: { name: string; partitionData: { index: number }[] }[] };
        const responses = req.topicData.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => ({
            index: p.index,
            errorCode: how.errorCode,
            baseOffset: -1n,
            logAppendTimeMs: -1n,
            logStartOffset: -1n,
            recordErrors: [],
            errorMessage: null,
          })),
        }));
        for (const b of encodeResponse(ApiKey.Produce, header.apiVersion, header.correlationId, {
          responses,
          throttleTimeMs: 0,
        }))
          s.write(b);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

test('runKafkaProduce ends on a partition error, a closed connection, or a stall', async () => {
  for (const how of [{ errorCode: 3 }, 'close', 'silent'] as const) {
    const { server, port } = await badSink(how);
    try {
      const r = await runKafkaProduce({
        server: { host: '127.0.0.1', port },
        topic: 'bench',
        partitions: 2,
        msgs: 10_000,
        size: 100,
        acks: 1,
        stallMs: 300,
      });
      assert.equal(r.ended, how === 'silent' ? 'stalled' : 'error');
      assert.equal(r.complete, false);
      // Every request in flight fails (a reset or a close, as the kernel reports it).
      if (how === 'close')
        assert.ok(
          r.errors.length > 0 && r.errors.every((e) => /ECONNRESET|connection closed/.test(e)),
          r.errors.join('; '),
        );
      else if (how === 'silent') assert.equal(r.done, 0);
      else assert.ok((r.errorCodes['3'] ?? 0) > 0 && r.done === 0);
    } finally {
      server.close();
    }
  }
});

test('produceAnswerErrors reads the codes the face encodes in a Produce v7 answer', () => {
  const part = (index: number, errorCode: number) => ({
    index,
    errorCode,
    baseOffset: 12345n,
    logAppendTimeMs: -1n,
    logStartOffset: 0n,
    recordErrors: [],
    errorMessage: null,
  });
  const cases: [number[][], number][] = [
    [[[0]], 0],
    [[[0, 0, 0, 0, 0, 0, 0, 0]], 0],
    [[[0, 6, 0, 6, 3]], 3],
    [[[0], [0, 87]], 1],
    [[[], [7]], 1],
  ];
  for (const [topics, errors] of cases) {
    const frame = Buffer.concat(
      encodeResponse(ApiKey.Produce, 7, 99, {
        responses: topics.map((codes, t) => ({
          name: `topic-${t}`,
          partitionResponses: codes.map((c, i) => part(i, c)),
        })),
        throttleTimeMs: 0,
      }),
    ).subarray(4);
    const codes: Record<string, number> = {};
    assert.equal(produceAnswerErrors(frame, codes), errors);
    const want: Record<string, number> = {};
    for (const c of topics.flat()) if (c !== 0) want[c] = (want[c] ?? 0) + 1;
    assert.deepEqual(codes, want);
    assert.throws(() => produceAnswerErrors(frame.subarray(0, frame.length - 1), {}), RangeError);
  }
});
