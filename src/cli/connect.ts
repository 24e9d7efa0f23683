/**
 * What the client commands (pub, sub, req, reply) share: choosing and dialling
 * the server, building headers, reading stdin, printing messages, and waiting
 * for Ctrl-C. The commands talk to servers with the official `nats` client, so
 * they work the same against Weft and nats-server.
 */
import { connect, type MsgHdrs, type NatsConnection, headers as newHeaders } from 'nats';
import { CliError, UsageError } from './args.js';

export const DEFAULT_SERVER = 'nats://127.0.0.1:4222';

/** Options every client command accepts. */
export const CLIENT_OPTIONS = {
  server: { type: 'string', short: 's' },
} as const;

export const CLIENT_HELP = `  -s, --server URL    server to connect to (default: $NATS_URL, else ${DEFAULT_SERVER});
                      several may be given, comma separated
  -h, --help          show this help`;

/** The server URL(s) from `--server`, else $NATS_URL, else the default. */
export function serverUrl(flag: string | undefined): string {
  const url = (flag ?? process.env['NATS_URL'] ?? '').trim();
  const chosen = url === '' ? DEFAULT_SERVER : url;
  for (const one of chosen.split(',')) {
    const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(one.trim());
    if (m !== null && !['nats', 'tls'].includes(m[1]!.toLowerCase())) {
      throw new UsageError(
        `unsupported URL scheme in ${JSON.stringify(one)} (use nats:// or tls://)`,
      );
    }
  }
  return chosen;
}

/** The URL as safe to print: any password replaced by `***`. */
export function displayUrl(url: string): string {
  return url.replace(/(\/\/[^:@/]*):[^@/]*@/g, '$1:***@');
}

export interface Connected {
  nc: NatsConnection;
  /** Resolves (never rejects) once the connection is closed for good. */
  closed: Promise<Error | undefined>;
  /** Asynchronous errors the server reported (e.g. permissions violations). */
  errors: Error[];
}

/** Dials the server; an unreachable one becomes a one-line CliError naming the URL. */
export async function dial(url: string, name: string): Promise<Connected> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: url.split(',').map((s) => s.trim()),
      name,
      timeout: 5000,
      // A CLI run is short; after a drop, try for ~10s then give up with an error.
      maxReconnectAttempts: 5,
      reconnectTimeWait: 2000,
    });
  } catch (err) {
    throw new CliError(`cannot connect to ${displayUrl(url)}: ${describeConnectError(err)}`);
  }
  const errors: Error[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'error') {
        // data is the client's error code; permission errors carry what was denied.
        const ctx = s.permissionContext;
        const e = new Error(
          ctx === undefined
            ? `server error: ${String(s.data)}`
            : `permissions violation: may not ${ctx.operation} ${JSON.stringify(ctx.subject)}`,
        );
        errors.push(e);
        process.stderr.write(`${e.message}\n`);
      } else if (s.type === 'disconnect') {
        process.stderr.write(`disconnected from ${displayUrl(String(s.data))}, reconnecting\n`);
      } else if (s.type === 'reconnect') {
        process.stderr.write(`reconnected to ${displayUrl(String(s.data))}\n`);
      }
    }
  })();
  const closed = nc.closed().then((err) => err ?? undefined);
  return { nc, closed, errors };
}

/** A connection error as a few words (`connection refused`), not a code. */
export function describeConnectError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'CONNECTION_REFUSED':
      return 'connection refused';
    case 'CONNECTION_TIMEOUT':
    case 'TIMEOUT':
      return 'timed out';
    case 'ENOTFOUND':
      return 'host not found';
    case 'ERR_INVALID_URL':
      return 'invalid URL';
    default:
      return err.message;
  }
}

/** Subjects can't be empty or contain whitespace, and have no empty tokens. */
export function checkSubject(what: string, subject: string, wildcards: boolean): string {
  const bad = (why: string) => new UsageError(`invalid ${what} ${JSON.stringify(subject)}: ${why}`);
  if (subject === '') throw bad('empty');
  if (/\s/.test(subject)) throw bad('contains whitespace');
  const tokens = subject.split('.');
  if (tokens.some((t) => t === '')) throw bad('empty token');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === '*' || t === '>') {
      if (!wildcards) throw bad('wildcards are not allowed here');
      if (t === '>' && i !== tokens.length - 1) throw bad("'>' must be the last token");
    }
  }
  return subject;
}

/** Queue group names are single tokens: no whitespace. */
export function checkQueue(queue: string): string {
  if (queue === '' || /\s/.test(queue)) {
    throw new UsageError(`invalid queue group ${JSON.stringify(queue)}`);
  }
  return queue;
}

/** Builds headers from repeated `-H Key:Value` flags; a key may repeat. */
export function parseHeaders(items: string[] | undefined): MsgHdrs | undefined {
  if (items === undefined || items.length === 0) return undefined;
  const h = newHeaders();
  for (const item of items) {
    const colon = item.indexOf(':');
    const key = colon < 0 ? '' : item.slice(0, colon).trim();
    if (colon < 0 || key === '') {
      throw new UsageError(`--header expects Key:Value, got ${JSON.stringify(item)}`);
    }
    // Header names are HTTP tokens: no spaces, controls or separators.
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) {
      throw new UsageError(`invalid header name ${JSON.stringify(key)}`);
    }
    const value = item.slice(colon + 1).trim();
    if (/[\r\n]/.test(value)) throw new UsageError(`header ${key} has a line break in its value`);
    h.append(key, value);
  }
  return h;
}

/** Replaces `{{count}}` with `n` in a payload without decoding it (binary-safe). */
export function expandCount(data: Uint8Array, n: number): Uint8Array {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.indexOf(COUNT_TOKEN) < 0) return data;
  const parts: Buffer[] = [];
  const num = Buffer.from(String(n));
  let from = 0;
  for (let at = buf.indexOf(COUNT_TOKEN); at >= 0; at = buf.indexOf(COUNT_TOKEN, from)) {
    parts.push(buf.subarray(from, at), num);
    from = at + COUNT_TOKEN.length;
  }
  parts.push(buf.subarray(from));
  return Buffer.concat(parts);
}

const COUNT_TOKEN = Buffer.from('{{count}}');

export function hasCountToken(data: Uint8Array): boolean {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).indexOf(COUNT_TOKEN) >= 0;
}

/** Copies headers, expanding `{{count}}` in values. */
export function expandHeaders(h: MsgHdrs | undefined, n: number): MsgHdrs | undefined {
  if (h === undefined) return undefined;
  const out = newHeaders();
  for (const [k, vs] of h) {
    for (const v of vs) out.append(k, v.replaceAll('{{count}}', String(n)));
  }
  return out;
}

/**
 * The payload from the DATA argument, or stdin when DATA is omitted and stdin
 * is not a terminal (`echo hi | weft pub foo`). Otherwise empty.
 */
export async function payloadFrom(data: string | undefined): Promise<Uint8Array> {
  if (data !== undefined) return Buffer.from(data);
  if (process.stdin.isTTY) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Writes to stdout, waiting when the pipe is full so memory stays bounded. */
export function out(data: string | Uint8Array): Promise<void> | undefined {
  if (process.stdout.write(data)) return undefined;
  return new Promise((resolve) => process.stdout.once('drain', resolve));
}

/** One message as `[#n] subject (reply) size bytes`, headers, blank line, data. */
export function formatMessage(
  n: number,
  m: { subject: string; reply?: string; headers?: MsgHdrs; data: Uint8Array },
): Uint8Array {
  const reply = m.reply ? ` (${m.reply})` : '';
  const lines = [`[#${n}] ${m.subject}${reply} ${m.data.length} bytes\n`];
  lines.push(formatHeaders(m.headers));
  const data = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  const tail = data.length === 0 || data[data.length - 1] === 0x0a ? '\n' : '\n\n';
  return Buffer.concat([Buffer.from(lines.join('')), data, Buffer.from(tail)]);
}

/** Headers as `Key: Value` lines (a status line first, if any) and a blank line; '' if none. */
export function formatHeaders(h: MsgHdrs | undefined): string {
  if (h === undefined) return '';
  const lines: string[] = [];
  if (h.code > 0) lines.push(`NATS/1.0 ${h.code}${h.description ? ` ${h.description}` : ''}`);
  for (const [k, vs] of h) for (const v of vs) lines.push(`${k}: ${v}`);
  if (lines.length === 0) return '';
  return lines.join('\n') + '\n\n';
}

/** Resolves on the first SIGINT or SIGTERM, then restores default handling. */
export function interrupted(): { promise: Promise<string>; dispose: () => void } {
  let onSignal: (s: NodeJS.Signals) => void = () => {};
  const promise = new Promise<string>((resolve) => {
    onSignal = (s) => resolve(s);
  });
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const dispose = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  return { promise, dispose };
}

/** `1 message`, `2 messages`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
