/**
 * The Kafka face's modules, in order: each brings its handlers (api.ts).
 * One line per module; an API key served twice stops the face from
 * starting (handlerTable).
 */
import type { KafkaModuleFactory } from '../api.js';
import { faceModule } from './face-module.js';

export const MODULES: readonly KafkaModuleFactory[] = [
  faceModule, // ApiVersions, Metadata, Produce, Fetch, ListOffsets, topics admin, InitProducerId
];
