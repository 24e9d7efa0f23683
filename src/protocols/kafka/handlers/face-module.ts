/**
 * The face's own module: ApiVersions, Metadata, Produce, Fetch,
 * ListOffsets, topic administration and InitProducerId, with their
 * counters (`/varz` kafka section, `weft_kafka_*_total`).
 */
import type { Registry } from 'prom-client';
import { scrapeReaders } from '../../../monitor/metric-kit.js';
import type { KafkaModule, KafkaShared } from '../api.js';
import { initCompression } from '../compression.js';
import { Producers } from '../producers.js';
import type { KafkaTopics } from '../topics.js';
import { apiVersionsHandler } from './api-versions.js';
import { type FetchCounters, fetchHandler } from './fetch.js';
import { initProducerIdHandler } from './init-producer-id.js';
import { listOffsetsHandler } from './list-offsets.js';
import { metadataHandler } from './metadata.js';
import { type ProduceCounters, produceHandler } from './produce.js';
import {
  createPartitionsHandler,
  createTopicsHandler,
  deleteTopicsHandler,
  describeConfigsHandler,
} from './topic-admin.js';

const HELP: Record<string, string> = {
  recordsIn: 'Kafka records produced and stored',
  recordsOut: 'Kafka records fetched',
  batchesCorrupt:
    'Kafka produced batches refused as corrupt (CRC, framing, compression): nothing stored',
  recordsTooLarge: 'Kafka produced batches refused: a record over max_payload or max.message.bytes',
  produceDenied: 'Kafka produce requests refused by permissions',
  fetchDenied: 'Kafka fetches refused by permissions',
  offsetOutOfRange: 'Kafka fetches answered OFFSET_OUT_OF_RANGE',
  producerIds: 'Kafka producer ids handed out',
  duplicates: 'Kafka idempotent batches recognised as retries (not stored again)',
  outOfOrder: 'Kafka idempotent batches refused as out of order',
  statesEvicted: 'Kafka producer states dropped at PRODUCER_STATES_MAX',
  statesRecovered: 'Kafka producer states read back from a partition after a restart',
};

export function faceModule(shared: KafkaShared): KafkaModule {
  const topics = shared.topics as KafkaTopics;
  const producers = new Producers(() => shared.broker.nodeId);
  const counters: ProduceCounters & FetchCounters = {
    recordsIn: 0,
    recordsOut: 0,
    batchesCorrupt: 0,
    recordsTooLarge: 0,
    produceDenied: 0,
    fetchDenied: 0,
    offsetOutOfRange: 0,
  };
  const all = (): Record<string, number> => ({ ...counters, ...producers.counters });
  return {
    name: 'face',
    handlers: [
      apiVersionsHandler,
      metadataHandler(topics),
      produceHandler(topics, producers, counters),
      fetchHandler(topics, counters),
      listOffsetsHandler(topics),
      createTopicsHandler(topics),
      deleteTopicsHandler(topics),
      createPartitionsHandler(topics),
      describeConfigsHandler(topics),
      initProducerIdHandler(producers),
    ],
    start: () => initCompression(),
    varz: () => Object.fromEntries(Object.entries(all()).map(([k, v]) => [snake(k), v])),
    metrics(registry: Registry) {
      const { counter } = scrapeReaders(registry);
      for (const k of Object.keys(all())) {
        counter(`weft_kafka_${snake(k)}_total`, HELP[k] ?? k, () => all()[k] ?? 0);
      }
    },
  };
}

function snake(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
