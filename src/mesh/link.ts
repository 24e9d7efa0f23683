/**
 * A mesh link: one connection to a neighbour node, on the connection base
 * every connection shares (bounded outbound queue, batched writes, named
 * close). It parses frames and hands them to the mesh; the mesh decides.
 */
import type { Socket } from 'node:net';
import type { Congestion } from '../connection/congestion.js';
import { COPY_LIMIT, Connection, type Flusher } from '../connection/connection.js';
import { SlabReader } from '../connection/slab-reader.js';
import { type Message, RangeMessage } from '../core/message.js';
import { CloseReason } from '../errors.js';
import { copyInto } from '../util/bytes.js';
import { AccountSet } from './accounts.js';
import {
  type Dest,
  EncodeError,
  encodeControl,
  type FrameError,
  type FrameHandler,
  FrameParser,
  FrameType,
  HANDSHAKE_MAX_FRAME,
  LINK_MAX_FRAME,
  type MsgFrame,
  msgHeadMax,
  SentHead,
  splitDests,
  writeMsgHead,
} from './frames.js';

export type LinkDirection = 'in' | 'out';
export type LinkState = 'handshake' | 'up' | 'closed';

/** What a link needs from the mesh. */
export interface LinkHost {
  readonly flusher: Flusher;
  readonly congestion: Congestion;
  linkControl(link: Link, type: number, body: unknown): void;
  linkMsg(link: Link, frame: MsgFrame): void;
  linkError(link: Link, err: FrameError): void;
  linkClosed(link: Link): void;
  /** A message this link's format cannot carry was dropped (never thrown). */
  linkUnencodable(link: Link, reason: string, detail: string): void;
}

export interface LinkLimits {
  /** Queued bytes beyond which data frames are dropped (counted). */
  maxPending: number;
}

export class Link extends Connection implements FrameHandler {
  state: LinkState = 'handshake';
  peer = '';
  peerId = '';
  cost: number;
  readonly opened = Date.now();
  upSince = 0;
  lastRecv = Date.now();
  /** When the unanswered PING was sent (0: none out). */
  pingSentAt = 0;
  rttMs = -1;
  droppedMsgs = 0;
  /** The accounts the peer serves (from its handshake): nothing of any other is sent to it. */
  peerAccounts = new AccountSet([]);
  /** Messages not sent because the peer does not serve their account. */
  withheldMsgs = 0;
  /** Accounts the peer serves and this node does not, and the other way round. */
  accountsMissingHere: string[] = [];
  accountsMissingThere: string[] = [];
  /** Frames from the peer naming an account this node does not serve (dropped). */
  foreignMsgs = 0;
  foreignInterest = 0;
  /** Whether a foreign-account frame from this link was logged (once per link). */
  foreignLogged = false;
  /**
   * The last subject and reply from this link found wire-safe (the mesh's
   * `linkMsg` checks each new one once). Per link: a relay between a
   * requester's node and a responder's gets requests and replies in turn,
   * from two links, and a node-wide pair checked every frame there.
   */
  safeSubject = '';
  safeReply = '';
  /**
   * Where the mesh last relayed a frame from this link whole (null: none,
   * or forgotten: `Forwarder.forget` clears it when routes or links
   * change), and that frame's head (`MsgFrame.head`). A frame with the same
   * head — account, subjects, destinations — goes the same way without the
   * mesh's checks and lookups (bench/PROFILE.md, "Issue 16 — meshmid
   * (round 12)"); its TTL is still checked.
   */
  relayTo: Link | null = null;
  private relayHead = -1;
  /** Over `highWater` queued bytes, producers are stalled (see Congestion). */
  congested = false;
  private readonly highWater: number;
  private readonly parser: FrameParser;
  /**
   * Frames relayed from one read and not yet queued: runBuf[runFrom, runTo),
   * as read but for their lowered TTLs (null: none).
   */
  private runBuf: Buffer | null = null;
  private runFrom = 0;
  private runTo = 0;
  /** The run holds a frame of COPY_LIMIT bytes or more: queued by reference, not copied. */
  private runByRef = false;
  /** The last data frame's head, for the next with the same fields. */
  private readonly sent = new SentHead();

  constructor(
    id: number,
    socket: Socket,
    private readonly host: LinkHost,
    readonly direction: LinkDirection,
    cost: number,
    private readonly limits: LinkLimits,
    /** The URL dialled (outbound links). */
    readonly url = '',
  ) {
    // Control frames are never dropped: twice the data bound is the hard
    // limit, past which the link is closed (and resynchronised later).
    super(id, socket, host.flusher, limits.maxPending * 2);
    this.cost = cost;
    this.highWater = Math.max(64 * 1024, limits.maxPending / 8);
    // Until the peer is proven, only small frames: a stranger's word
    // allocates nothing large (see `authenticated`).
    this.parser = new FrameParser(this, HANDSHAKE_MAX_FRAME);
    const reader = SlabReader.of(socket);
    if (reader !== null) reader.attach((buf, n) => this.onData(buf, n));
    else socket.on('data', (chunk: Buffer) => this.onData(chunk, chunk.length));
    socket.on('end', () => this.close(CloseReason.ClientClosed));
    socket.on('close', () => this.close(CloseReason.ClientClosed));
    socket.on('error', () => this.close(CloseReason.ReadError));
  }

  /**
   * Parses a read, buf[0, n); true when nothing refers to its bytes afterwards (the
   * slab reader then reads into them again): no message or view was made
   * of them and every relayed run was copied out (`openRuns`).
   */
  private onData(buf: Buffer, n: number): boolean {
    this.lastRecv = Date.now();
    const frame = this.parser.msg;
    frame.lent = false;
    this.flusher.begin();
    try {
      const err = this.parser.feed(buf, n);
      if (err !== null) this.host.linkError(this, err);
    } finally {
      this.flusher.end();
    }
    return !frame.lent && openRuns === 0;
  }

  /** The peer is proven: frames up to LINK_MAX_FRAME, data and control flow. */
  authenticated(): void {
    this.state = 'up';
    this.parser.maxFrame = LINK_MAX_FRAME;
  }

  onControl(type: number, body: unknown): void {
    if (this.closed) return;
    // Before authentication, the mesh sees every frame (and refuses all but the handshake).
    if (this.state !== 'up') {
      this.host.linkControl(this, type, body);
      return;
    }
    if (type === FrameType.Pong) {
      // Both ends PING every heartbeat; a PONG may answer one already timed.
      if (this.pingSentAt > 0) this.rttMs = Date.now() - this.pingSentAt;
      this.pingSentAt = 0;
      return;
    }
    if (type === FrameType.Ping) {
      this.sendControl(PONG_FRAME);
      return;
    }
    this.host.linkControl(this, type, body);
  }

  onMsg(frame: MsgFrame): void {
    if (this.closed) return;
    if (this.state !== 'up') {
      this.host.linkControl(this, frame.to === '' ? FrameType.Msg : FrameType.MsgTo, null);
      return;
    }
    this.inMsgs++;
    this.inBytes += frame.size;
    const to = this.relayTo;
    if (to !== null && frame.head === this.relayHead && frame.ttl > 1 && !to.closed) {
      to.relayMsg(frame, frame.ttl - 1);
      return;
    }
    this.host.linkMsg(this, frame);
  }

  /** The mesh relayed this link's frame with head `head` whole to `to`: the same head goes there too. */
  relaysTo(to: Link, head: number): void {
    this.relayTo = to;
    this.relayHead = head;
  }

  sendControl(frame: Buffer): void {
    if (this.closed) return;
    if (this.runBuf !== null) this.endRun();
    this.queueBytes(frame);
  }

  /** Sends a PING for liveness and RTT (one out at a time). */
  ping(now: number): void {
    if (this.pingSentAt === 0) this.pingSentAt = now;
    this.sendControl(PING_FRAME);
  }

  /**
   * `sendMsg` for a core message. A small `RangeMessage` (a client's
   * publish) to one destination without groups, whose head repeats the last
   * frame's, is copied from the range it was read in: no Buffer view per
   * message (bench/PROFILE.md, "Issue 16 — deliver").
   */
  sendMessage(ttl: number, account: string, dests: readonly Dest[], msg: Message): boolean {
    const to = msg.to ?? '';
    if (
      msg instanceof RangeMessage &&
      dests.length === 1 &&
      dests[0].queues.length === 0 &&
      msg.end - msg.hstart < COPY_LIMIT &&
      !this.closed &&
      this.peerAccounts.has(account)
    ) {
      const n = this.sent.size(ttl, account, msg.subject, msg.reply, dests[0], to);
      if (n > 0) {
        if (this.runBuf !== null) this.endRun();
        const body = msg.end - msg.hstart;
        const pending = this.pendingBytes;
        if (pending + body > this.limits.maxPending) {
          this.droppedMsgs++;
          return false;
        }
        const chunk = this.reserve(n + body);
        let at = this.sent.writeView(
          chunk,
          this.chunkView,
          this.writePos,
          Math.max(msg.hlen, 0),
          body,
        );
        const src = msg.buf;
        const end = msg.end;
        if (body <= 64) for (let i = msg.hstart; i < end; i++) chunk[at++] = src[i];
        else {
          // A plain Uint8Array view: Buffer#subarray costs ~35 ns more per
          // copy (its species constructor), 4 % of a 1 KiB sender's time.
          chunk.set(new Uint8Array(src.buffer, src.byteOffset + msg.hstart, body), at);
          at += body;
        }
        this.commit(at);
        return this.sentOne(pending, n + body, body);
      }
    }
    return this.sendMsg(ttl, account, msg.subject, msg.reply, dests, msg.headers, msg.payload, to);
  }

  /**
   * Queues a data frame (several when the destinations do not fit one);
   * false when it was dropped: the link is over its pending bound (core
   * pub/sub is at-most-once), or the format cannot carry it (counted and
   * reported to the host). Never throws: encoding for one link must not
   * take the process down.
   */
  sendMsg(
    ttl: number,
    account: string,
    subject: string,
    reply: string,
    dests: readonly Dest[],
    headers: Buffer | null,
    payload: Buffer,
    to = '',
  ): boolean {
    if (this.closed) return false;
    if (!this.peerAccounts.has(account)) {
      this.withheldMsgs++;
      return false;
    }
    if (this.runBuf !== null) this.endRun();
    try {
      const parts = dests.length === 1 && dests[0].queues.length === 0 ? null : splitDests(dests);
      if (parts === null)
        return this.sendOne(ttl, account, subject, reply, dests, headers, payload, to);
      let all = true;
      for (const p of parts) {
        all = this.sendOne(ttl, account, subject, reply, p, headers, payload, to) && all;
      }
      return all;
    } catch (err) {
      const e = err as Error;
      this.host.linkUnencodable(this, err instanceof EncodeError ? err.reason : 'error', e.message);
      return false;
    }
  }

  private sendOne(
    ttl: number,
    account: string,
    subject: string,
    reply: string,
    dests: readonly Dest[],
    headers: Buffer | null,
    payload: Buffer,
    to: string,
  ): boolean {
    const hlen = headers === null ? 0 : headers.length;
    const body = hlen + payload.length;
    const pending = this.pendingBytes;
    if (pending + body > this.limits.maxPending) {
      this.droppedMsgs++;
      return false;
    }
    // One destination without groups, as the last frame: its head is copied.
    const one = dests.length === 1 && dests[0].queues.length === 0 ? dests[0] : null;
    if (one !== null && body < COPY_LIMIT) {
      const n = this.sent.size(ttl, account, subject, reply, one, to);
      if (n > 0) {
        const chunk = this.reserve(n + body);
        let at = this.sent.writeView(chunk, this.chunkView, this.writePos, hlen, body);
        if (headers !== null) at = copyInto(headers, chunk, at);
        at = copyInto(payload, chunk, at);
        this.commit(at);
        return this.sentOne(pending, n + body, body);
      }
    }
    const max = msgHeadMax(account, subject, reply, dests, to);
    if (max + body > LINK_MAX_FRAME) {
      throw new EncodeError(
        'too_large',
        `a message of ${max + body} bytes (at most) exceeds the link frame limit of ${LINK_MAX_FRAME}`,
      );
    }
    if (body < COPY_LIMIT) {
      const chunk = this.reserve(max + body);
      const start = this.writePos;
      let at = writeMsgHead(chunk, start, ttl, account, subject, reply, dests, hlen, body, to);
      if (one !== null) this.sent.keep(chunk, start, at, ttl, account, subject, reply, one, to);
      if (headers !== null) at = copyInto(headers, chunk, at);
      at = copyInto(payload, chunk, at);
      this.commit(at);
    } else {
      const chunk = this.reserve(max);
      this.commit(
        writeMsgHead(chunk, this.writePos, ttl, account, subject, reply, dests, hlen, body, to),
      );
      if (headers !== null) this.queueRef(headers);
      this.queueRef(payload);
      this.commit(this.writePos);
    }
    return this.sentOne(pending, max + body, body);
  }

  /** Counts a data frame of `frame` bytes (`body` of them headers and payload) queued. */
  private sentOne(pending: number, frame: number, body: number): boolean {
    this.outMsgs++;
    this.outBytes += body;
    if (!this.congested && pending + frame > this.highWater) {
      this.congested = true;
      this.host.congestion.enter(this);
    }
    return true;
  }

  /**
   * Relays a received MSG frame as it came, with one hop less: no decoding
   * or encoding on a node the message only passes through, and nothing
   * allocated. The frame's TTL is lowered in the bytes read and the frame
   * joins a run of frames relayed from the same read, queued by reference
   * as one piece (`endRun`); a frame not whole in one read is copied.
   */
  relayMsg(frame: MsgFrame, ttl: number): boolean {
    if (this.closed) return false;
    if (!this.peerAccounts.has(frame.account)) {
      this.withheldMsgs++;
      return false;
    }
    const body = frame.size;
    const pending = this.pendingBytes + (this.runTo - this.runFrom);
    if (pending + body > this.limits.maxPending) {
      this.droppedMsgs++;
      return false;
    }
    const buf = frame.buf;
    const n = frame.end - frame.start;
    // The frame's length and type just before its body, in the same buffer.
    const from = frame.start - 5;
    if (from >= 0 && u32(buf, from) === n + 1) {
      buf[frame.start] = ttl;
      // A large frame's run goes by reference: the read is kept.
      if (n >= COPY_LIMIT) frame.lent = true;
      if (this.runBuf === buf && this.runTo === from) {
        this.runTo = frame.end;
        if (n >= COPY_LIMIT) this.runByRef = true;
      } else {
        if (this.runBuf !== null) this.endRun();
        this.runBuf = buf;
        this.runFrom = from;
        this.runTo = frame.end;
        this.runByRef = n >= COPY_LIMIT;
        openRuns++;
        // Marks the link for the flusher (which ends the run first).
        this.commit(this.writePos);
      }
    } else {
      if (this.runBuf !== null) this.endRun();
      try {
        const chunk = this.reserve(n + 5);
        let at = this.writePos;
        chunk.writeUInt32BE(n + 1, at);
        chunk[at + 4] = frame.to === '' ? FrameType.Msg : FrameType.MsgTo;
        chunk[at + 5] = ttl;
        at = copyRange(buf, frame.start + 1, frame.end, chunk, at + 6);
        this.commit(at);
      } catch (err) {
        this.host.linkUnencodable(this, 'error', (err as Error).message);
        return false;
      }
    }
    this.outMsgs++;
    this.outBytes += body;
    if (!this.congested && pending + n + 5 > this.highWater) {
      this.congested = true;
      this.host.congestion.enter(this);
    }
    return true;
  }

  /**
   * Queues the run of relayed frames (before anything else is queued, and
   * at each flush): copied into the link's chunk, so the read can be read
   * into again (slab-reader.ts: no slab per two reads, no major GCs by
   * external memory at a relay); with a large frame in it, by reference.
   */
  private endRun(): void {
    const buf = this.runBuf;
    if (buf === null) return;
    this.runBuf = null;
    openRuns--;
    const from = this.runFrom;
    const to = this.runTo;
    this.runFrom = 0;
    this.runTo = 0;
    if (this.runByRef) {
      // The whole read (one frame per read at low rates) goes as it is.
      this.queueRef(from === 0 && to === buf.length ? buf : buf.subarray(from, to));
      this.commit(this.writePos);
      return;
    }
    const chunk = this.reserve(to - from);
    this.commit(copyRange(buf, from, to, chunk, this.writePos));
  }

  override flush(final = false): void {
    if (this.runBuf !== null) this.endRun();
    super.flush(final);
  }

  /** Leaves the congested state once the queue is below half its high-water mark. */
  checkCongestion(): void {
    if (this.congested && (this.closed || this.pendingBytes < this.highWater / 2)) {
      this.congested = false;
      this.host.congestion.leave(this);
    }
  }

  protected override onDrained(): void {
    this.checkCongestion();
  }

  protected onSlowConsumer(): void {
    this.close(CloseReason.LinkSlow, true);
  }

  /** Refuses the peer: an ERR frame with the reason, then close. */
  refuse(reason: string): void {
    this.sendControl(encodeControl(FrameType.Err, reason));
    this.close(CloseReason.LinkRefused);
  }

  close(reason: CloseReason, abort = false): void {
    if (this.closed) return;
    this.closeReason = reason;
    this.state = 'closed';
    this.parser.stop();
    if (abort || this.socket.destroyed) {
      if (this.runBuf !== null) openRuns--;
      this.runBuf = null;
      this.discardQueued();
      this.socket.destroy();
    } else {
      this.flush(true);
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 2000).unref();
    }
    this.checkCongestion();
    this.host.linkClosed(this);
  }
}

/**
 * Links of this process holding a relayed run not yet queued (`Link.runBuf`):
 * a read is free only once none does (every run ends in the flush after
 * the read, and runs copy their bytes out).
 */
let openRuns = 0;

/** The big-endian u32 at b[at] (the caller knows the 4 bytes are there). */
function u32(b: Buffer, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/** Copies src[from, to) into `dst` at `at` (a loop when short: Buffer.copy costs more below ~512 B); returns the new offset. */
function copyRange(src: Buffer, from: number, to: number, dst: Buffer, at: number): number {
  const n = to - from;
  if (n <= 512) for (let i = 0; i < n; i++) dst[at + i] = src[from + i];
  else src.copy(dst, at, from, to);
  return at + n;
}

const PING_FRAME = encodeControl(FrameType.Ping);
const PONG_FRAME = encodeControl(FrameType.Pong);
