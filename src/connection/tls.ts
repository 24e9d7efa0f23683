/**
 * TLS for a listener or a dialer: nats-server's `tls` block, checked at
 * start with errors that name the key, and the files it names loaded into a
 * SecureContext that a SIGHUP reloads (connections already established keep
 * the context they shook hands with; new ones get the new one).
 */
import { readFileSync } from 'node:fs';
import type { SecureContext, SecureContextOptions } from 'node:tls';
import type { TlsConfig } from '../auth/types.js';
import { ConfigError } from '../errors.js';
import { lazyModule } from '../util/lazy-module.js';

/** node:tls (with OpenSSL's TLS side, ~1.2 MB resident) loads when a node first uses TLS. */
export const nodeTls = lazyModule<typeof import('node:tls')>('node:tls');

/** nats-server's default TLS handshake timeout (0.5 s is its default; Weft allows 2 s). */
export const TLS_TIMEOUT_DEFAULT_MS = 2000;
/** The oldest protocol accepted, as nats-server. */
export const TLS_MIN_VERSION = 'TLSv1.2';

/**
 * Node's default suites, with TLS 1.3's AES-128-GCM first: what nats-server
 * (Go) negotiates on AES-capable CPUs, and cheaper per byte than Node's
 * first choice, AES-256-GCM. Nothing is added to or removed from the list.
 */
export function tlsCiphers(): string {
  return [
    'TLS_AES_128_GCM_SHA256',
    ...nodeTls()
      .DEFAULT_CIPHERS.split(':')
      .filter((c) => c !== 'TLS_AES_128_GCM_SHA256'),
  ].join(':');
}

const KEYS = ['cert_file', 'key_file', 'ca_file', 'verify', 'verify_and_map', 'timeout'];

/** Reads a `tls` block (YAML or nats-server format) at `key` into a TlsConfig. */
export function parseTlsBlock(key: string, value: unknown): TlsConfig {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(
      key,
      `must be a block with cert_file and key_file, got ${JSON.stringify(value)}`,
    );
  }
  const v = value as Record<string, unknown>;
  const unknown = Object.keys(v).filter((k) => !KEYS.includes(k));
  if (unknown.length > 0) {
    throw new ConfigError(
      `${key}.${unknown[0]}`,
      `not supported (${key} takes ${KEYS.join(', ')}); unsupported: ${unknown.join(', ')}`,
    );
  }
  const file = (k: string, required: boolean): string => {
    const f = v[k];
    if (f === undefined && !required) return '';
    if (typeof f !== 'string' || f === '') {
      throw new ConfigError(`${key}.${k}`, `must be a file path, got ${JSON.stringify(f)}`);
    }
    return f;
  };
  const bool = (k: string): boolean => {
    const b = v[k];
    if (b === undefined) return false;
    if (typeof b !== 'boolean')
      throw new ConfigError(`${key}.${k}`, `must be true or false, got ${JSON.stringify(b)}`);
    return b;
  };
  let timeoutMs = TLS_TIMEOUT_DEFAULT_MS;
  if (v.timeout !== undefined) {
    const t = v.timeout;
    const secs =
      typeof t === 'number'
        ? t
        : typeof t === 'string' && /^\d+(\.\d+)?s?$/.test(t)
          ? Number.parseFloat(t)
          : Number.NaN;
    if (!(secs > 0 && secs <= 600)) {
      throw new ConfigError(
        `${key}.timeout`,
        `must be a number of seconds from 0 to 600, got ${JSON.stringify(t)}`,
      );
    }
    timeoutMs = Math.round(secs * 1000);
  }
  const verifyAndMap = bool('verify_and_map');
  const config: TlsConfig = {
    certFile: file('cert_file', true),
    keyFile: file('key_file', true),
    caFile: file('ca_file', false),
    verify: bool('verify') || verifyAndMap,
    verifyAndMap,
    timeoutMs,
  };
  if (config.verify && config.caFile === '') {
    throw new ConfigError(
      `${key}.ca_file`,
      'is required with verify (the CA that signs client certificates)',
    );
  }
  // Read now: a missing or bad file stops the start with its key named.
  loadSecureContext(key, config);
  return config;
}

/** The files of `config` as a SecureContext; a ConfigError names the key of a file that cannot be used. */
export function loadSecureContext(key: string, config: TlsConfig): SecureContext {
  return loadTls(key, config).context;
}

/**
 * The files of `config` read, as options for a `tls.Server` or an
 * `https.Server` (their `setSecureContext` takes these, not a SecureContext),
 * and the SecureContext made of them (which proves them usable).
 */
function loadTls(
  key: string,
  config: TlsConfig,
): { context: SecureContext; options: SecureContextOptions } {
  const read = (k: string, f: string): Buffer => {
    try {
      return readFileSync(f);
    } catch (err) {
      throw new ConfigError(`${key}.${k}`, `cannot read ${f}: ${(err as Error).message}`);
    }
  };
  const cert = read('cert_file', config.certFile);
  const keyPem = read('key_file', config.keyFile);
  const ca = config.caFile === '' ? undefined : read('ca_file', config.caFile);
  const options: SecureContextOptions = {
    cert,
    key: keyPem,
    ca,
    minVersion: TLS_MIN_VERSION,
    ciphers: tlsCiphers(),
  };
  try {
    return { context: nodeTls().createSecureContext(options), options };
  } catch (err) {
    throw new ConfigError(key, `cannot use cert_file/key_file/ca_file: ${(err as Error).message}`);
  }
}

/**
 * A listener's or dialer's TLS: the current SecureContext, replaced by
 * `reload()` (SIGHUP). A reload that fails keeps the old context and
 * throws, so a bad file on disk never takes TLS away.
 */
export class TlsFiles {
  private ctx: SecureContext;
  private opts: SecureContextOptions;
  /** Successful reloads. */
  reloads = 0;

  constructor(
    readonly key: string,
    private config: TlsConfig,
  ) {
    ({ context: this.ctx, options: this.opts } = loadTls(key, config));
  }

  get settings(): TlsConfig {
    return this.config;
  }

  get context(): SecureContext {
    return this.ctx;
  }

  /** The same files as options (cert, key, ca, minVersion), for `tls.Server#setSecureContext`. */
  get secureOptions(): SecureContextOptions {
    return this.opts;
  }

  reload(config: TlsConfig = this.config): void {
    ({ context: this.ctx, options: this.opts } = loadTls(this.key, config));
    this.config = config;
    this.reloads++;
  }
}
