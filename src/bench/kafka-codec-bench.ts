/**
 * In-process rates of the Kafka wire layer's hot paths (no server, no I/O):
 * record batches encoded and decoded (CRC included), a Produce request
 * decoded (its record blobs are views, not copies) and a Fetch response
 * encoded (its batches placed by reference). Each runs for a fixed time.
 */
import { ApiKey, decodeRequest, encodeRequest, encodeResponse } from '../protocols/kafka/codec.js';
import { decodeBatch, encodeBatch } from '../protocols/kafka/records.js';

export interface CodecResult {
  name: string;
  perSec: number;
  unit: string;
}

function rate(ms: number, perCall: number, fn: () => void): number {
  for (let i = 0; i < 200; i++) fn();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 20; i++) fn();
    n += 20;
  }
  return (n * perCall) / ((performance.now() - t0) / 1000);
}

export function runKafkaCodecBench(ms = 1000): CodecResult[] {
  const records = Array.from({ length: 100 }, (_, i) => ({
    value: Buffer.alloc(100, i),
    timestamp: 1_700_000_000_000 + i,
  }));
  const batch = encodeBatch({ records });
  const produce = Buffer.concat(
    encodeRequest(
      { apiKey: ApiKey.Produce, apiVersion: 7, correlationId: 1, clientId: 'bench' },
      {
        acks: 1,
        timeoutMs: 1000,
        topicData: [
          {
            name: 'bench',
            partitionData: Array.from({ length: 8 }, (_, index) => ({ index, records: batch })),
          },
        ],
      },
    ),
  ).subarray(4);
  const fetch = {
    responses: [
      {
        topic: 'bench',
        partitions: Array.from({ length: 8 }, (_, partitionIndex) => ({
          partitionIndex,
          highWatermark: 100n,
          records: [batch, batch],
        })),
      },
    ],
  };
  return [
    {
      name: 'RecordBatch encode, 100 records of 100 B',
      perSec: rate(ms, 100, () => encodeBatch({ records })),
      unit: 'records',
    },
    {
      name: 'RecordBatch decode + CRC, 100 records of 100 B',
      perSec: rate(ms, 100, () => decodeBatch(batch, { maxBytes: 1 << 20 })),
      unit: 'records',
    },
    {
      name: 'Produce v7 request decode, 8 partitions',
      perSec: rate(ms, 1, () => decodeRequest(produce)),
      unit: 'requests',
    },
    {
      name: 'Fetch v11 response encode, 8 partitions × 2 batches',
      perSec: rate(ms, 1, () => encodeResponse(ApiKey.Fetch, 11, 1, fetch)),
      unit: 'responses',
    },
  ];
}
