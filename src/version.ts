export const VERSION = '0.1.0';

/**
 * The nats-server release whose client protocol and JetStream API Weft
 * speaks (and is tested against), announced as `version` in INFO and /varz.
 * Clients decide what they may use from it (nats.js: KV from 2.6.2, direct
 * get and the 2.9 consumer-create subjects from 2.9.0, the v3 consumers
 * from 2.9.4), so it is the API level, not Weft's own release; that one is
 * `weft_version`.
 */
export const NATS_API_VERSION = '2.9.10';
