/**
 * The stream commands that read: XRANGE, XREVRANGE, XREAD (BLOCK too) and
 * XINFO STREAM [FULL], with Redis's replies and error texts. An answer is
 * bounded: at most REDIS_RANGE_MAX entries (Redis has no such bound; ask
 * with COUNT past it).
 */
import type { Command, CommandContext } from '../command.js';
import { R, type Reply } from '../encoder.js';
import { type StreamView, streamsOf } from '../stream-access.js';
import {
  compareIds,
  type Entry,
  entryOf,
  entryReply,
  firstSeqAtOrAfter,
  formatId,
  ID_MAX,
  ID_ZERO,
  IdErr,
  idOf,
  incrId,
  parseId,
  parseRangeBound,
  redisSubject,
  type StreamId,
} from '../stream-map.js';
import { command, integer, is, NOT_INTEGER, SYNTAX } from './define.js';
import { countArg, failure, mayRead, nameOf } from './stream-args.js';

/** The most entries one read answers (or walks over, backwards, past deleted ones). */
export const REDIS_RANGE_MAX = 100_000;

const TOO_MANY = `ERR the answer would hold more than ${REDIS_RANGE_MAX} entries; ask for fewer with COUNT`;

/** Entries with IDs from `start` to `end` (inclusive), oldest first, at most `count` (0: all). */
export async function readForward(
  v: StreamView,
  start: StreamId,
  end: StreamId,
  count: number,
): Promise<Entry[] | string> {
  const st = v.state();
  const out: Entry[] = [];
  if (compareIds(start, end) > 0) return out;
  let seq = await firstSeqAtOrAfter(
    { firstSeq: st.firstSeq, lastSeq: st.lastSeq, next: (s) => v.next(s) },
    start,
  );
  for (;;) {
    if (count > 0 && out.length >= count) break;
    const m = await v.next(seq);
    if (m === null) break;
    const e = entryOf(m);
    if (compareIds(e.id, end) > 0) break;
    if (out.length >= REDIS_RANGE_MAX) return TOO_MANY;
    out.push(e);
    seq = m.seq + 1;
  }
  return out;
}

/** Entries with IDs from `end` down to `start`, newest first, at most `count` (0: all). */
async function readBackward(
  v: StreamView,
  start: StreamId,
  end: StreamId,
  count: number,
): Promise<Entry[] | string> {
  const st = v.state();
  const out: Entry[] = [];
  if (compareIds(start, end) > 0) return out;
  const after = incrId(end);
  let seq =
    after === null
      ? st.lastSeq
      : (await firstSeqAtOrAfter(
          { firstSeq: st.firstSeq, lastSeq: st.lastSeq, next: (s) => v.next(s) },
          after,
        )) - 1;
  let walked = 0;
  for (; seq >= st.firstSeq && seq >= 1; seq--) {
    if (count > 0 && out.length >= count) break;
    if (++walked > REDIS_RANGE_MAX) return TOO_MANY;
    const m = await v.get(seq);
    if (m === null) continue;
    if (compareIds(idOf(m), start) < 0) break;
    out.push(entryOf(m));
  }
  return out;
}

/** The readable stream of a key: the view, null (no stream), or the error reply. */
async function readable(ctx: CommandContext, key: Buffer): Promise<StreamView | null | Reply> {
  const name = nameOf(key);
  if (typeof name !== 'string') return name;
  const streams = streamsOf(ctx.face);
  await streams.settled(ctx.client.account, name);
  const v = await streams.open(ctx.client.account, name);
  if (v === null) return null;
  const no = mayRead(ctx, v);
  return no === null ? v : R.error(no);
}

function isView(v: StreamView | null | Reply): v is StreamView {
  return v !== null && 'meta' in v;
}

function range(rev: boolean) {
  return async (ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> => {
    // Redis reads the start first: XREVRANGE key end start.
    const start = parseRangeBound(args[rev ? 3 : 2]!, false);
    if (typeof start === 'string') return R.error(start);
    const end = parseRangeBound(args[rev ? 2 : 3]!, true);
    if (typeof end === 'string') return R.error(end);
    let count = 0;
    let counted = false;
    for (let i = 4; i < args.length; i++) {
      if (is(args[i]!, 'count') && i + 1 < args.length) {
        const n = countArg(args[++i]!);
        if (typeof n !== 'number') return n;
        count = n;
        counted = true;
      } else return R.error(SYNTAX);
    }
    if (counted && count === 0) return { t: 'nullArray' };
    try {
      const v = await readable(ctx, args[1]!);
      if (v === null) return R.array([]);
      if (!isView(v)) return v;
      const got = rev
        ? await readBackward(v, start, end, count)
        : await readForward(v, start, end, count);
      return typeof got === 'string' ? R.error(got) : R.array(got.map(entryReply));
    } catch (err) {
      return failure(err);
    }
  };
}

const UNBALANCED =
  "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.";

async function xread(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  let count = 0;
  let block = -1;
  let at = 0;
  for (let i = 1; i < args.length; i++) {
    const more = args.length - i - 1;
    const o = args[i]!;
    if (is(o, 'block') && more > 0) {
      const n = integer(args[++i]!);
      if (n === null) return R.error('ERR timeout is not an integer or out of range');
      if (n < 0n) return R.error('ERR timeout is negative');
      block = n > 2_000_000_000_000n ? 2_000_000_000_000 : Number(n);
    } else if (is(o, 'count') && more > 0) {
      const n = integer(args[++i]!);
      if (n === null) return R.error(NOT_INTEGER);
      count = n < 0n ? 0 : n > 1_000_000_000n ? 1_000_000_000 : Number(n);
    } else if (is(o, 'streams') && more > 0) {
      at = i + 1;
      if ((args.length - at) % 2 !== 0) return R.error(UNBALANCED);
      break;
    } else return R.error(SYNTAX);
  }
  if (at === 0) return R.error(SYNTAX);
  const n = (args.length - at) / 2;
  const keys = args.slice(at, at + n);
  // `$` is resolved once the streams are open; null marks it.
  const after: (StreamId | null)[] = [];
  for (const a of args.slice(at + n)) {
    if (a.length === 1 && a[0] === 0x24) after.push(null);
    else {
      const id = parseId(a, 0n, true);
      if (id === null) return R.error(IdErr.invalid);
      after.push(id);
    }
  }
  try {
    const streams = streamsOf(ctx.face);
    const names: string[] = [];
    const subjects = new Set<string>();
    for (let k = 0; k < n; k++) {
      const name = nameOf(keys[k]!);
      if (typeof name !== 'string') return name;
      names.push(name);
      const v = await readable(ctx, keys[k]!);
      if (v !== null && !isView(v)) return v;
      if (after[k] === null) after[k] = v === null ? ID_ZERO : await streams.lastId(v);
      for (const s of v === null ? [redisSubject(name)] : (v.config.subjects ?? []))
        subjects.add(s);
    }
    const look = async (): Promise<Reply | null> => {
      const found: [Buffer, Reply][] = [];
      for (let k = 0; k < n; k++) {
        const v = await readable(ctx, keys[k]!);
        if (v === null) continue;
        if (!isView(v)) return v;
        const from = incrId(after[k]!);
        if (from === null) continue;
        const got = await readForward(v, from, ID_MAX, count);
        if (typeof got === 'string') return R.error(got);
        if (got.length > 0) found.push([keys[k]!, R.array(got.map(entryReply))]);
      }
      if (found.length === 0) return null;
      if (ctx.client.protocol === 3) return R.map(found.map(([k, e]) => [R.bulk(k), e] as const));
      return R.array(found.map(([k, e]) => R.array([R.bulk(k), e])));
    };
    const now = await look();
    if (now !== null || block < 0) return now ?? { t: 'nullArray' };
    return streams.blocked.wait(ctx.client.account, [...subjects], block, ctx.client, look);
  } catch (err) {
    return failure(err);
  }
}

async function xinfoStream(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  try {
    // Redis looks the key up before it reads the options.
    const v = await readable(ctx, args[2]!);
    if (v === null) return R.error('ERR no such key');
    if (!isView(v)) return v;
    let full = false;
    let count = 10;
    if (args.length > 3) {
      const shape = `ERR unknown subcommand or wrong number of arguments for '${args[1]!.toString('latin1').slice(0, 128)}'. Try XINFO HELP.`;
      if ((args.length !== 4 && args.length !== 6) || !is(args[3]!, 'full')) return R.error(shape);
      full = true;
      if (args.length === 6) {
        if (!is(args[4]!, 'count')) return R.error(shape);
        const c = integer(args[5]!);
        if (c === null) return R.error(NOT_INTEGER);
        count = c < 0n ? 10 : c > BigInt(REDIS_RANGE_MAX) ? REDIS_RANGE_MAX : Number(c);
      }
    }
    const streams = streamsOf(ctx.face);
    const last = await streams.lastId(v);
    const st = v.state();
    const first = await v.next(st.firstSeq);
    const pairs: [string, Reply][] = [
      ['length', R.int(st.messages)],
      ['radix-tree-keys', R.int(0)],
      ['radix-tree-nodes', R.int(0)],
      ['last-generated-id', R.bulk(formatId(last))],
      ['max-deleted-entry-id', R.bulk(formatId(v.meta.maxDeletedId))],
      ['entries-added', R.int(Math.max(st.lastSeq + v.meta.addedOffset, st.messages))],
      ['recorded-first-entry-id', R.bulk(formatId(first === null ? ID_ZERO : idOf(first)))],
    ];
    const groups = (await streams.groupInfo?.(ctx.client.account, v, count)) ?? {
      count: 0,
      full: [],
    };
    if (full) {
      const got = await readForward(v, ID_ZERO, ID_MAX, count);
      if (typeof got === 'string') return R.error(got);
      pairs.push(['entries', R.array(got.map(entryReply))]);
      pairs.push(['groups', R.array(groups.full)]);
    } else {
      pairs.push(['groups', R.int(groups.count)]);
      const lastEntry = await readBackward(v, ID_ZERO, ID_MAX, 1);
      pairs.push(['first-entry', first === null ? R.null : entryReply(entryOf(first))]);
      pairs.push([
        'last-entry',
        typeof lastEntry === 'string' || lastEntry.length === 0
          ? R.null
          : entryReply(lastEntry[0]!),
      ]);
    }
    return R.map(pairs.map(([k, val]) => [R.bulk(k), val] as const));
  } catch (err) {
    return failure(err);
  }
}

const KEY1 = { firstKey: 1, lastKey: 1, step: 1 };

/** XINFO with its STREAM subcommand and `more` (the consumer groups' GROUPS, CONSUMERS). */
export function xinfoCommand(more: readonly Command[] = []): Command {
  return command('xinfo', -2, [], undefined, {
    subcommands: [
      command('xinfo|stream', -3, ['readonly'], xinfoStream, { firstKey: 2, lastKey: 2, step: 1 }),
      ...more,
    ],
  });
}

export const READ_COMMANDS: readonly Command[] = [
  command('xrange', -4, ['readonly'], range(false), KEY1),
  command('xrevrange', -4, ['readonly'], range(true), KEY1),
  command('xread', -4, ['readonly', 'blocking'], xread, { firstKey: 0, lastKey: 0, step: 0 }),
];
