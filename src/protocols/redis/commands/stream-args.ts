/**
 * What the stream commands share: a key's stream and who may touch it,
 * the trimming options (XADD, XTRIM) as Redis reads them, and errors of
 * the JetStream layer as Redis errors.
 *
 * Permissions (docs/redis.md, "Streams"): writing a stream (XADD, XDEL,
 * XTRIM, XSETID, DEL) needs the permission to publish to every subject
 * XADD would use or the stream captures — its XADD subject for XADD;
 * reading it (XRANGE, XREAD, XLEN, XINFO, TYPE) needs the permission to
 * subscribe to every subject it captures: what the client could have
 * received live. Streams capturing the node's reserved subjects (MQTT's
 * state, webhooks) are neither readable nor writable, and not listed.
 */
import { reservedSubject } from '../../../auth/reserved.js';
import type { CommandContext } from '../command.js';
import { sameBytes } from '../dispatch.js';
import { R, type Reply } from '../encoder.js';
import { JsApiError, type StreamView } from '../stream-access.js';
import { IdErr, parseId, type StreamId, streamNameOf } from '../stream-map.js';
import { integer, is, NOT_INTEGER, SYNTAX } from './define.js';

export const NOPERM_KEY =
  'NOPERM this user has no permissions to access one of the keys used as arguments';

/** The stream name of a key, or the error reply. */
export function nameOf(key: Buffer): string | Reply {
  // A pipeline repeats its key: the last one's name is kept (a copy of the
  // key, never a view) and used once it came KEEP_AFTER times in a row.
  if (lastKey !== null && sameBytes(lastKey, key)) {
    if (repeats >= KEEP_AFTER) {
      keyMemo.hits++;
      return lastName;
    }
    repeats++;
  } else repeats = 0;
  const n = streamNameOf(key);
  if ('error' in n) return R.error(n.error);
  if (key.length <= LAST_KEY_MAX) {
    lastKey = Buffer.from(key);
    lastName = n.name;
  }
  return n.name;
}

/** `nameOf` for the key `buf[s, e)`: no view made when it is the kept key. */
export function nameAt(buf: Buffer, s: number, e: number): string | Reply {
  const n = e - s;
  const last = lastKey;
  if (last !== null && last.length === n && repeats >= KEEP_AFTER && sameKey(last, buf, s, n)) {
    keyMemo.hits++;
    return lastName;
  }
  return nameOf(buf.subarray(s, e));
}

/**
 * Whether `buf[s, s + n)` is `k` (`n` its length): four bytes a step, their
 * XORs ORed (one branch a step), and the last four bytes whatever `n` is
 * (overlapping the loop's last step): the loop and that step run for every
 * key of four bytes or more, so the row's keys (40 B in its warm-up, 34 B
 * measured) meet no compare without type feedback. A byte a step was 78 of
 * 2,047 main-thread ticks of an XADD with the row's 34-byte key
 * (bench/PROFILE.md, "Issue 16 — xadd6 (round 14)"; "xadd7 (round 15)").
 */
function sameKey(k: Buffer, buf: Buffer, s: number, n: number): boolean {
  if (n < 4) {
    for (let i = 0; i < n; i++) if (k[i] !== buf[s + i]) return false;
    return true;
  }
  const end = n - 4;
  for (let i = 0; i < end; i += 4) {
    const j = s + i;
    if (
      ((k[i]! ^ buf[j]!) |
        (k[i + 1]! ^ buf[j + 1]!) |
        (k[i + 2]! ^ buf[j + 2]!) |
        (k[i + 3]! ^ buf[j + 3]!)) !==
      0
    )
      return false;
  }
  const j = s + end;
  return (
    ((k[end]! ^ buf[j]!) |
      (k[end + 1]! ^ buf[j + 1]!) |
      (k[end + 2]! ^ buf[j + 2]!) |
      (k[end + 3]! ^ buf[j + 3]!)) ===
    0
  );
}

/** Longest key kept by nameOf for the next command. */
const LAST_KEY_MAX = 256;
/**
 * The kept name is used after the key came this many times in a row;
 * before, the name is made as on a miss. So the miss path runs after V8
 * gave the functions type feedback (a process's first calls run without),
 * and a new key later — a new stream — does not throw away the optimised
 * `xaddRead` that inlines it (bench/PROFILE.md, "xadd5 (round 13)"; the
 * same as the record encoder's subject `KEEP_AFTER`, file-record.ts).
 */
export const KEEP_AFTER = 64;
let lastKey: Buffer | null = null;
let lastName = '';
/** How many times in a row the kept key came (counted up to KEEP_AFTER). */
let repeats = 0;
/** Names given from the kept key (tests read it). */
export const keyMemo = { hits: 0 };

/** A JetStream-layer failure as a Redis error. */
export function failure(err: unknown): Reply {
  if (err instanceof JsApiError) return R.error(`ERR ${err.message}`);
  return R.error(`ERR ${(err as Error)?.message ?? String(err)}`);
}

/** A stream with a reserved subject (the node's own state) is no client's. */
export function hidden(v: StreamView): boolean {
  return (v.config.subjects ?? []).some((s) => reservedSubject(s));
}

/** Null when the client may publish to `subject`, else the error text. */
export function mayPublish(ctx: CommandContext, subject: string): string | null {
  if (reservedSubject(subject)) return NOPERM_KEY;
  const g = ctx.client.guard;
  if (g !== null && !g.publish(subject)) {
    ctx.face.host.security.counters.publishViolations++;
    return NOPERM_KEY;
  }
  return null;
}

/** Null when the client may write the stream (publish to each of its subjects). */
export function mayWrite(ctx: CommandContext, v: StreamView): string | null {
  if (hidden(v)) return NOPERM_KEY;
  for (const s of v.config.subjects ?? []) {
    const no = mayPublish(ctx, s);
    if (no !== null) return no;
  }
  return null;
}

/** Null when the client may read the stream (subscribe to each of its subjects). */
export function mayRead(ctx: CommandContext, v: StreamView): string | null {
  if (hidden(v)) return NOPERM_KEY;
  const g = ctx.client.guard;
  if (g === null) return null;
  for (const s of v.config.subjects ?? []) {
    if (!g.subscribe(s, '').ok) {
      ctx.face.host.security.counters.subscribeViolations++;
      return NOPERM_KEY;
    }
  }
  return null;
}

/** Redis's default LIMIT with `~`: 100 × stream-node-max-entries (100). */
export const APPROX_LIMIT_DEFAULT = 10_000;

export interface TrimArgs {
  strategy: 'none' | 'maxlen' | 'minid';
  approx: boolean;
  maxlen: number;
  minid: StreamId;
  /** Entries removed at most (0: no limit). */
  limit: number;
}

/** parseTrimArgs of an XADD without options (shared: nothing changes it). */
const XADD_PLAIN = Object.freeze({
  trim: Object.freeze<TrimArgs>({
    strategy: 'none',
    approx: false,
    maxlen: 0,
    minid: Object.freeze({ ms: 0n, seq: 0n }),
    limit: 0,
  }),
  next: 2,
  nomkstream: false,
});

/**
 * Redis's streamParseAddOrTrimArgsOrReply: the options from `args[2]` on;
 * for XADD up to the ID (and NOMKSTREAM). Returns the index of the ID
 * (XADD) or args.length (XTRIM), or the error text.
 */
export function parseTrimArgs(
  args: readonly Buffer[],
  xadd: boolean,
): { trim: TrimArgs; next: number; nomkstream: boolean } | string {
  // XADD without options (its ID right after the key): nothing to read.
  if (xadd && args.length > 2 && args[2]!.length === 1 && args[2]![0] === 0x2a) return XADD_PLAIN;
  const trim: TrimArgs = {
    strategy: 'none',
    approx: false,
    maxlen: 0,
    minid: { ms: 0n, seq: 0n },
    limit: 0,
  };
  let limitGiven = false;
  let nomkstream = false;
  let i = 2;
  for (; i < args.length; i++) {
    const more = args.length - 1 - i;
    const opt = args[i]!;
    if (xadd && opt.length === 1 && opt[0] === 0x2a) break;
    if (is(opt, 'maxlen') && more > 0) {
      if (trim.strategy === 'minid') {
        return 'ERR syntax error, MAXLEN and MINID options at the same time are not compatible';
      }
      trim.approx = false;
      const nx = args[i + 1]!;
      if (more >= 2 && nx.length === 1 && (nx[0] === 0x7e || nx[0] === 0x3d)) {
        trim.approx = nx[0] === 0x7e;
        i++;
      }
      const n = integer(args[i + 1]!);
      if (n === null) return NOT_INTEGER;
      if (n < 0n) return 'ERR The MAXLEN argument must be >= 0.';
      trim.maxlen = n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
      trim.strategy = 'maxlen';
      i++;
    } else if (is(opt, 'minid') && more > 0) {
      if (trim.strategy === 'maxlen') {
        return 'ERR syntax error, MAXLEN and MINID options at the same time are not compatible';
      }
      trim.approx = false;
      const nx = args[i + 1]!;
      if (more >= 2 && nx.length === 1 && (nx[0] === 0x7e || nx[0] === 0x3d)) {
        trim.approx = nx[0] === 0x7e;
        i++;
      }
      const id = parseId(args[i + 1]!, 0n);
      if (id === null) return IdErr.invalid;
      trim.minid = id;
      trim.strategy = 'minid';
      i++;
    } else if (is(opt, 'limit') && more > 0) {
      const n = integer(args[i + 1]!);
      if (n === null) return NOT_INTEGER;
      if (n < 0n) return 'ERR The LIMIT argument must be >= 0.';
      trim.limit = n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
      limitGiven = true;
      i++;
    } else if (xadd && is(opt, 'nomkstream')) {
      nomkstream = true;
    } else if (xadd) {
      break;
    } else {
      return SYNTAX;
    }
  }
  if (limitGiven && trim.strategy === 'none') {
    return 'ERR syntax error, LIMIT cannot be used without specifying a trimming strategy';
  }
  if (!xadd && trim.strategy === 'none') {
    return 'ERR syntax error, XTRIM must be called with a trimming strategy';
  }
  if (limitGiven) {
    if (!trim.approx) return 'ERR syntax error, LIMIT cannot be used without the special ~ option';
  } else trim.limit = trim.approx ? APPROX_LIMIT_DEFAULT : 0;
  return { trim, next: i, nomkstream };
}

/** A COUNT-like argument: Redis's 64-bit integer (negative → 0), or the error. */
export function countArg(b: Buffer): number | Reply {
  const n = integer(b);
  if (n === null) return R.error(NOT_INTEGER);
  if (n < 0n) return 0;
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}
