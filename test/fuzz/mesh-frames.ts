/**
 * Shared kit for the mesh frame tests: a recorder that turns FrameParser
 * calls into comparable events, a feeder that reuses one scratch buffer the
 * way a socket reuses its read buffer (and scribbles over it after each feed,
 * so a parser that kept a reference instead of copying shows up as garbage),
 * an encoder for MSG frames built with the link's own writer, and a
 * generator of random valid frames with the events they must produce.
 */
import {
  type Dest,
  encodeControl,
  FrameError,
  type FrameHandler,
  FrameParser,
  FrameType,
  type MsgFrame,
  msgHeadMax,
  writeMsgHead,
} from '../../src/mesh/frames.js';
import type { Rng } from './nats-frames.js';

export type MeshEvent =
  | { kind: 'control'; type: number; body: unknown }
  | {
      kind: 'msg';
      ttl: number;
      account: string;
      subject: string;
      reply: string;
      to: string;
      dests: Dest[];
      headers: string | null;
      payload: string;
    };

/** An event from a MSG frame; bytes as latin1 text so deepEqual shows them. */
export function msgEvent(f: MsgFrame): MeshEvent {
  return {
    kind: 'msg',
    ttl: f.ttl,
    account: f.account,
    subject: f.subject,
    reply: f.reply,
    to: f.to,
    dests: f.dests.map((d) => ({ node: d.node, plain: d.plain, queues: [...d.queues] })),
    headers: f.headers === null ? null : f.headers.toString('latin1'),
    payload: f.payload.toString('latin1'),
  };
}

export function meshRecorder(onMsg?: (f: MsgFrame) => void): {
  handler: FrameHandler;
  events: MeshEvent[];
} {
  const events: MeshEvent[] = [];
  const handler: FrameHandler = {
    onControl: (type, body) => events.push({ kind: 'control', type, body }),
    onMsg: (f) => {
      events.push(msgEvent(f));
      onMsg?.(f);
    },
  };
  return { handler, events };
}

export interface MeshOutcome {
  events: MeshEvent[];
  /** The first error's message, or null. */
  error: string | null;
  /** Events emitted or errors returned after the first error (must be 0). */
  afterError: number;
}

export interface MeshFeedHooks {
  /** Sees the parser after each feed (to inspect what it holds). */
  afterFeed?(parser: FrameParser, result: FrameError | null): void;
}

export function feedMesh(
  chunks: readonly Uint8Array[],
  maxFrame: number,
  hooks: MeshFeedHooks = {},
): MeshOutcome {
  const { handler, events } = meshRecorder();
  const parser = new FrameParser(handler, maxFrame);
  let biggest = 0;
  for (const c of chunks) biggest = Math.max(biggest, c.length);
  const scratch = Buffer.alloc(biggest);
  let error: string | null = null;
  let eventsAtError = 0;
  let afterError = 0;
  for (const c of chunks) {
    scratch.set(c, 0);
    const result = parser.feed(scratch.subarray(0, c.length));
    if (result !== null && !(result instanceof FrameError)) {
      throw new Error(`feed returned ${String(result)}, not a FrameError or null`);
    }
    hooks.afterFeed?.(parser, result);
    scratch.fill(0x7e);
    if (error !== null) {
      if (result !== null) afterError++;
    } else if (result !== null) {
      error = result.message;
      eventsAtError = events.length;
    }
  }
  if (error !== null) afterError += events.length - eventsAtError;
  return { events, error, afterError };
}

/** What a pending (split) frame holds, read from the parser's private state. */
export function pendingBytes(parser: FrameParser): number {
  return (parser as unknown as { pending: Buffer }).pending.length;
}

// --- encoding ------------------------------------------------------------------

export interface MsgSpec {
  ttl: number;
  account: string;
  subject: string;
  reply: string;
  /** '' for a MSG frame, else a MSG_TO. */
  to: string;
  dests: Dest[];
  headers: Buffer | null;
  payload: Buffer;
}

/** A MSG frame written as a link writes it: head into a msgHeadMax buffer, then the bytes. */
export function encodeMsg(m: MsgSpec): Buffer {
  const hlen = m.headers === null ? 0 : m.headers.length;
  const body = hlen + m.payload.length;
  const buf = Buffer.alloc(msgHeadMax(m.account, m.subject, m.reply, m.dests, m.to) + body);
  let at = writeMsgHead(buf, 0, m.ttl, m.account, m.subject, m.reply, m.dests, hlen, body, m.to);
  if (m.headers !== null) at += m.headers.copy(buf, at);
  at += m.payload.copy(buf, at);
  return buf.subarray(0, at);
}

/** The event a MsgSpec must produce (empty headers read back as none). */
export function specEvent(m: MsgSpec): MeshEvent {
  return {
    kind: 'msg',
    ttl: m.ttl,
    account: m.account,
    subject: m.subject,
    reply: m.reply,
    to: m.to,
    dests: m.dests.map((d) => ({ node: d.node, plain: d.plain, queues: [...d.queues] })),
    headers: m.headers === null || m.headers.length === 0 ? null : m.headers.toString('latin1'),
    payload: m.payload.toString('latin1'),
  };
}

/** A frame with a raw length, type and body (for frames the encoders refuse to make). */
export function rawFrame(type: number, body: Uint8Array | string, length?: number): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  const out = Buffer.alloc(5 + b.length);
  out.writeUInt32BE(length ?? 1 + b.length, 0);
  out[4] = type;
  out.set(b, 5);
  return out;
}

// --- generating valid frames -------------------------------------------------

const PIECES = ['a', 'foo', 'bar', 'Z9', '_', '-', 'é', 'ü', '日本', '語', '🚀', 'ß', '$SYS', 'x'];

export function randomText(rng: Rng, maxPieces: number, min = 0): string {
  const n = rng.range(min, maxPieces);
  let s = '';
  for (let i = 0; i < n; i++) s += rng.pick(PIECES);
  return s;
}

function randomSubject(rng: Rng): string {
  const tokens = rng.range(1, 5);
  const out: string[] = [];
  for (let i = 0; i < tokens; i++) out.push(randomText(rng, 3, 1));
  return out.join('.');
}

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

export function randomMsg(rng: Rng): MsgSpec {
  const dests: Dest[] = [];
  const nd = rng.chance(0.1) ? 0 : rng.range(1, 6);
  for (let i = 0; i < nd; i++) {
    const queues: string[] = [];
    const nq = rng.chance(0.5) ? 0 : rng.range(1, 4);
    for (let q = 0; q < nq; q++) queues.push(randomText(rng, 4, 1));
    dests.push({ node: randomText(rng, 4), plain: rng.chance(0.6), queues });
  }
  const hsize = rng.chance(0.6) ? -1 : rng.range(0, 64);
  const psize = rng.chance(0.1) ? rng.range(1000, 40_000) : rng.range(0, 100);
  return {
    ttl: rng.int(256),
    account: randomText(rng, 4),
    subject: randomSubject(rng),
    reply: rng.chance(0.5) ? '' : randomSubject(rng),
    to: rng.chance(0.7) ? '' : randomSubject(rng),
    dests,
    headers: hsize < 0 ? null : randomBytes(rng, hsize),
    payload: randomBytes(rng, psize),
  };
}

/**
 * A run of MSG frames that share fields, as a publisher's stream does: each
 * is the one before with nothing, or one field, changed (the decoder's head,
 * string and destination caches hit and miss in every order).
 */
export function randomRun(rng: Rng): GenFrame[] {
  let m = randomMsg(rng);
  const out: GenFrame[] = [];
  const n = rng.range(2, 12);
  for (let i = 0; i < n; i++) {
    out.push({ wire: encodeMsg(m), event: specEvent(m) });
    const other = randomMsg(rng);
    switch (rng.int(9)) {
      case 0:
        m = { ...m, subject: other.subject };
        break;
      case 1:
        m = { ...m, reply: other.reply };
        break;
      case 2:
        m = { ...m, to: m.to === '' ? other.to || 'x.y' : '' };
        break;
      case 3:
        m = { ...m, dests: other.dests };
        break;
      case 4:
        m = { ...m, account: other.account };
        break;
      case 5:
        m = { ...m, ttl: other.ttl, payload: other.payload, headers: other.headers };
        break;
      case 6:
        // Same lengths, other bytes: a cache must compare bytes, not sizes.
        m = { ...m, subject: m.subject.replace(/a/g, 'b').replace(/x/g, 'a') };
        break;
      default:
        m = { ...m, payload: other.payload };
    }
  }
  return out;
}

function randomJson(rng: Rng, depth: number): unknown {
  switch (rng.int(depth > 2 ? 4 : 6)) {
    case 0:
      return rng.int(1_000_000) - 500;
    case 1:
      return randomText(rng, 5);
    case 2:
      return rng.chance(0.5);
    case 3:
      return null;
    case 4: {
      const a: unknown[] = [];
      const n = rng.int(4);
      for (let i = 0; i < n; i++) a.push(randomJson(rng, depth + 1));
      return a;
    }
    default:
      return randomObject(rng, depth + 1);
  }
}

function randomObject(rng: Rng, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = rng.int(5);
  for (let i = 0; i < n; i++) o[randomText(rng, 2, 1)] = randomJson(rng, depth);
  return o;
}

export interface GenFrame {
  wire: Buffer;
  event: MeshEvent;
}

/** One random valid frame of any type, with the event it must produce. */
export function randomFrame(rng: Rng): GenFrame {
  const kind = rng.int(10);
  if (kind < 4) {
    const m = randomMsg(rng);
    return { wire: encodeMsg(m), event: specEvent(m) };
  }
  if (kind < 6) {
    const type = rng.pick([FrameType.Ping, FrameType.Pong, FrameType.Sync]);
    return { wire: encodeControl(type), event: { kind: 'control', type, body: null } };
  }
  if (kind === 6) {
    const text = randomText(rng, 8);
    return {
      wire: encodeControl(FrameType.Err, text),
      event: { kind: 'control', type: FrameType.Err, body: text },
    };
  }
  const type = rng.pick([FrameType.Hello, FrameType.Auth, FrameType.Lsa, FrameType.Interest]);
  const body = randomObject(rng, 0);
  return { wire: encodeControl(type, body), event: { kind: 'control', type, body } };
}

export function concatFrames(frames: readonly GenFrame[]): {
  wire: Buffer;
  events: MeshEvent[];
} {
  return {
    wire: Buffer.concat(frames.map((f) => f.wire)),
    events: frames.map((f) => f.event),
  };
}
