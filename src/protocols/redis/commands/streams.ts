/**
 * The stream commands that write: XADD, XTRIM, XDEL, XSETID — and XLEN —
 * on Weft streams (stream-map.ts says how, stream-access.ts where). An
 * XADD is answered once the stream acked the entry, which it does once it
 * is durable under the stream's sync policy (fsync by default). The reads
 * (XRANGE, XREVRANGE, XREAD, XINFO STREAM) are in stream-read.ts.
 *
 * Trimming is exact: `MAXLEN ~ n` keeps n entries, as `=` does (Redis may
 * keep more with `~`, never fewer), and LIMIT bounds how many go.
 */
import type { Command, CommandContext } from '../command.js';
import { R, type Reply } from '../encoder.js';
import type { LaterReply, Slot } from '../reply-line.js';
import {
  type RedisStreams,
  type StreamView,
  streamsOf,
  type XaddOutcome,
} from '../stream-access.js';
import {
  compareIds,
  encodeEntry,
  firstSeqAtOrAfter,
  formatId,
  IdErr,
  idOf,
  nextXaddId,
  parseId,
  parseXaddId,
  type StreamId,
  type XaddId,
} from '../stream-map.js';
import type { LocalView } from '../stream-views.js';
import { XaddHead } from '../xadd-head.js';
import { XaddRun } from '../xadd-run.js';
import { command, integer, is, NOT_INTEGER, SYNTAX } from './define.js';
import {
  failure,
  mayPublish,
  mayRead,
  mayWrite,
  nameAt,
  nameOf,
  parseTrimArgs,
  type TrimArgs,
} from './stream-args.js';
import { READ_COMMANDS } from './stream-read.js';

/**
 * Removes what `trim` says from the stream; how many entries went. `upTo`
 * (XADD's own entry) counts MAXLEN from that entry back: entries stored
 * after it (another client's XADD between this one's append and its
 * trim) are kept on top, never trimmed in its place. Should one of those
 * have been deleted meanwhile, one more older entry stays (Redis's rule
 * for `~`: more, never fewer).
 */
export async function trimStream(v: StreamView, trim: TrimArgs, upTo?: number): Promise<number> {
  const st = v.state();
  if (trim.strategy === 'maxlen') {
    const after = upTo === undefined ? 0 : Math.max(0, st.lastSeq - upTo);
    const over = st.messages - after - trim.maxlen;
    if (over <= 0) return 0;
    if (trim.limit === 0 || trim.limit >= over) return v.purge({ keep: trim.maxlen + after });
    return purgeFirst(v, trim.limit, Number.MAX_SAFE_INTEGER);
  }
  if (trim.strategy === 'minid') {
    const cut = await firstSeqAtOrAfter(
      { firstSeq: st.firstSeq, lastSeq: st.lastSeq, next: (s) => v.next(s) },
      trim.minid,
    );
    if (cut <= st.firstSeq) return 0;
    if (trim.limit === 0) return v.purge({ seq: cut });
    return purgeFirst(v, trim.limit, cut);
  }
  return 0;
}

/** Purges the oldest `n` entries below sequence `below`. */
async function purgeFirst(v: StreamView, n: number, below: number): Promise<number> {
  let seq = v.state().firstSeq;
  let taken = 0;
  while (taken < n) {
    const m = await v.next(seq);
    if (m === null || m.seq >= below) break;
    taken++;
    seq = m.seq + 1;
  }
  return taken === 0 ? 0 : v.purge({ seq });
}

/** XADD (the command table's; the session's fast path runs `xaddRanges` when this is the table's). */
export function xadd(
  ctx: CommandContext,
  args: readonly Buffer[],
): Reply | Promise<Reply> | LaterReply {
  const parsed = parseTrimArgs(args, true);
  if (typeof parsed === 'string') return R.error(parsed);
  const at = parsed.next;
  const rest = args.length - at - 1;
  if (rest < 2 || rest % 2 === 1) {
    return R.error("ERR wrong number of arguments for 'xadd' command");
  }
  const want = parseXaddId(args[at]!);
  if (want === null) return R.error(IdErr.invalid);
  if (want.kind === 'explicit' && want.id.ms === 0n && want.id.seq === 0n) {
    return R.error(IdErr.zero);
  }
  const name = nameOf(args[1]!);
  if (typeof name !== 'string') return name;
  const streams = streamsOf(ctx.face);
  if (parsed.trim.strategy === 'none') {
    const here = streams.hereForXadd(ctx.client.account, name);
    if (here !== null) {
      const from = at + 1;
      if (args.length - from !== 2)
        return xaddHere(ctx, streams, here, want, null, 0, 0, null, args, from);
      const f = args[from]!;
      return xaddHere(ctx, streams, here, want, f, 0, f.length, args[from + 1]!, args, from);
    }
  }
  const outcome = streams.xadd(ctx.client.account, {
    name,
    create: !parsed.nomkstream,
    check: (subject) => mayPublish(ctx, subject),
    build: entryBuilder(want, args.slice(at + 1)),
  });
  // Queued (the stream being made, or not here): the connection's next
  // commands wait, unread as commands, until no XADD to the stream is
  // queued, and then take the fast path. Else a client pipelining into a
  // stream being made queued its whole pipeline (50 x 64 XADDs in the
  // bench), each kept alive, promoted and collected, and sent through
  // the queue (bench/PROFILE.md, "Issue 16 — redis5 (round 9)").
  const queued = streams.drained(ctx.client.account, name);
  if (queued !== null) ctx.client.holdUntil(queued);
  // A trimming XADD stays `concurrent`: its trim runs once its entry is
  // durable and counts from that entry back (trimStream's `upTo`), so what
  // was stored after it is kept. Holding the connection until it is
  // answered would make an XLEN pipelined behind it exact, but it cost a
  // pipeline of trimming XADDs 5-14x (one sync round each; docs/redis.md).
  return answer(ctx, name, parsed.trim, outcome);
}

/**
 * XADD to a stream on this node whose top ID is known, without trimming,
 * in this turn: the same checks, ID and entry as `xadd`'s general path,
 * the ID formatted once (header and reply), no promise per entry: a slot
 * the stream's ack fills (bench/PROFILE.md, "Issue 16 — rstream", "Issue
 * 16 — xadd2").
 */
/**
 * `XADD <key> * <field> <value>` read as ranges of `buf` (the session's
 * fast path, parser.ts `peekXadd`: no argument array, no Buffer per
 * argument): xaddHere's answer when the stream is here with its top
 * known — `tail` itself when the XADD joined it, the connection's last
 * reply in line, a run of XADDs to the stream (xadd-run.ts; `more`: bytes
 * were read after this XADD, so one may join a run it starts); null for anything else, which the session then reads as
 * arguments and runs through `xadd` (the same answer, errors included).
 */
export function xaddRanges(
  ctx: CommandContext,
  buf: Buffer,
  ks: number,
  ke: number,
  fs: number,
  fe: number,
  vs: number,
  ve: number,
  tail: Slot | null,
  more: boolean,
): Reply | LaterReply | null {
  const name = nameAt(buf, ks, ke);
  if (typeof name !== 'string') return null;
  // Object.is, not ===: === takes its feedback from the warm-up's names (one
  // character, internalized strings) and deoptimised at a longer name.
  if (tail instanceof XaddRun && (Object.is(tail.key, name) || isRunOf(tail, name))) {
    const joined = xaddJoin(tail, buf, fs, fe, vs, ve);
    if (joined) return tail;
  }
  const streams = streamsOf(ctx.face);
  const here = streams.hereForXadd(ctx.client.account, name);
  if (here === null) return null;
  // A run is started only when another XADD may join it (more was read after this one).
  const runs = more || tail instanceof XaddRun;
  const payload = buf.subarray(vs, ve);
  return xaddHere(ctx, streams, here, AUTO, buf, fs, fe, payload, null, 0, runs ? tail : undefined);
}

const AUTO = parseXaddId(Buffer.from('*'))!;

/** Whether `run` is on the stream named `name`: then `name` is its key (compared by identity next). */
function isRunOf(run: XaddRun, name: string): boolean {
  if (!Object.is(run.cs.stream.name, name)) return false;
  run.key = name;
  return true;
}

/**
 * `XADD <key> * <field> <value>` (as ranges of `buf`) joining `run`, the
 * connection's last reply in line, a run of XADDs to the same stream
 * (xadd-run.ts): xaddHere without its lookups and checks, which the run's
 * first entry made — the stream here with its top known, the subject,
 * the permission — and which nothing since could change (the run is open
 * only within this turn, and any other command of this connection in
 * between would be the line's last reply). True once appended; false,
 * with nothing changed, when it takes xaddHere (the top not made here,
 * the run closed or full, a field its block does not take, a refusal).
 */
function xaddJoin(
  run: XaddRun,
  buf: Buffer,
  fs: number,
  fe: number,
  vs: number,
  ve: number,
): boolean {
  const meta = run.view.meta;
  const last = meta.lastId;
  // Whether the run is still open is append's first check (one getter call per XADD, not two).
  if (last !== made.id || made.seq >= Number.MAX_SAFE_INTEGER) return false;
  // The run's time (its first entry's): one clock read per run, not per XADD.
  const now = run.time;
  const tick = now > made.ms;
  const seq = tick ? 0 : made.seq + 1;
  const head = tick ? String(now) : made.msText;
  const headers = xaddHead.ofParts(head, seq, buf, fs, fe);
  if (headers === null || !run.append(headers, buf, vs, ve, head, seq, now, xaddHead.stamp))
    return false;
  const id = { ms: tick ? BigInt(now) : last.ms, seq: seqBig(seq) };
  made.ms = tick ? now : made.ms;
  made.seq = seq;
  made.msText = head;
  made.id = id;
  // The run's entries are consecutive: no state() object per XADD for the sequence.
  meta.seq = run.last;
  meta.lastId = id;
  return true;
}

/**
 * The small sequences an ID's seq part takes within one ms (a run's, at
 * up to ~1,000 here), as shared BigInts: `BigInt(seq)` allocated
 * one per XADD (bench/PROFILE.md, "Issue 16 — xadd3 (round 12)").
 */
const SEQ_BIGS: readonly bigint[] = Array.from({ length: 4096 }, (_, i) => BigInt(i));

function seqBig(seq: number): bigint {
  return seq < SEQ_BIGS.length ? SEQ_BIGS[seq]! : BigInt(seq);
}

/**
 * The entry's one field is `f[fs, fe)` with value `payload` (null: not one
 * field); `args` from `from` are its fields otherwise (null: the one field
 * is all there is).
 */
function xaddHere(
  ctx: CommandContext,
  streams: RedisStreams,
  v: LocalView,
  want: XaddId,
  f: Buffer | null,
  fs: number,
  fe: number,
  one: Buffer | null,
  args: readonly Buffer[] | null,
  from: number,
  tail?: Slot | null,
): Reply | LaterReply {
  const subject = v.xaddTarget();
  if ('error' in subject) return R.error(subject.error);
  const refused = mayPublish(ctx, subject.subject);
  if (refused !== null) return R.error(refused);
  const last = v.meta.lastId;
  const now = Date.now();
  let id: StreamId | string;
  // The ID's text is `<head>-<seq>`, or `head` alone when seq is -1: on the
  // fast path no string of the whole ID is made here (the reply's is made
  // once acked, so nothing but the shared ms text waits for the fsync).
  let head: string;
  let seq = -1;
  if (want.kind === 'auto' && last === made.id && made.seq < Number.MAX_SAFE_INTEGER) {
    // The stream's top is the ID made here last: the next from its numbers,
    // no BigInt compared, added or formatted (the same IDs as nextXaddId's).
    if (now > made.ms) {
      made.ms = now;
      made.seq = 0;
      made.msText = String(now);
      id = { ms: BigInt(now), seq: 0n };
    } else {
      made.seq++;
      id = { ms: last.ms, seq: seqBig(made.seq) };
    }
    head = made.msText;
    seq = made.seq;
    made.id = id;
  } else {
    id = nextXaddId(want, last, BigInt(now));
    if (typeof id === 'string') return R.error(id);
    head = `${id.ms}-${id.seq}`;
    made.keep(id);
  }
  // The common entry's header block in a reused buffer (xadd-head.ts); any other made here.
  let headers: Buffer | null = null;
  let payload = one;
  if (f !== null) headers = xaddHead.ofParts(head, seq, f, fs, fe);
  if (headers === null) {
    const text = seq < 0 ? head : `${head}-${seq}`;
    const e =
      args !== null
        ? encodeEntry(id, args, from, text)
        : encodeEntry(id, [f!.subarray(fs, fe), one!], 0, text);
    headers = e.headers;
    payload = e.payload;
  }
  return streams.appendEntry(
    ctx.client.account,
    v,
    subject.subject,
    id,
    headers,
    payload!,
    head,
    seq,
    now,
    tail,
  );
}

/** The header block of xaddHere's common entry, written in place (valid until the next XADD). */
const xaddHead = new XaddHead();

/**
 * The ID xaddHere made last, and its parts as numbers while both are safe
 * integers: when a stream's top is that ID (the next XADD to the same
 * stream), the next auto ID is worked out from the numbers. Comparing,
 * adding and formatting BigInts was a third of xaddHere's own time
 * (bench/PROFILE.md, "Issue 16 — rface").
 */
const made = {
  /** null: the parts are not numbers (any stream's top is then worked out with BigInts). */
  id: null as StreamId | null,
  ms: 0,
  seq: 0,
  msText: '',
  keep(id: StreamId): void {
    if (id.ms > MAX_SAFE || id.seq > MAX_SAFE) {
      this.id = null;
      return;
    }
    this.id = id;
    this.ms = Number(id.ms);
    this.seq = Number(id.seq);
    this.msText = String(id.ms);
  },
};
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * XADD's entry after the stream's last ID. Its own scope: the fields are
 * slices of the connection's read buffer, and must not stay reachable
 * from what waits for the ack.
 */
function entryBuilder(want: XaddId, fields: readonly Buffer[]) {
  return (last: StreamId) => {
    const id = nextXaddId(want, last, BigInt(Date.now()));
    if (typeof id === 'string') return id;
    const e = encodeEntry(id, fields);
    return { id, headers: e.headers, payload: e.payload };
  };
}

/** XADD's answer once the entry is acked (and the stream trimmed, when asked). */
function answer(
  ctx: CommandContext,
  name: string,
  trim: TrimArgs,
  outcome: Promise<XaddOutcome>,
): Promise<Reply> {
  return outcome.then(
    (r) => {
      if ('none' in r) return R.null;
      if ('error' in r) return R.error(r.error);
      const reply = R.bulk(formatId(r.id));
      if (trim.strategy === 'none') return reply;
      return trimStream(r.view, trim, r.seq).then(
        () => reply,
        (err: unknown) => {
          ctx.face.host.log.warn(
            `redis: XADD ${name}: the entry ${formatId(r.id)} is stored, trimming failed: ${(err as Error).message}`,
          );
          return reply;
        },
      );
    },
    (err: unknown) => failure(err),
  );
}

/** The stream of `key` for a write, or the reply (no stream: `missing`). */
async function writable(
  ctx: CommandContext,
  key: Buffer,
  missing: Reply,
): Promise<StreamView | Reply> {
  const name = nameOf(key);
  if (typeof name !== 'string') return name;
  const streams = streamsOf(ctx.face);
  await streams.settled(ctx.client.account, name);
  const v = await streams.open(ctx.client.account, name);
  if (v === null) return missing;
  const no = mayWrite(ctx, v);
  return no === null ? v : R.error(no);
}

async function xtrim(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  try {
    // Redis looks the key up first (no stream: 0, whatever the options).
    const v = await writable(ctx, args[1]!, R.int(0));
    if (!('meta' in v)) return v;
    const parsed = parseTrimArgs(args, false);
    if (typeof parsed === 'string') return R.error(parsed);
    return R.int(await trimStream(v, parsed.trim));
  } catch (err) {
    return failure(err);
  }
}

async function xdel(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  try {
    // Redis looks the key up first (no stream: 0, whatever the IDs), then checks every ID.
    const v = await writable(ctx, args[1]!, R.int(0));
    if (!('meta' in v)) return v;
    const ids: StreamId[] = [];
    for (const a of args.slice(2)) {
      const id = parseId(a, 0n, true);
      if (id === null) return R.error(IdErr.invalid);
      ids.push(id);
    }
    const streams = streamsOf(ctx.face);
    // The top ID first: deleting the top entry must not lower it.
    await streams.lastId(v);
    let deleted = 0;
    for (const id of ids) {
      const st = v.state();
      const seq = await firstSeqAtOrAfter(
        { firstSeq: st.firstSeq, lastSeq: st.lastSeq, next: (s) => v.next(s) },
        id,
      );
      const m = await v.next(seq);
      if (m === null || compareIds(idOf(m), id) !== 0) continue;
      if (!(await v.remove(m.seq))) continue;
      deleted++;
      if (compareIds(id, v.meta.maxDeletedId) > 0) v.meta.maxDeletedId = id;
    }
    return R.int(deleted);
  } catch (err) {
    return failure(err);
  }
}

async function xsetid(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  const id = parseId(args[2]!, 0n, true);
  if (id === null) return R.error(IdErr.invalid);
  let entriesAdded = -1;
  let maxDeleted: StreamId = { ms: 0n, seq: 0n };
  for (let i = 3; i < args.length; i += 2) {
    const more = args.length - 1 - i;
    if (is(args[i]!, 'entriesadded') && more > 0) {
      const n = integer(args[i + 1]!);
      if (n === null) return R.error(NOT_INTEGER);
      if (n < 0n) return R.error('ERR entries_added must be positive');
      entriesAdded = Number(n);
    } else if (is(args[i]!, 'maxdeletedid') && more > 0) {
      const d = parseId(args[i + 1]!, 0n, true);
      if (d === null) return R.error(IdErr.invalid);
      if (compareIds(id, d) < 0) {
        return R.error(
          'ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id',
        );
      }
      maxDeleted = d;
    } else return R.error(SYNTAX);
  }
  try {
    const v = await writable(ctx, args[1]!, R.error('ERR no such key'));
    if (!('meta' in v)) return v;
    const streams = streamsOf(ctx.face);
    // Makes this node's memory of the stream current before it is replaced.
    await streams.lastId(v);
    if (compareIds(id, v.meta.maxDeletedId) < 0) {
      return R.error('ERR The ID specified in XSETID is smaller than current max_deleted_entry_id');
    }
    const st = v.state();
    if (st.messages > 0) {
      // The top entry held (XDEL may have removed newer ones, which do not count).
      let held: StreamId = { ms: 0n, seq: 0n };
      for (let seq = st.lastSeq; seq >= st.firstSeq; seq--) {
        const m = await v.get(seq);
        if (m !== null) {
          held = idOf(m);
          break;
        }
      }
      if (compareIds(id, held) < 0) {
        return R.error('ERR The ID specified in XSETID is smaller than the target stream top item');
      }
      if (entriesAdded !== -1 && st.messages > entriesAdded) {
        return R.error(
          'ERR The entries_added specified in XSETID is smaller than the target stream length',
        );
      }
    }
    if (v.state().lastSeq !== st.lastSeq)
      return R.error('ERR the stream changed meanwhile; try again');
    v.meta.seq = st.lastSeq;
    v.meta.lastId = id;
    if (entriesAdded !== -1) v.meta.addedOffset = entriesAdded - st.lastSeq;
    if (maxDeleted.ms !== 0n || maxDeleted.seq !== 0n) v.meta.maxDeletedId = maxDeleted;
    return R.ok;
  } catch (err) {
    return failure(err);
  }
}

async function xlen(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  const name = nameOf(args[1]!);
  if (typeof name !== 'string') return name;
  try {
    const streams = streamsOf(ctx.face);
    await streams.settled(ctx.client.account, name);
    const v = await streams.open(ctx.client.account, name);
    if (v === null) return R.int(0);
    const no = mayRead(ctx, v);
    return no === null ? R.int(v.state().messages) : R.error(no);
  } catch (err) {
    return failure(err);
  }
}

const KEY1 = { firstKey: 1, lastKey: 1, step: 1 };

export const STREAM_COMMANDS: readonly Command[] = [
  command('xadd', -5, ['write', 'denyoom', 'fast'], xadd, { ...KEY1, concurrent: true }),
  command('xtrim', -4, ['write'], xtrim, KEY1),
  command('xdel', -3, ['write', 'fast'], xdel, KEY1),
  command('xsetid', -3, ['write', 'denyoom', 'fast'], xsetid, KEY1),
  command('xlen', 2, ['readonly', 'fast'], xlen, KEY1),
  ...READ_COMMANDS,
];
