/**
 * The few client → server frames the load generator sends, pre-encoded.
 * Everything the hot loops write is built here once, before the clock starts.
 */

export const CONNECT_OPTIONS = {
  verbose: false,
  pedantic: false,
  headers: true,
  no_responders: true,
  protocol: 1,
};

export const PING = Buffer.from('PING\r\n');
export const PONG = Buffer.from('PONG\r\n');

/** CONNECT followed by PING: the server's PONG says the connection is ready. */
export function connectFrame(name: string, addr?: ServerAddress): Buffer {
  const opts = {
    ...CONNECT_OPTIONS,
    name,
    lang: 'weft-bench',
    version: '1',
    ...(addr?.user === undefined ? {} : { user: addr.user, pass: addr.pass ?? '' }),
  };
  return Buffer.from(`CONNECT ${JSON.stringify(opts)}\r\nPING\r\n`);
}

export function subFrame(subject: string, sid: number, queue?: string): Buffer {
  return Buffer.from(queue ? `SUB ${subject} ${queue} ${sid}\r\n` : `SUB ${subject} ${sid}\r\n`);
}

/** Bytes of one `PUB subject [reply] size\r\n<payload>\r\n` frame. */
export function pubFrameLength(subject: string, size: number, reply?: string): number {
  return pubHeader(subject, size, reply).length + size + 2;
}

function pubHeader(subject: string, size: number, reply?: string): Buffer {
  return Buffer.from(reply ? `PUB ${subject} ${reply} ${size}\r\n` : `PUB ${subject} ${size}\r\n`);
}

/** A latency-stamped payload: this marker byte, then the send time (ns) as a u64 LE. */
export const STAMP_MARK = 0x54; // 'T'
export const STAMP_BYTES = 9;

/** Payload filler: printable, so a captured stream stays readable. */
const FILL = 0x78; // 'x'

/**
 * `count` PUB frames back to back in one Buffer, written with one `write()`.
 * The payload of each frame starts at `payloadOffset + i * frameLength`.
 */
export interface PubBatch {
  buf: Buffer;
  count: number;
  frameLength: number;
  payloadOffset: number;
}

export function pubBatch(subject: string, size: number, count: number, reply?: string): PubBatch {
  const header = pubHeader(subject, size, reply);
  const frameLength = header.length + size + 2;
  const buf = Buffer.allocUnsafe(frameLength * count);
  for (let i = 0; i < count; i++) {
    const at = i * frameLength;
    header.copy(buf, at);
    buf.fill(FILL, at + header.length, at + header.length + size);
    buf[at + frameLength - 2] = 13;
    buf[at + frameLength - 1] = 10;
  }
  return { buf, count, frameLength, payloadOffset: header.length };
}

/** Messages per batch so that a batch is about `targetBytes` long (at least one). */
export function batchCount(frameLength: number, targetBytes = 128 * 1024): number {
  return Math.max(1, Math.floor(targetBytes / frameLength));
}

export interface ServerAddress {
  host: string;
  port: number;
  /** CONNECT's user and password (from `nats://user:pass@host:port`). */
  user?: string;
  pass?: string;
  /**
   * TLS: the CA file that signs the server's certificate. The connection
   * reads INFO in clear, then starts the handshake, as the NATS clients do.
   */
  caFile?: string;
  /** NATS over WebSocket (`ws://host:port`): the server's websocket listener, path `/`. */
  ws?: boolean;
}

/**
 * Parses `nats://[user:pass@]host:port`, `host:port` or `host`; the port
 * defaults to 4222. `tls://host:port?ca=FILE` connects with TLS, trusting
 * FILE's CA; `ws://host:port` speaks NATS over WebSocket (ws-socket.ts).
 */
export function parseServerUrl(text: string): ServerAddress {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `nats://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`bad server URL ${JSON.stringify(text)}: expected nats://host:port`);
  }
  if (!['nats:', 'tcp:', 'tls:', 'ws:'].includes(url.protocol)) {
    throw new Error(
      `bad server URL ${JSON.stringify(text)}: only nats://, tls:// and ws:// are supported`,
    );
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const port = url.port === '' ? 4222 : Number(url.port);
  const out: ServerAddress = { host, port };
  if (url.username !== '') {
    out.user = decodeURIComponent(url.username);
    out.pass = decodeURIComponent(url.password);
  }
  if (url.protocol === 'ws:') out.ws = true;
  if (url.protocol !== 'tls:') return out;
  const caFile = url.searchParams.get('ca');
  if (caFile === null || caFile === '') {
    throw new Error(`bad server URL ${JSON.stringify(text)}: tls:// needs ?ca=FILE`);
  }
  out.caFile = caFile;
  return out;
}

/** Subjects private to one run, so concurrent runs against a server never mix. */
export function runSubject(workload: string): string {
  return `weft.bench.${workload}.${process.pid}.${Math.random().toString(36).slice(2, 10)}`;
}
