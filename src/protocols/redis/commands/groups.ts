/**
 * Consumer-group commands: XGROUP (CREATE, DESTROY, SETID, CREATECONSUMER,
 * DELCONSUMER), XREADGROUP (groups-read.ts), XACK, XPENDING, XCLAIM,
 * XAUTOCLAIM, XINFO GROUPS / CONSUMERS — Redis 7.0's arguments, replies
 * and error texts (checked against redis-server in
 * test/redis/groups-reference.test.ts); the work is in ../groups/.
 */
import type { Account } from '../../../core/account.js';
import type { CapturedStream } from '../../../jetstream/service.js';
import type { Command, CommandContext } from '../command.js';
import { R, type Reply } from '../encoder.js';
import {
  entriesReply,
  groupsOf,
  groupsOfFace,
  guarded,
  INVALID_ID,
  idReply,
  looseId,
  name,
  nameReply,
  rangeBound,
  shown,
  strictId,
  strictIds,
} from '../groups/access.js';
import { autoClaim, claim } from '../groups/claims.js';
import type { IdKey } from '../groups/ids.js';
import { groupLag } from '../groups/lag.js';
import type { LiveGroup } from '../groups/live.js';
import type { AccountGroups } from '../groups/service.js';
import { UNKNOWN_READ } from '../groups/state.js';
import type { LaterReply } from '../reply-line.js';
import { type StreamView, whenStreamsMade } from '../stream-access.js';
import { command, integer, is, NOT_INTEGER, SYNTAX } from './define.js';
import { ackInTurn } from './groups-ack.js';
import { XREADGROUP } from './groups-read.js';

const key2 = { firstKey: 2, lastKey: 2, step: 1 } as const;
const key1 = { firstKey: 1, lastKey: 1, step: 1 } as const;

const NEED_KEY =
  'ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.';

/** `-NOGROUP` as XGROUP and XINFO CONSUMERS word it. */
function noGroupFor(key: Buffer, group: Buffer): Reply {
  return R.error(`NOGROUP No such consumer group '${shown(group)}' for key name '${shown(key)}'`);
}

/** `-NOGROUP` as XPENDING, XCLAIM and XAUTOCLAIM word it. */
function noKeyOrGroup(key: Buffer, group: Buffer): Reply {
  return R.error(`NOGROUP No such key '${shown(key)}' or consumer group '${shown(group)}'`);
}

/** Redis names the subcommand as it was typed. */
function subSyntax(sub: Buffer): Reply {
  return R.error(
    `ERR unknown subcommand or wrong number of arguments for '${shown(sub)}'. Try XGROUP HELP.`,
  );
}

/** The stream of `key` and the account's groups. */
async function open(
  ctx: CommandContext,
  key: Buffer,
): Promise<{ groups: AccountGroups; cs: CapturedStream | null }> {
  const all = groupsOf(ctx);
  const cs = await all.view.lookup(ctx.client, key);
  return { groups: await all.of(ctx.client.account), cs };
}

// ---- XGROUP -----------------------------------------------------------

/** ENTRIESREAD's value, or an error reply. */
function entriesRead(arg: Buffer): number | Reply {
  const n = integer(arg);
  if (n === null) return R.error(NOT_INTEGER);
  if (n < 0n && n !== -1n) return R.error('ERR value for ENTRIESREAD must be positive or -1');
  return Number(n);
}

function xgroup(sub: 'create' | 'setid' | 'destroy' | 'createconsumer' | 'delconsumer') {
  return (ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> | Reply => {
    const n = args.length;
    let mkstream = false;
    let er: number | null = null;
    if (sub === 'create' || sub === 'setid') {
      for (let i = 5; i < n; ) {
        if (sub === 'create' && is(args[i]!, 'mkstream')) {
          mkstream = true;
          i++;
        } else if (is(args[i]!, 'entriesread') && i + 1 < n) {
          const v = entriesRead(args[i + 1]!);
          if (typeof v !== 'number') return v;
          er = v;
          i += 2;
        } else return subSyntax(args[1]!);
      }
    }
    const key = args[2]!;
    const group = args[3]!;
    return guarded(
      async () => {
        const all = groupsOf(ctx);
        let cs = await all.view.lookup(ctx.client, key);
        const groups = await all.of(ctx.client.account);
        if (cs === null && !mkstream) return R.error(NEED_KEY);
        const g = cs === null ? undefined : groups.get(cs, name(group));
        if (
          g === undefined &&
          (sub === 'setid' || sub === 'createconsumer' || sub === 'delconsumer')
        ) {
          return noGroupFor(key, group);
        }
        switch (sub) {
          case 'create': {
            if (n > 8) return subSyntax(args[1]!);
            let id: IdKey | null = null;
            if (args[4]!.toString('latin1') !== '$') {
              id = strictId(args[4]!);
              if (id === null) return R.error(INVALID_ID);
            }
            if (cs === null) cs = await all.view.create(ctx.client, key);
            const made = await groups.create(cs, name(group), id, er);
            return made ? R.ok : R.error('BUSYGROUP Consumer Group name already exists');
          }
          case 'setid': {
            if (n !== 5 && n !== 7) return subSyntax(args[1]!);
            let id: IdKey | null = null;
            if (args[4]!.toString('latin1') !== '$') {
              id = looseId(args[4]!);
              if (id === null) return R.error(INVALID_ID);
            }
            await groups.setId(cs!, g!, id, er);
            return R.ok;
          }
          case 'destroy':
            return R.int((await groups.destroy(cs!, name(group))) ? 1 : 0);
          case 'createconsumer':
            return R.int(await groups.createConsumer(g!, name(args[4]!)));
          case 'delconsumer':
            return R.int(await groups.delConsumer(cs!, g!, name(args[4]!)));
        }
      },
      ctx,
      args,
    );
  };
}

const XGROUP_HELP = [
  'XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CREATE <key> <groupname> <id|$> [option]',
  '    Create a new consumer group. Options are:',
  '    * MKSTREAM',
  '      Create the empty stream if it does not exist.',
  '    * ENTRIESREAD entries_read',
  "      Set the group's entries_read counter (internal use).",
  'CREATECONSUMER <key> <groupname> <consumer>',
  '    Create a new consumer in the specified group.',
  'DELCONSUMER <key> <groupname> <consumer>',
  '    Remove the specified consumer.',
  'DESTROY <key> <groupname>',
  '    Remove the specified group.',
  'SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]',
  '    Set the current group ID and entries_read counter.',
  'HELP',
  '    Print this help.',
];

const XGROUP: Command = command('xgroup', -2, [], undefined, {
  subcommands: [
    command('xgroup|create', -5, ['write', 'denyoom'], xgroup('create'), key2),
    command('xgroup|setid', -5, ['write'], xgroup('setid'), key2),
    command('xgroup|destroy', 4, ['write'], xgroup('destroy'), key2),
    command('xgroup|createconsumer', 5, ['write'], xgroup('createconsumer'), key2),
    command('xgroup|delconsumer', 5, ['write'], xgroup('delconsumer'), key2),
    command('xgroup|help', 2, ['loading', 'stale'], () =>
      R.array(XGROUP_HELP.map((l) => R.simple(l))),
    ),
  ],
});

// ---- XACK ---------------------------------------------------------------

export function xack(
  ctx: CommandContext,
  args: readonly Buffer[],
): Reply | LaterReply | Promise<Reply> {
  return xackNow(ctx, args) ?? xackLater(ctx, args);
}

/**
 * XACK in this turn (no Promise): the account's groups open, the key a
 * stream here with that group, every ID valid. Null otherwise (`xackLater`
 * answers, errors included).
 */
function xackNow(ctx: CommandContext, args: readonly Buffer[]): Reply | LaterReply | null {
  const all = groupsOf(ctx);
  const groups = all.ofNow(ctx.client.account);
  const cs = groups === undefined ? undefined : all.view.lookupNow(ctx, args[1]!);
  const g = cs === undefined ? undefined : groups!.get(cs, name(args[2]!));
  if (g === undefined) return null;
  const ack = strictIds(args, 3, g.state);
  return ack === null ? null : ackInTurn(groups!, cs!, g, ack);
}

function xackLater(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  return guarded(
    async () => {
      const { groups, cs } = await open(ctx, args[1]!);
      const g = cs === null ? undefined : groups.get(cs, name(args[2]!));
      if (cs === null || g === undefined) return R.int(0);
      const ids: IdKey[] = [];
      for (let i = 3; i < args.length; i++) {
        const id = strictId(args[i]!);
        if (id === null) return R.error(INVALID_ID);
        ids.push(id);
      }
      return R.int(await groups.ack(cs, g, ids));
    },
    ctx,
    args,
  );
}

// ---- XPENDING -------------------------------------------------------------

function xpending(ctx: CommandContext, args: readonly Buffer[]): Reply | Promise<Reply> {
  const n = args.length;
  if (n !== 3 && (n < 6 || n > 9)) return R.error(SYNTAX);
  let minIdle = 0;
  let start: IdKey = '';
  let end: IdKey = '';
  let count = 0;
  let consumer: string | null = null;
  if (n > 3) {
    let i = 3;
    if (is(args[i]!, 'idle')) {
      const v = integer(args[i + 1]!);
      if (v === null) return R.error(NOT_INTEGER);
      minIdle = Number(v);
      if (n < 8) return R.error(SYNTAX);
      i += 2;
    }
    const c = integer(args[i + 2]!);
    if (c === null) return R.error(NOT_INTEGER);
    count = c < 0n ? 0 : Number(c > 1_000_000_000n ? 1_000_000_000n : c);
    const s = rangeBound(args[i]!, false);
    if ('error' in s) return R.error(s.error);
    const e = rangeBound(args[i + 1]!, true);
    if ('error' in e) return R.error(e.error);
    start = s.id;
    end = e.id;
    if (i + 3 < n) consumer = name(args[i + 3]!);
  }
  return guarded(
    async () => {
      const { groups, cs } = await open(ctx, args[1]!);
      const g = cs === null ? undefined : groups.get(cs, name(args[2]!));
      if (g === undefined) return noKeyOrGroup(args[1]!, args[2]!);
      const st = g.state;
      if (n === 3) {
        if (st.pel.size === 0) return R.array([R.int(0), R.null, R.null, { t: 'nullArray' }]);
        const owners = [...st.consumers.values()]
          .filter((c) => c.pel.size > 0)
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
          .map((c) => R.array([nameReply(c.name), R.bulk(String(c.pel.size))]));
        return R.array([
          R.int(st.pel.size),
          idReply(st.pel.first()!),
          idReply(st.pel.last()!),
          R.array(owners),
        ]);
      }
      const now = Date.now();
      let pel = st.pel;
      if (consumer !== null) {
        const c = st.consumers.get(consumer);
        if (c === undefined) return R.array([]);
        pel = c.pel;
      }
      const out: Reply[] = [];
      if (start <= end) {
        for (const [id, nack] of pel.from(start, end)) {
          if (out.length >= count) break;
          if (minIdle > 0 && now - nack.time < minIdle) continue;
          out.push(
            R.array([
              idReply(id),
              nameReply(nack.consumer.name),
              R.int(Math.max(0, now - nack.time)),
              R.int(nack.count),
            ]),
          );
        }
      }
      return R.array(out);
    },
    ctx,
    args,
  );
}

// ---- XCLAIM, XAUTOCLAIM ---------------------------------------------------

function xclaim(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  return guarded(
    async () => {
      const { groups, cs } = await open(ctx, args[1]!);
      const g = cs === null ? undefined : groups.get(cs, name(args[2]!));
      if (cs === null || g === undefined) return noKeyOrGroup(args[1]!, args[2]!);
      const mi = integer(args[4]!);
      if (mi === null) return R.error('ERR Invalid min-idle-time argument for XCLAIM');
      const minIdle = mi < 0n ? 0 : Number(mi);
      const ids: IdKey[] = [];
      let j = 5;
      for (; j < args.length; j++) {
        const id = strictId(args[j]!);
        if (id === null) break;
        ids.push(id);
      }
      const now = Date.now();
      const opt: Parameters<typeof claim>[6] = { force: false, justId: false };
      for (; j < args.length; j++) {
        const more = args.length - 1 - j;
        const a = args[j]!;
        if (is(a, 'force')) opt.force = true;
        else if (is(a, 'justid')) opt.justId = true;
        else if ((is(a, 'idle') || is(a, 'time') || is(a, 'retrycount')) && more > 0) {
          const word = a.toString('latin1').toUpperCase();
          const v = integer(args[++j]!);
          if (v === null) return R.error(`ERR Invalid ${word} option argument for XCLAIM`);
          if (word === 'IDLE') opt.time = now - Number(v);
          else if (word === 'TIME') opt.time = Number(v);
          else if (v >= 0n) opt.retry = Number(v);
        } else if (is(a, 'lastid') && more > 0) {
          const id = strictId(args[++j]!);
          if (id === null) return R.error(INVALID_ID);
          opt.lastId = id;
        } else return R.error(`ERR Unrecognized XCLAIM option '${shown(a)}'`);
      }
      const got = await claim(groups, cs, g, name(args[3]!), minIdle, ids, opt);
      if (opt.justId) return R.array(got.map((e) => idReply(e.id)));
      return entriesReply(groupsOf(ctx), cs, got);
    },
    ctx,
    args,
  );
}

function xautoclaim(ctx: CommandContext, args: readonly Buffer[]): Reply | Promise<Reply> {
  const mi = integer(args[4]!);
  if (mi === null) return R.error('ERR Invalid min-idle-time argument for XAUTOCLAIM');
  const minIdle = mi < 0n ? 0 : Number(mi);
  const from = rangeBound(args[5]!, false);
  if ('error' in from) return R.error(from.error);
  const start = from.id;
  let count = 100;
  let justId = false;
  for (let j = 6; j < args.length; j++) {
    const more = args.length - 1 - j;
    if (is(args[j]!, 'count') && more > 0) {
      const c = integer(args[j + 1]!);
      // LONG_MAX / 16, as Redis bounds it.
      if (c === null || c < 1n || c > 576460752303423487n) return R.error('ERR COUNT must be > 0');
      count = Number(c);
      j++;
    } else if (is(args[j]!, 'justid')) justId = true;
    else return R.error(SYNTAX);
  }
  return guarded(
    async () => {
      const { groups, cs } = await open(ctx, args[1]!);
      const g = cs === null ? undefined : groups.get(cs, name(args[2]!));
      if (cs === null || g === undefined) return noKeyOrGroup(args[1]!, args[2]!);
      const r = await autoClaim(groups, cs, g, name(args[3]!), minIdle, start, count, justId);
      return R.array([
        idReply(r.cursor),
        justId
          ? R.array(r.claimed.map((e) => idReply(e.id)))
          : entriesReply(groupsOf(ctx), cs, r.claimed),
        R.array(r.deleted.map(idReply)),
      ]);
    },
    ctx,
    args,
  );
}

// ---- XINFO GROUPS / CONSUMERS ----------------------------------------------

async function groupInfo(groups: AccountGroups, cs: CapturedStream, g: LiveGroup): Promise<Reply> {
  const st = g.state;
  const lag = await groupLag(groups.view, cs, st);
  return R.map([
    [R.bulk('name'), nameReply(st.name)],
    [R.bulk('consumers'), R.int(st.consumers.size)],
    [R.bulk('pending'), R.int(st.pel.size)],
    [R.bulk('last-delivered-id'), idReply(st.lastId)],
    [R.bulk('entries-read'), st.entriesRead === UNKNOWN_READ ? R.null : R.int(st.entriesRead)],
    [R.bulk('lag'), lag === null ? R.null : R.int(lag)],
  ]);
}

function xinfoGroups(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  return guarded(
    async () => {
      const { groups, cs } = await open(ctx, args[2]!);
      if (cs === null) return R.error('ERR no such key');
      const out: Reply[] = [];
      for (const g of groups.groupsOf(cs).values()) out.push(await groupInfo(groups, cs, g));
      return R.array(out);
    },
    ctx,
    args,
  );
}

function xinfoConsumers(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  return guarded(
    async () => {
      const { groups, cs } = await open(ctx, args[2]!);
      if (cs === null) return R.error('ERR no such key');
      const g = groups.get(cs, name(args[3]!));
      if (g === undefined) return noGroupFor(args[2]!, args[3]!);
      const now = Date.now();
      return R.array(
        [...g.state.consumers.values()]
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
          .map((c) =>
            R.map([
              [R.bulk('name'), nameReply(c.name)],
              [R.bulk('pending'), R.int(c.pel.size)],
              [R.bulk('idle'), R.int(Math.max(0, now - c.seen))],
            ]),
          ),
      );
    },
    ctx,
    args,
  );
}

/**
 * The `groups` part of XINFO STREAM [FULL [COUNT n]] (Redis 7.0's fields),
 * for the streams commands: how many groups, and each with its PEL and
 * consumers, at most `count` pending entries each (0: all).
 */
async function streamGroups(
  face: CommandContext['face'],
  account: Account,
  view: StreamView,
  count: number,
): Promise<{ count: number; full: Reply[] }> {
  const cs = view.local
    ? face.host.jetstream?.account(account.name)?.streams.get(view.name)
    : undefined;
  if (cs === undefined) return { count: 0, full: [] };
  const all = groupsOfFace(face);
  const groups = await all.of(account);
  const out: Reply[] = [];
  const limit = count <= 0 ? Number.POSITIVE_INFINITY : count;
  const list = groups.groupsOf(cs);
  for (const g of list.values()) {
    const st = g.state;
    const lag = await groupLag(groups.view, cs, st);
    const pel: Reply[] = [];
    for (const [id, n] of st.pel.from('')) {
      if (pel.length >= limit) break;
      pel.push(R.array([idReply(id), nameReply(n.consumer.name), R.int(n.time), R.int(n.count)]));
    }
    const consumers: Reply[] = [];
    for (const c of [...st.consumers.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const mine: Reply[] = [];
      for (const [id, n] of c.pel.from('')) {
        if (mine.length >= limit) break;
        mine.push(R.array([idReply(id), R.int(n.time), R.int(n.count)]));
      }
      consumers.push(
        R.map([
          [R.bulk('name'), nameReply(c.name)],
          [R.bulk('seen-time'), R.int(c.seen)],
          [R.bulk('pel-count'), R.int(c.pel.size)],
          [R.bulk('pending'), R.array(mine)],
        ]),
      );
    }
    out.push(
      R.map([
        [R.bulk('name'), nameReply(st.name)],
        [R.bulk('last-delivered-id'), idReply(st.lastId)],
        [R.bulk('entries-read'), st.entriesRead === UNKNOWN_READ ? R.null : R.int(st.entriesRead)],
        [R.bulk('lag'), lag === null ? R.null : R.int(lag)],
        [R.bulk('pel-count'), R.int(st.pel.size)],
        [R.bulk('pending'), R.array(pel)],
        [R.bulk('consumers'), R.array(consumers)],
      ]),
    );
  }
  return { count: list.size, full: out };
}

whenStreamsMade((face, streams) => {
  streams.groupInfo = (account, view, count) => streamGroups(face, account, view, count);
});

/** XINFO's GROUPS and CONSUMERS subcommands (XINFO itself and STREAM are the streams commands'). */
export const XINFO_GROUP_SUBCOMMANDS: readonly Command[] = [
  command('xinfo|groups', 3, ['readonly'], xinfoGroups, { firstKey: 2, lastKey: 2, step: 1 }),
  command('xinfo|consumers', 4, ['readonly'], xinfoConsumers, { firstKey: 2, lastKey: 2, step: 1 }),
];

export const GROUP_COMMANDS: readonly Command[] = [
  XGROUP,
  XREADGROUP,
  command('xack', -4, ['write', 'fast'], xack, key1),
  command('xpending', -3, ['readonly'], xpending, key1),
  command('xclaim', -6, ['write', 'fast'], xclaim, key1),
  command('xautoclaim', -6, ['write', 'fast'], xautoclaim, key1),
];
