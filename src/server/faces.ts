/**
 * The faces every node may host, in start order, each loaded only when the
 * node's settings may turn it on (issue 16's idle memory: a face's modules
 * and the libraries they import are most of what a node maps at start).
 *
 * `wanted` is a cheap test on the settings, true whenever the face's own
 * factory could return a face; the factory, once its module is imported,
 * still decides (and returns null when its settings turn it off).
 */
import type { FaceFactory, FaceHost } from '../protocols/face.js';
import { storeNames } from '../protocols/http/webhooks/store.js';

export interface FaceSlot {
  readonly name: string;
  /** False when the face is surely off: its module is not imported. */
  wanted(host: FaceHost): boolean;
  /** Imports the face's module (once; later calls reuse it). */
  load(): Promise<FaceFactory>;
}

export const FACES: readonly FaceSlot[] = [
  {
    name: 'nats',
    wanted: () => true,
    load: async () => (await import('../protocols/nats/face.js')).natsFace,
  },
  {
    name: 'mqtt',
    wanted: (h) => h.options.mqttPort !== -1,
    load: async () => (await import('../protocols/mqtt/face.js')).mqttFace,
  },
  {
    name: 'http',
    wanted: (h) => h.options.httpApiPort >= 0 || hasWebhooks(h),
    load: async () => (await import('../protocols/http/face.js')).httpFace,
  },
  {
    name: 'redis',
    wanted: (h) => h.options.redisPort !== -1,
    load: async () => (await import('../protocols/redis/face.js')).redisFace,
  },
  {
    name: 'kafka',
    wanted: (h) => h.options.kafkaPort !== -1,
    load: async () => (await import('../protocols/kafka/face.js')).kafkaFace,
  },
];

/**
 * Webhooks to run without the HTTP API (the HTTP face runs them): some in
 * the config, or the stream of those created through the API on an earlier
 * run. The same test as the face's `runsWebhooks`, without its imports.
 */
function hasWebhooks(host: FaceHost): boolean {
  if (host.options.webhooks.length > 0) return true;
  const store = storeNames(host.options.name).stream;
  for (const js of host.jetstream?.accounts() ?? []) if (js.streams.has(store)) return true;
  return false;
}
