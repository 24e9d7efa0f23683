/**
 * ApiVersions (key 18): the APIs and versions this broker serves, from the
 * handler table itself, so what is advertised is exactly what is served.
 * A version the broker does not serve is answered by the session (the v0
 * form with UNSUPPORTED_VERSION, as Kafka's KIP-511 broker does), not here.
 */
import type { ApiHandler } from '../api.js';

export const API_VERSIONS_KEY = 18;

export interface ApiVersionsResponse {
  errorCode: number;
  apiKeys: { apiKey: number; minVersion: number; maxVersion: number }[];
  throttleTimeMs: number;
}

export const apiVersionsHandler: ApiHandler<unknown, ApiVersionsResponse> = {
  key: API_VERSIONS_KEY,
  name: 'ApiVersions',
  minVersion: 0,
  maxVersion: 3,
  preAuth: true,
  handle(ctx) {
    return { errorCode: 0, apiKeys: advertised(ctx.shared.modules.values()), throttleTimeMs: 0 };
  },
};

/** Every API of every module, by key. */
export function advertised(
  modules: Iterable<{ readonly handlers: readonly ApiHandler[] }>,
): ApiVersionsResponse['apiKeys'] {
  const keys: ApiVersionsResponse['apiKeys'] = [];
  for (const m of modules) {
    for (const h of m.handlers) {
      keys.push({ apiKey: h.key, minVersion: h.minVersion, maxVersion: h.maxVersion });
    }
  }
  return keys.sort((a, b) => a.apiKey - b.apiKey);
}
