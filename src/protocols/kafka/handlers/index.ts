/**
 * The Kafka face's modules, in order: each brings its handlers (api.ts).
 * One line per module; an API key served twice stops the face from
 * starting (handlerTable).
 */
import type { KafkaModuleFactory } from '../api.js';
import { groupsModule } from '../groups/module.js';
import { saslModule } from '../sasl-module.js';
import { faceModule } from './face-module.js';

export const MODULES: readonly KafkaModuleFactory[] = [
  faceModule, // ApiVersions, Metadata, Produce, Fetch, ListOffsets, topics admin, InitProducerId
  groupsModule, // FindCoordinator, Join/Sync/Heartbeat/LeaveGroup, OffsetCommit/Fetch, Describe/List/DeleteGroups
  saslModule, // SaslHandshake, SaslAuthenticate
];
