/**
 * What a setting is (its key, flag, option, kind and bounds) and the limits
 * the settings table and the checks share. The table itself: settings-table.ts
 * (the node and the mesh) and settings-faces.ts (the faces).
 */
import type { ServerOptions } from './options.js';

/** The most worker processes `workers` may ask for (src/workers). */
export const MAX_WORKERS = 64;

/** The largest max_payload allowed (nats-server warns above 8 MiB; a client must not make us allocate more). */
export const MAX_PAYLOAD_LIMIT = 64 * 1024 * 1024;
/** The largest kafka.max_request_bytes: a request is held whole in memory. */
export const KAFKA_MAX_REQUEST_LIMIT = 1024 * 1024 * 1024;
/** Bounds on max_control_line: room for a PUB line, and not a second payload. */
export const MIN_CONTROL_LINE = 64;
export const MAX_CONTROL_LINE_LIMIT = 1024 * 1024;
/** What an MQTT packet may add to its payload (topic, properties): mqtt.max_packet_size is at most max_payload + this. */
export const MQTT_PACKET_HEADROOM = 64 * 1024;
/** The smallest mqtt.max_packet_size: room for a CONNECT with credentials. */
export const MQTT_PACKET_SIZE_MIN = 1024;

type Kind =
  | 'string'
  | 'port'
  | 'size'
  | 'duration'
  | 'count'
  | 'boolean'
  | 'loglevel'
  | 'links'
  | 'secret'
  | 'sync'
  | 'tls'
  | 'origins'
  | 'cors_origins'
  | 'webhooks';

export interface Setting {
  /** Key in the YAML file. */
  readonly file: string;
  /** Long flag name (without --). */
  readonly flag: string;
  readonly short?: string;
  readonly option: keyof ServerOptions;
  readonly kind: Kind;
  readonly help: string;
  /** For ports: the lowest value allowed (-1 disables monitoring). For sizes and counts: the smallest. */
  readonly min?: number;
  /** For sizes and counts: the largest value allowed. */
  readonly max?: number;
  /** Set only in the config file (a block): no command-line flag. */
  readonly fileOnly?: boolean;
}

/** The flag that turns a boolean setting off: `--no-jetstream` for `--jetstream`. */
export function negatedFlag(s: Setting): string {
  return `no-${s.flag}`;
}
