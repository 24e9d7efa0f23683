/** The face's own handlers: ApiVersions, Metadata, Produce, Fetch, ListOffsets, topic admin, InitProducerId. */
import type { KafkaModule, KafkaShared } from '../api.js';
import { apiVersionsHandler } from './api-versions.js';

export function faceModule(_shared: KafkaShared): KafkaModule {
  return {
    name: 'face',
    handlers: [apiVersionsHandler],
  };
}
