/**
 * What a consumer writes on the wire besides messages: ack reply subjects,
 * pull status messages and dead-letter headers, byte for byte as nats-server
 * 2.9 writes them (clients parse the ack subject by token and match status
 * codes and descriptions).
 */
import { type Message, RangeMessage } from '../core/message.js';

/**
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ns>.<pending>`,
 * the v1 form every client parses.
 */
export function ackSubject(
  stream: string,
  consumer: string,
  deliveries: number,
  sseq: number,
  cseq: number,
  timeMs: number,
  pending: number,
): string {
  return `$JS.ACK.${stream}.${consumer}.${deliveries}.${sseq}.${cseq}.${nsText(timeMs)}.${pending}`;
}

/** A time in ms as the ack subject's ns: by appending zeros, no BigInt per delivery. */
function nsText(timeMs: number): string {
  if (timeMs === 0) return '0';
  if (Number.isSafeInteger(timeMs) && timeMs > 0) return `${timeMs}000000`;
  return String(BigInt(Math.trunc(timeMs)) * 1_000_000n);
}

/**
 * One consumer's ack subjects (`ackSubject`, per delivered message): the
 * constant `$JS.ACK.<stream>.<consumer>.` built once, and the ns text of
 * the last stored time kept (messages stored in the same millisecond
 * share it).
 */
export class AckReplies {
  private readonly prefix: string;
  /** `<prefix><deliveries>.` for the last delivery count (almost always 1). */
  private head: string;
  private headDeliveries = 1;
  /** `.<ns>.` for the last stored time (many messages share a millisecond). */
  private mid = '.0.';
  private lastMs = 0;

  constructor(stream: string, consumer: string) {
    this.prefix = `$JS.ACK.${stream}.${consumer}.`;
    this.head = `${this.prefix}1.`;
  }

  /** Where the numbers start in this consumer's ack subjects. */
  get prefixLength(): number {
    return this.prefix.length;
  }

  /**
   * As `ackSubject`, from two cached pieces: five joins per delivery in
   * place of nine (the reply subject was 3–4 % of a pull consumer's busy
   * time, bench/PROFILE.md "Issue 16 — pull2").
   */
  subject(deliveries: number, sseq: number, cseq: number, timeMs: number, pending: number): string {
    if (deliveries !== this.headDeliveries) {
      this.head = `${this.prefix}${deliveries}.`;
      this.headDeliveries = deliveries;
    }
    if (timeMs !== this.lastMs) {
      this.mid = `.${nsText(timeMs)}.`;
      this.lastMs = timeMs;
    }
    return `${this.head}${sseq}.${cseq}${this.mid}${pending}`;
  }
}

export interface AckRef {
  deliveries: number;
  sseq: number;
  cseq: number;
}

/** The numbers of an ack subject's tail (after `$JS.ACK.<stream>.<consumer>.`), or null. */
export function parseAckTail(tokens: readonly string[]): AckRef | null {
  if (tokens.length < 5) return null;
  const deliveries = Number(tokens[0]);
  const sseq = Number(tokens[1]);
  const cseq = Number(tokens[2]);
  if (!Number.isInteger(deliveries) || !Number.isInteger(sseq) || !Number.isInteger(cseq)) {
    return null;
  }
  return { deliveries, sseq, cseq };
}

/** A decimal integer in s[from, to), or -1. */
function decimal(s: string, from: number, to: number): number {
  if (to <= from || to - from > 15) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/**
 * The numbers of an ack subject whose tail starts at `from` (after
 * `$JS.ACK.<stream>.<consumer>.`), read in place (acks are per message), or null.
 */
export function parseAckAt(subject: string, from: number): AckRef | null {
  const a = subject.indexOf('.', from);
  if (a < 0) return null;
  const b = subject.indexOf('.', a + 1);
  if (b < 0) return null;
  const c = subject.indexOf('.', b + 1);
  if (c < 0 || subject.indexOf('.', c + 1) < 0) return null;
  const deliveries = decimal(subject, from, a);
  const sseq = decimal(subject, a + 1, b);
  const cseq = decimal(subject, b + 1, c);
  if (deliveries < 0 || sseq < 0 || cseq < 0) return null;
  return { deliveries, sseq, cseq };
}

/**
 * The stream sequence of an ack subject whose tail starts at `from`, read
 * in place as `parseAckAt` reads it (no object per ack), or -1 when
 * `parseAckAt` would return null.
 */
export function ackSeqAt(subject: string, from: number): number {
  const a = subject.indexOf('.', from);
  if (a < 0) return -1;
  const b = subject.indexOf('.', a + 1);
  if (b < 0) return -1;
  const c = subject.indexOf('.', b + 1);
  if (c < 0 || subject.indexOf('.', c + 1) < 0) return -1;
  if (decimal(subject, from, a) < 0 || decimal(subject, b + 1, c) < 0) return -1;
  return decimal(subject, a + 1, b);
}

export type AckKind = 'ack' | 'nak' | 'wpi' | 'term' | 'next';

/** Are bytes [start, end) of `buf` an empty body or `+ACK`? (What `parseAck` reads as a plain ack without decoding.) */
export function isPlainAck(buf: Uint8Array, start: number, end: number): boolean {
  const n = end - start;
  return (
    n === 0 ||
    (n === 4 &&
      buf[start] === 0x2b &&
      buf[start + 1] === 0x41 &&
      buf[start + 2] === 0x43 &&
      buf[start + 3] === 0x4b)
  );
}

/**
 * `parseAck` of a message's body: a plain ack published by a client (a
 * `RangeMessage`) is read in its read buffer, with no `Buffer` view per ack.
 */
export function parseAckOf(msg: Message): { kind: AckKind; delayMs: number } | null {
  if (msg instanceof RangeMessage) {
    const start = msg.hstart + Math.max(msg.hlen, 0);
    if (isPlainAck(msg.buf, start, msg.end)) return PLAIN_ACK;
  }
  return parseAck(msg.payload);
}

/** The kind of an ack body and, for `-NAK {"delay": ns}`, the delay in ms. */
const PLAIN_ACK = Object.freeze({ kind: 'ack' as AckKind, delayMs: 0 });

export function parseAck(payload: Buffer): { kind: AckKind; delayMs: number } | null {
  // `+ACK` (or empty), the common case, without decoding.
  if (isPlainAck(payload, 0, payload.length)) return PLAIN_ACK;
  const text = payload.toString('utf8').trim();
  if (text === '' || text === '+ACK') return { kind: 'ack', delayMs: 0 };
  if (text === '+WPI') return { kind: 'wpi', delayMs: 0 };
  if (text.startsWith('+TERM')) return { kind: 'term', delayMs: 0 };
  if (text.startsWith('+NXT')) return { kind: 'next', delayMs: 0 };
  if (text.startsWith('-NAK')) {
    let delayMs = 0;
    const rest = text.slice(4).trim();
    if (rest !== '') {
      try {
        const d = (JSON.parse(rest) as { delay?: unknown }).delay;
        if (typeof d === 'number' && d > 0) delayMs = d / 1_000_000;
      } catch {
        // A malformed delay is a plain NAK, as in nats-server.
      }
    }
    return { kind: 'nak', delayMs };
  }
  return null;
}

export function statusBlock(status: string, headers: Record<string, string | number> = {}): Buffer {
  let s = `NATS/1.0 ${status}\r\n`;
  for (const [k, v] of Object.entries(headers)) s += `${k}: ${v}\r\n`;
  return Buffer.from(`${s}\r\n`, 'latin1');
}

/** The original header lines (without the version line), with `extra` appended. */
export function withHeaders(block: Buffer | null, extra: Record<string, string | number>): Buffer {
  let lines = '';
  if (block !== null && block.length > 0) {
    const text = block.toString('latin1');
    const first = text.indexOf('\r\n');
    if (first >= 0) {
      for (const line of text.slice(first + 2).split('\r\n'))
        if (line !== '') lines += `${line}\r\n`;
    }
  }
  for (const [k, v] of Object.entries(extra)) lines += `${k}: ${v}\r\n`;
  return Buffer.from(`NATS/1.0\r\n${lines}\r\n`, 'latin1');
}

/**
 * `block` with `extra` header lines added before its closing blank line, the
 * original lines (and status line) kept as they are; a `NATS/1.0` block when
 * there was none. As nats-server's genHeader: values are appended, never replaced.
 */
export function appendHeaders(
  block: Buffer | null,
  extra: Record<string, string | number>,
): Buffer {
  let lines = '';
  for (const [k, v] of Object.entries(extra)) lines += `${k}: ${v}\r\n`;
  if (block === null || block.length <= 2) return Buffer.from(`NATS/1.0\r\n${lines}\r\n`, 'latin1');
  return Buffer.concat([
    block.subarray(0, block.length - 2),
    Buffer.from(`${lines}\r\n`, 'latin1'),
  ]);
}

/** The status block of a push flow control request (sent with a `$JS.FC.…` reply subject). */
export const FLOW_CONTROL_REQUEST = Buffer.from(
  'NATS/1.0 100 FlowControl Request\r\n\r\n',
  'latin1',
);

const FC_CHARS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `$JS.FC.<stream>.<consumer>.<4 random characters>`: the reply subject of one flow control request. */
export function flowControlSubject(stream: string, consumer: string): string {
  let tail = '';
  for (let i = 0; i < 4; i++) tail += FC_CHARS[Math.floor(Math.random() * FC_CHARS.length)];
  return `$JS.FC.${stream}.${consumer}.${tail}`;
}

/**
 * A time as Go's RFC 3339 with nanoseconds writes it in UTC (what
 * nats-server puts in `Nats-Time-Stamp`): the fraction without trailing
 * zeros, none at all on a whole second.
 */
export function rfc3339Nano(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac === '' ? 'Z' : `.${frac}Z`));
}
