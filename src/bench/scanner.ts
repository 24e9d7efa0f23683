/**
 * A minimal client-side NATS frame scanner for the load generator.
 *
 * It counts MSG/HMSG frames by scanning bytes and never allocates per message:
 * a payload that lies wholly inside a chunk is skipped by arithmetic, a payload
 * split across chunks is skipped by a byte countdown, and only a control line
 * split across chunks is copied (into one reused carry buffer). That keeps the
 * cost per message a few byte comparisons, so the subscriber side of a
 * benchmark is never the bottleneck.
 *
 * Server → client verbs handled: INFO, MSG, HMSG, PING, PONG, +OK, -ERR.
 * The optional `onMsg` hook sees each whole message (control line and payload)
 * for the few workloads that need the bytes (request-reply, latency samples);
 * payloads split across chunks are then assembled in a reused scratch buffer.
 */

/** Sees one whole message: its control line `[ls, le)` and payload `[ps, pe)`. */
export type MsgHook = (
  line: Buffer,
  ls: number,
  le: number,
  payload: Buffer,
  ps: number,
  pe: number,
) => void;

const LF = 10;
const CR = 13;
/** ASCII letters to upper case; other bytes pass (`&` would break digits). */
const UP = 0xdf;
/** A control line longer than this is a protocol error (INFO can be large). */
const MAX_LINE = 1024 * 1024;

export class FrameScanner {
  /** MSG + HMSG frames fully received. */
  msgs = 0;
  /** Payload bytes (headers included for HMSG) of the frames counted in `msgs`. */
  payloadBytes = 0;
  pings = 0;
  pongs = 0;
  oks = 0;
  errs = 0;
  infos = 0;

  onPing: (() => void) | null = null;
  onPong: (() => void) | null = null;
  onErr: ((text: string) => void) | null = null;
  onInfo: ((json: string) => void) | null = null;
  /** A line no server sends; the scanner cannot resynchronise after it. */
  onProtocolError: ((text: string) => void) | null = null;
  onMsg: MsgHook | null = null;

  /** Partial control line carried over from the previous chunk. */
  private carry: Buffer = Buffer.alloc(0);
  private carryLen = 0;
  /** Bytes of the current frame (payload + CRLF) still to come. */
  private skip = 0;
  /** Payload size of the frame in flight (for accounting and the hook). */
  private size = 0;
  /** Hook only: the split frame's control line and the payload bytes so far. */
  private lineScratch: Buffer = Buffer.alloc(0);
  private lineLen = 0;
  private payScratch: Buffer = Buffer.alloc(0);
  private payHave = 0;
  private broken = false;

  /** Feed the next chunk read from the socket. */
  push(chunk: Buffer): void {
    if (this.broken) return;
    const end = chunk.length;
    let pos = 0;
    if (this.skip > 0) {
      pos = this.continueFrame(chunk, end);
      if (pos < 0) return;
    }
    if (this.carryLen > 0) {
      const nl = findLF(chunk, pos, end);
      if (nl < 0) {
        this.appendCarry(chunk, pos, end);
        return;
      }
      this.appendCarry(chunk, pos, nl + 1);
      pos = nl + 1;
      const lineEnd = this.carryLen;
      this.carryLen = 0;
      const need = this.control(this.carry, 0, lineEnd);
      if (need >= 0) {
        pos = this.beginFrame(this.carry, 0, lineEnd, chunk, pos, end, need);
        if (pos < 0) return;
      } else if (this.broken) return;
    }
    while (pos < end) {
      const nl = findLF(chunk, pos, end);
      if (nl < 0) {
        this.appendCarry(chunk, pos, end);
        return;
      }
      const ls = pos;
      pos = nl + 1;
      const need = this.control(chunk, ls, pos);
      if (need >= 0) {
        pos = this.beginFrame(chunk, ls, pos, chunk, pos, end, need);
        if (pos < 0) return;
      } else if (this.broken) return;
    }
  }

  /**
   * Handles one control line `[s, e)` (e is just past its LF). Returns the
   * number of bytes that follow it (payload + CRLF) for MSG/HMSG, else -1.
   */
  private control(buf: Buffer, s: number, e: number): number {
    const raw = buf[s]!;
    const c0 = raw & UP; // only meaningful for letters: '+' & UP would be 0x0b
    if (c0 === 0x4d /* M */ || (c0 === 0x48 /* H */ && (buf[s + 1]! & UP) === 0x4d)) {
      // MSG <subject> <sid> [reply] <#bytes>; HMSG ... <#hdr bytes> <#total bytes>.
      // The last token is the number of bytes that follow, in both.
      let i = e - 2;
      if (buf[i] !== CR) i = e - 1; // tolerate a bare LF
      let n = 0;
      let mul = 1;
      let d = buf[--i]! - 48;
      if (d < 0 || d > 9) return this.protocolError(buf, s, e);
      while (d >= 0 && d <= 9) {
        n += d * mul;
        mul *= 10;
        d = buf[--i]! - 48;
      }
      this.size = n;
      return n + 2;
    }
    if (c0 === 0x50 /* P */) {
      const c1 = buf[s + 1]! & UP;
      if (c1 === 0x49 /* I */) {
        this.pings++;
        this.onPing?.();
        return -1;
      }
      if (c1 === 0x4f /* O */) {
        this.pongs++;
        this.onPong?.();
        return -1;
      }
    } else if (raw === 0x2b /* + */) {
      this.oks++;
      return -1;
    } else if (raw === 0x2d /* - */) {
      this.errs++;
      this.onErr?.(trimLine(buf, s + 4, e));
      return -1;
    } else if (c0 === 0x49 /* I */) {
      this.infos++;
      this.onInfo?.(trimLine(buf, s + 4, e));
      return -1;
    } else if (raw === CR || raw === LF) {
      return -1; // empty line: harmless
    }
    return this.protocolError(buf, s, e);
  }

  private protocolError(
    buf: Buffer,
    s: number,
    e: number,
    what = 'unexpected protocol line',
  ): number {
    this.broken = true;
    const text = buf.toString('latin1', s, Math.min(e, s + 64)).replace(/[\r\n]+$/, '');
    this.onProtocolError?.(`${what}: ${JSON.stringify(text)}`);
    return -1;
  }

  /**
   * The control line of a frame needing `need` more bytes has been read; the
   * frame continues at `chunk[pos]`. Returns the position after the frame, or
   * -1 when the frame runs past the end of the chunk.
   */
  private beginFrame(
    line: Buffer,
    ls: number,
    le: number,
    chunk: Buffer,
    pos: number,
    end: number,
    need: number,
  ): number {
    if (pos + need <= end) {
      // The payload must end in CRLF; anything else means we lost the framing.
      if (chunk[pos + need - 2] !== CR || chunk[pos + need - 1] !== LF) {
        return this.protocolError(line, ls, le, 'payload not followed by CRLF, after');
      }
      this.msgs++;
      this.payloadBytes += this.size;
      this.onMsg?.(line, ls, le, chunk, pos, pos + this.size);
      return pos + need;
    }
    this.skip = need - (end - pos);
    if (this.onMsg !== null) {
      // Keep the line and the payload so far; the chunk may be gone next time.
      this.lineScratch = ensure(this.lineScratch, le - ls);
      line.copy(this.lineScratch, 0, ls, le);
      this.lineLen = le - ls;
      this.payScratch = ensure(this.payScratch, this.size);
      this.payHave = chunk.copy(this.payScratch, 0, pos, Math.min(end, pos + this.size));
    }
    return -1;
  }

  /** Continues a frame split across chunks; same result as `beginFrame`. */
  private continueFrame(chunk: Buffer, end: number): number {
    const take = Math.min(this.skip, end);
    if (this.onMsg !== null && this.payHave < this.size) {
      const n = Math.min(take, this.size - this.payHave);
      this.payHave += chunk.copy(this.payScratch, this.payHave, 0, n);
    }
    this.skip -= take;
    if (this.skip > 0) return -1;
    this.msgs++;
    this.payloadBytes += this.size;
    this.onMsg?.(this.lineScratch, 0, this.lineLen, this.payScratch, 0, this.size);
    return take;
  }

  private appendCarry(chunk: Buffer, s: number, e: number): void {
    const n = e - s;
    if (this.carryLen + n > MAX_LINE) {
      this.carryLen = 0;
      this.protocolError(chunk, s, e);
      return;
    }
    if (this.carry.length < this.carryLen + n) {
      const bigger = Buffer.allocUnsafe(Math.max(1024, (this.carryLen + n) * 2));
      this.carry.copy(bigger, 0, 0, this.carryLen);
      this.carry = bigger;
    }
    chunk.copy(this.carry, this.carryLen, s, e);
    this.carryLen += n;
  }
}

/**
 * Index of the next LF in `[from, end)`, or -1. A plain loop: control lines
 * are short, and for short distances it beats `Buffer.indexOf`'s native call.
 */
function findLF(buf: Buffer, from: number, end: number): number {
  for (let i = from; i < end; i++) {
    if (buf[i] === LF) return i;
  }
  return -1;
}

function trimLine(buf: Buffer, s: number, e: number): string {
  return buf.toString('latin1', s, e).trim();
}

function ensure(buf: Buffer, n: number): Buffer {
  return buf.length >= n ? buf : Buffer.allocUnsafe(Math.max(n, buf.length * 2, 256));
}
