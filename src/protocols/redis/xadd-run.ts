/**
 * The XADDs one connection pipelines to one stream in one read (`XADD s *
 * f v` × 64 from redis-benchmark -P 64), appended as they are read and
 * acked as one run: one notice in the stream's and the writer's queues
 * (`Stream.appendInRun`), one slot in the connection's line, and their
 * replies written as they are appended, into one buffer sent once the run
 * is durable — where each XADD had a reply slot, a notice in both queues,
 * a reply object and its ID's string (bench/PROFILE.md, "Issue 16 — xadd2
 * (round 11)"). The same replies, in the same order, after the same fsync.
 */
import type { Account } from '../../core/account.js';
import type { MatchResult } from '../../core/sublist.js';
import type { CapturedStream } from '../../jetstream/service.js';
import type { StoreNotice } from '../../streams/stream.js';
import { R, type Reply } from './encoder.js';
import { LaterReply } from './reply-line.js';
import type { LocalView } from './stream-views.js';
import { digits, writeDigits } from './xadd-head.js';

/** Most XADDs in one run (one slot in line, counted as this many replies: ReplyLine). */
export const XADD_RUN_MAX = 64;
/** The longest reply: `$41\r\n`, an ID of two 20-digit numbers and a dash, CRLF. */
const REPLY_MAX = 5 + 41 + 2;
/**
 * The replies' buffer as a run is made: XADD_RUN_MAX replies of IDs up to
 * 25 characters (a 13-digit ms part and a sequence under 10^11) in one
 * allocation from Node's pool; grown only for longer IDs. It started at one
 * reply and grew ×4 (four allocations and three copies per run of 64, ~1.5 %
 * of an XADD's main thread: bench/PROFILE.md, "Issue 16 — xadd6 (round 14)").
 * A run is made only when more was read after its first XADD.
 */
const OUT_START = XADD_RUN_MAX * (5 + 25 + 2);

/** What a run reports to (stream-store-here.ts): counters, errors, other listeners. */
export interface RunOwner {
  readonly counters: { appended: number; appendErrors: number };
  failed(cs: CapturedStream, err: unknown): string;
  heard(account: Account, cs: CapturedStream, subject: string): MatchResult | null;
  deliverTo(
    match: MatchResult,
    cs: CapturedStream,
    subject: string,
    headers: Buffer,
    payload: Buffer,
  ): void;
}

export class XaddRun extends LaterReply implements StoreNotice {
  /** XADDs in the run (their replies: this slot counts as that many in line). */
  count = 0;
  /** The stream sequence of the run's first entry; the others follow it. */
  first = 0;
  /**
   * The clock (ms) when the run's first entry was appended: the time of
   * every entry joining it (xaddJoin), as Redis takes one time per command
   * batch — a run lasts one read's turn. Date.now() per XADD was 40 % of
   * xaddJoin's own time (bench/PROFILE.md, "Issue 16 — xadd3 (round 12)").
   */
  time = 0;
  /** The replies so far, `$<n>\r\n<id>\r\n` each. */
  private out = Buffer.allocUnsafe(OUT_START);
  private len = 0;
  /** The ms part and sequence of the last reply written ('' and -1: none, or its ID was `head` alone). */
  private head = '';
  private idSeq = -1;
  /** Entries after it whose replies are not written yet: IDs `<head>-<idSeq + 1>`, … (`flush`). */
  private pend = 0;
  /** `Buffer.byteLength(subject)`: measured once per run, not by the store per XADD. */
  private readonly subjLen: number;

  readonly cs: CapturedStream;
  /**
   * The stream's name as the last XADD joining the run was read with
   * (xaddRanges; '' until one joins): the next one's name, the key memo's
   * string (stream-args.ts), is then the same string. The stream's own
   * name may be a cons string, whose comparison went into the runtime on
   * every XADD (~3.5 % of the main thread: bench/PROFILE.md, "Issue 16 —
   * xadd6 (round 14)").
   */
  key = '';
  /**
   * Nobody but the stream's capture heard the run's first entry: nobody
   * hears the others either (a subscription comes from another read, in
   * another turn, and a run lasts one turn), so they are not matched.
   */
  private quiet = false;

  constructor(
    private readonly owner: RunOwner,
    /** The stream's view, whose top XADD moves on (xaddJoin, commands/streams.ts). */
    readonly view: LocalView,
    private readonly account: Account,
    readonly subject: string,
  ) {
    super();
    this.cs = view.cs;
    this.subjLen = Buffer.byteLength(subject);
  }

  /** The stream sequence of the run's last entry (its entries are consecutive). */
  get last(): number {
    return this.first + this.count - 1;
  }

  /** Whether an XADD may join the run now: open on its stream (this turn), with room. */
  get open(): boolean {
    return this.count < XADD_RUN_MAX && this.cs.stream.openRun === this;
  }

  /**
   * Appends the entry (`headers`, the payload `payload[ps, pe)`, ID
   * `<head>-<idSeq>`, or `head` when `idSeq` < 0) to the run, and delivers
   * it to anyone else who listens; false, with nothing stored, when the run
   * is closed or full, or the stream takes no run now or refuses the entry.
   * `stamp`: `headers` came from XaddHead, whose `stamp` this is (-1: not).
   */
  append(
    headers: Buffer,
    payload: Buffer,
    ps: number,
    pe: number,
    head: string,
    idSeq: number,
    now: number,
    stamp = -1,
  ): boolean {
    if (this.count > 0 && !this.open) return false;
    const cs = this.cs;
    const sl = this.subjLen;
    const at = cs.stream.appendInRun(this.subject, headers, payload, ps, pe, now, this, stamp, sl);
    if (at === 0) return false;
    this.add(at, head, idSeq, now);
    if (this.count === 1 || !this.quiet) {
      const match = this.owner.heard(this.account, cs, this.subject);
      this.quiet = match === null;
      if (match !== null) {
        const body = ps === 0 && pe === payload.length ? payload : payload.subarray(ps, pe);
        this.owner.deliverTo(match, cs, this.subject, headers, body);
      }
    }
    return true;
  }

  /**
   * The entry stored at `seq` (the first: the run's; then the next) whose
   * ID is `<head>-<idSeq>` (`head` alone when `idSeq` is negative; at most
   * 41 characters). An entry whose ID follows the last one's (the same
   * `head`, the next sequence: every XADD joining a run but at a new ms)
   * is only counted: `flush` writes such replies a group at a time, from
   * the first one's bytes. Written one by one, a reply's ~25 bytes cost
   * ~45 ns of CPU per XADD (bench/PROFILE.md, "Issue 16 — xadd6 (round 14)").
   */
  private add(seq: number, head: string, idSeq: number, now: number): void {
    if (this.count === 0) {
      this.first = seq;
      this.time = now;
    }
    this.count++;
    // Object.is: no string feedback to break (the warm-up's ms texts are other strings).
    if (idSeq >= 0 && idSeq === this.idSeq + this.pend + 1 && Object.is(head, this.head)) {
      this.pend++;
      return;
    }
    if (this.pend > 0) this.flush();
    this.write(head, idSeq);
    this.head = idSeq < 0 ? '' : head;
    this.idSeq = idSeq;
  }

  /** Room for `n` more bytes of replies (at most XADD_RUN_MAX of REPLY_MAX in all). */
  private room(n: number): void {
    if (this.len + n <= this.out.length) return;
    const grown = Buffer.allocUnsafe(XADD_RUN_MAX * REPLY_MAX);
    this.out.copy(grown, 0, 0, this.len);
    this.out = grown;
  }

  /** Writes the reply of the ID `<head>-<idSeq>` (`head` alone when `idSeq` < 0). */
  private write(head: string, idSeq: number): void {
    const hl = head.length;
    const sl = idSeq < 0 ? 0 : digits(idSeq);
    const n = idSeq < 0 ? hl : hl + 1 + sl;
    this.room(n + 7);
    const out = this.out;
    let at = this.len;
    out[at++] = 0x24;
    if (n >= 10) out[at++] = 0x30 + ((n / 10) | 0);
    out[at++] = 0x30 + (n % 10);
    out[at++] = 13;
    out[at++] = 10;
    for (let i = 0; i < hl; i++) out[at++] = head.charCodeAt(i);
    if (idSeq >= 0) {
      out[at] = 0x2d;
      at += sl + 1;
      writeDigits(out, at, idSeq);
    }
    out[at++] = 13;
    out[at++] = 10;
    this.len = at;
  }

  /**
   * Writes the counted replies: IDs `<head>-<s>` for the `pend` sequences
   * after `idSeq`. Those with as many digits are one group: its first reply
   * written, copied over the group by one `fill`, and each copy's digits
   * written.
   */
  private flush(): void {
    const head = this.head;
    let s = this.idSeq + 1;
    let left = this.pend;
    this.idSeq += left;
    this.pend = 0;
    while (left > 0) {
      const d = digits(s);
      const k = Math.min(left, 10 ** d - s);
      const n = head.length + 1 + d;
      const size = n + (n >= 10 ? 7 : 6);
      this.room(k * size);
      const at = this.len;
      this.write(head, s);
      if (k > 1) {
        const out = this.out;
        out.fill(out.subarray(at, at + size), at + size, at + k * size);
        // A reply's digits end before its CRLF.
        for (let j = 1; j < k; j++) writeDigits(out, at + (j + 1) * size - 2, s + j);
        this.len = at + k * size;
      }
      s += k;
      left -= k;
    }
  }

  /** The run is durable (its consumers told, in order) or failed (each XADD answered with the error). */
  stored(err: unknown): void {
    const n = this.count;
    const c = this.owner.counters;
    if (err === null) {
      if (this.pend > 0) this.flush();
      const consumers = this.cs.consumers;
      for (let i = 0; i < n; i++) consumers.stored(this.first + i, this.subject);
      c.appended += n;
      this.fill(R.raw(this.out.subarray(0, this.len)));
      return;
    }
    const one = R.error(this.owner.failed(this.cs, err));
    c.appendErrors += n - 1;
    this.fill(n === 1 ? one : R.raw(errors(one, n)));
  }
}

/** `n` copies of the error reply `e`, as RESP bytes. */
function errors(e: Reply, n: number): Buffer {
  const line = Buffer.from(`-${(e as { v: string }).v.replace(/[\r\n]+/g, ' ')}\r\n`);
  const b = Buffer.allocUnsafe(line.length * n);
  for (let i = 0; i < n; i++) line.copy(b, i * line.length);
  return b;
}
