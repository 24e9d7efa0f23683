/**
 * XREADGROUP GROUP <group> <consumer> [COUNT n] [BLOCK ms] [NOACK]
 * STREAMS <key>… <id>…, as Redis 7.0 reads and answers it: `>` takes new
 * entries (into the consumer's PEL unless NOACK), an ID re-reads the
 * consumer's own pending entries after it; with BLOCK and nothing new on
 * any key, the read waits for the first key that gets an entry (an XADD
 * from any face) and answers for that key alone.
 */
import type { CapturedStream } from '../../../jetstream/service.js';
import type { Command, CommandClient, CommandContext } from '../command.js';
import { R, type Reply } from '../encoder.js';
import {
  entriesReply,
  groupsOf,
  guarded,
  INVALID_ID,
  name,
  shown,
  strictId,
} from '../groups/access.js';
import type { IdKey } from '../groups/ids.js';
import type { GroupEntry, LiveGroup } from '../groups/live.js';
import { RecordDone } from '../groups/record-done.js';
import type { AccountGroups } from '../groups/service.js';
import type { LaterReply } from '../reply-line.js';
import type { XreadgroupRanges } from '../xreadgroup-peek.js';
import { command, integer, is, NOT_INTEGER, SYNTAX } from './define.js';
import { groupAt } from './groups-ack.js';
import { nameAt } from './stream-args.js';

const DOLLAR =
  'ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.';
// Redis 7.0 words it for XREAD even when XREADGROUP is called.
const UNBALANCED =
  "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.";

/** What a blocked read cancels when its client goes: one close hook per client, not per read. */
const blocked = new WeakMap<CommandClient, Set<() => void>>();

function onClientClose(client: CommandClient, cancel: () => void): () => void {
  let set = blocked.get(client);
  if (set === undefined) {
    const s = new Set<() => void>();
    set = s;
    blocked.set(client, s);
    client.onClose(() => {
      for (const f of [...s]) f();
      s.clear();
    });
  }
  set.add(cancel);
  return () => set.delete(cancel);
}

interface Target {
  readonly key: Buffer;
  readonly cs: CapturedStream;
  readonly g: LiveGroup;
  /** null: `>`. */
  readonly after: IdKey | null;
}

function reply(
  ctx: CommandContext,
  parts: readonly { key: Buffer; cs: CapturedStream; entries: readonly GroupEntry[] }[],
): Reply {
  const groups = groupsOf(ctx);
  const pairs = parts.map((p) => [R.bulk(p.key), entriesReply(groups, p.cs, p.entries)] as const);
  // RESP3: a map of key → entries (as Redis 7); RESP2: [key, entries] pairs.
  return ctx.client.protocol === 3 ? R.map(pairs) : R.array(pairs.map((p) => R.array(p)));
}

/**
 * XREADGROUP of one key at `>`, in this turn where it can (service.ts
 * `readNewNow`): the account's groups open, the key a stream here with that
 * group, its consumer answering in process. The reply, filled once the
 * read's record is written (a LaterReply), or a Promise when the read had to
 * go on through the message path. Null: the general path answers (nothing
 * changed), as when nothing is new and the read would block.
 */
function readNow(
  ctx: CommandContext,
  key: Buffer,
  gname: string,
  cname: string,
  count: number,
  noack: boolean,
  mayBeEmpty: boolean,
): Reply | LaterReply | Promise<Reply> | null {
  if (ctx.client.closed) return null;
  const all = groupsOf(ctx);
  const groups = all.ofNow(ctx.client.account);
  const cs = groups === undefined ? undefined : all.view.lookupNow(ctx, key);
  const g = cs === undefined ? undefined : groups!.get(cs, gname);
  if (g === undefined) return null;
  return readIn(ctx, groups!, cs!, g, key, cname, count, noack, mayBeEmpty);
}

/** `readNow` once its group is found. */
function readIn(
  ctx: CommandContext,
  groups: AccountGroups,
  cs: CapturedStream,
  g: LiveGroup,
  key: Buffer,
  cname: string,
  count: number,
  noack: boolean,
  mayBeEmpty: boolean,
): Reply | LaterReply | Promise<Reply> | null {
  const client = ctx.client;
  const done = new RecordDone(groups);
  const got = groups.readNewNow(cs, g, cname, count, noack, () => client.closed, done);
  if (got === null) return null;
  if (got instanceof Promise) {
    return guarded(async () => {
      const entries = await got;
      return entries.length === 0 ? { t: 'nullArray' } : reply(ctx, [{ key, cs, entries }]);
    });
  }
  if (got.length === 0 && !mayBeEmpty) return null;
  groups.counters.commandsInTurn++;
  if (got.length === 0) return { t: 'nullArray' };
  done.ok = reply(ctx, [{ key, cs, entries: got }]);
  return done;
}

/**
 * The XREADGROUP whose arguments are the ranges `x` of `buf` (the reader
 * found `GROUP <g> <c> [COUNT n] [NOACK] STREAMS <key> >`,
 * xreadgroup-peek.ts), where `xreadgroup` would answer it in this turn
 * (`readNow`): its reply. Null, with nothing changed, for anything else:
 * the session then reads it as arguments and runs the table's XREADGROUP
 * (the same answer, errors included). No Buffer per argument, no option
 * word compared as a string (bench/PROFILE.md, "Issue 16 — rgroup9 (round
 * 14)").
 */
export function xreadgroupRanges(
  ctx: CommandContext,
  buf: Buffer,
  x: XreadgroupRanges,
): Reply | LaterReply | Promise<Reply> | null {
  if (ctx.client.closed) return null;
  const all = groupsOf(ctx);
  const groups = all.ofNow(ctx.client.account);
  if (groups === undefined) return null;
  const sname = nameAt(buf, x.keyStart, x.keyEnd);
  if (typeof sname !== 'string') return null;
  const cs = all.view.lookupNowNamed(ctx, sname);
  if (cs === undefined) return null;
  const g = groups.get(cs, groupAt(buf, x.groupStart, x.groupEnd));
  if (g === undefined) return null;
  const cname = buf.toString('latin1', x.consumerStart, x.consumerEnd);
  const key = keyAt(buf, x.keyStart, x.keyEnd);
  return readIn(ctx, groups, cs, g, key, cname, x.count, x.noack, true);
}

/** Longest key kept for the next read's reply. */
const LAST_KEY_MAX = 256;
let lastKey: Buffer | null = null;

/**
 * The key `buf[s, e)` as a Buffer of its own for the reply (which is
 * written after the bytes read are gone): the last one's when the same
 * bytes (a consumer reads one key in a loop). Never written to.
 */
function keyAt(buf: Buffer, s: number, e: number): Buffer {
  const n = e - s;
  const last = lastKey;
  if (last !== null && last.length === n) {
    let i = 0;
    while (i < n && last[i] === buf[s + i]) i++;
    if (i === n) return last;
  }
  const key = Buffer.from(buf.subarray(s, e));
  if (n <= LAST_KEY_MAX) lastKey = key;
  return key;
}

export function xreadgroup(
  ctx: CommandContext,
  args: readonly Buffer[],
): Reply | LaterReply | Promise<Reply> {
  let block: number | null = null;
  let count = 0;
  let noack = false;
  let group: Buffer | null = null;
  let consumer: Buffer | null = null;
  let streamsAt = 0;
  let n = 0;
  for (let i = 1; i < args.length; i++) {
    const more = args.length - i - 1;
    const a = args[i]!;
    if (is(a, 'block') && more > 0) {
      const v = integer(args[++i]!);
      if (v === null) return R.error('ERR timeout is not an integer or out of range');
      if (v < 0n) return R.error('ERR timeout is negative');
      block = Number(v);
    } else if (is(a, 'count') && more > 0) {
      const v = integer(args[++i]!);
      if (v === null) return R.error(NOT_INTEGER);
      count = v < 0n ? 0 : Number(v > 1_000_000_000n ? 1_000_000_000n : v);
    } else if (is(a, 'streams') && more > 0) {
      streamsAt = i + 1;
      n = args.length - streamsAt;
      if (n % 2 !== 0) return R.error(UNBALANCED);
      n /= 2;
      break;
    } else if (is(a, 'group') && more >= 2) {
      group = args[i + 1]!;
      consumer = args[i + 2]!;
      i += 2;
    } else if (is(a, 'noack')) {
      noack = true;
    } else return R.error(SYNTAX);
  }
  if (streamsAt === 0) return R.error(SYNTAX);
  if (group === null || consumer === null)
    return R.error('ERR Missing GROUP option for XREADGROUP');
  const gname = name(group);
  const cname = name(consumer);
  const client = ctx.client;
  if (n === 1) {
    const idArg = args[streamsAt + 1]!;
    if (idArg.length === 1 && idArg[0] === 0x3e /* > */) {
      const now = readNow(ctx, args[streamsAt]!, gname, cname, count, noack, block === null);
      if (now !== null) return now;
    }
  }
  return guarded(
    async () => {
      const all = groupsOf(ctx);
      const groups = await all.of(client.account);
      const targets: Target[] = [];
      for (let i = 0; i < n; i++) {
        const key = args[streamsAt + i]!;
        const idArg = args[streamsAt + n + i]!;
        const cs = await all.view.lookup(client, key);
        const g = cs === null ? undefined : groups.get(cs, gname);
        if (cs === null || g === undefined) {
          return R.error(
            `NOGROUP No such key '${shown(key)}' or consumer group '${shown(group!)}' in XREADGROUP with GROUP option`,
          );
        }
        const text = idArg.toString('latin1');
        if (text === '$') return R.error(DOLLAR);
        if (text === '>') {
          targets.push({ key, cs, g, after: null });
          continue;
        }
        const id = strictId(idArg);
        if (id === null) return R.error(INVALID_ID);
        targets.push({ key, cs, g, after: id });
      }
      const closed = () => client.closed;
      const parts: { key: Buffer; cs: CapturedStream; entries: GroupEntry[] }[] = [];
      for (const t of targets) {
        if (t.after === null) {
          const entries = await groups.readNew(t.cs, t.g, cname, count, noack, closed);
          if (entries.length > 0) parts.push({ key: t.key, cs: t.cs, entries });
        } else {
          const entries = await groups.readHistory(t.cs, t.g, cname, t.after, count);
          parts.push({ key: t.key, cs: t.cs, entries });
        }
      }
      if (parts.length > 0) return reply(ctx, parts);
      if (block === null || client.closed) return { t: 'nullArray' };
      // Nothing new anywhere: wait for the first key that gets an entry.
      const deadline = block > 0 ? Date.now() + block : 0;
      for (;;) {
        const left = deadline === 0 ? 0 : deadline - Date.now();
        if (deadline !== 0 && left <= 0) return { t: 'nullArray' };
        let drop = (): void => {};
        const woke = await groups.waitAny(targets, left, (cancel) => {
          drop = onClientClose(client, cancel);
        });
        drop();
        if (woke === null || client.closed) return { t: 'nullArray' };
        const t = targets[woke.index]!;
        const entries = await groups.readNew(t.cs, t.g, cname, count, noack, closed, woke.first);
        if (entries.length > 0) return reply(ctx, [{ key: t.key, cs: t.cs, entries }]);
      }
    },
    ctx,
    args,
    block,
  );
}

export const XREADGROUP: Command = command(
  'xreadgroup',
  -7,
  ['write', 'blocking'],
  xreadgroup,
  // Keys follow STREAMS: Redis describes them with a keyword search, shown here as movable.
  { firstKey: 0, lastKey: 0, step: 0 },
);
