/**
 * Pub/Sub commands: PUBLISH, SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE,
 * PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH, PUBSUB … — on the
 * core's subjects (channels.ts, ../pubsub.ts), with Redis's replies: one
 * (p|s)subscribe confirmation per name, sent as pushes.
 */
import type { RedisClient } from '../client.js';
import type { Command, CommandContext } from '../command.js';
import { R, type Reply } from '../encoder.js';
import { publishRange } from '../publish.js';
import type { SubKind } from '../pubsub.js';
import { command } from './define.js';

function client(ctx: CommandContext): RedisClient {
  return ctx.client as RedisClient;
}

const WORDS: Record<SubKind, [string, string]> = {
  channel: ['subscribe', 'unsubscribe'],
  pattern: ['psubscribe', 'punsubscribe'],
  shard: ['ssubscribe', 'sunsubscribe'],
};

/** What a (un)subscribe confirmation counts: channels and patterns, or shard channels. */
function countOf(c: RedisClient, kind: SubKind): number {
  const s = c.subscriptions;
  return kind === 'shard' ? s.shardCount : s.count;
}

/** PUBLISH and SPUBLISH (the session's fast path runs it for PUBLISH when the table has it). */
export function publish(ctx: CommandContext, args: readonly Buffer[]): Reply {
  const c = client(ctx);
  const chan = args[1]!;
  const payload = args[2]!;
  return publishRange(
    ctx.face,
    c,
    c.publishCache,
    chan,
    0,
    chan.length,
    payload,
    0,
    payload.length,
  );
}

function subscribe(kind: SubKind) {
  return (ctx: CommandContext, args: readonly Buffer[]): null | Reply => {
    const c = client(ctx);
    const s = c.subscriptions;
    const names = args.slice(1);
    const refused = s.check(kind, names);
    if (refused !== null) {
      ctx.face.core.counters.subscribeDenied++;
      ctx.face.host.security.counters.subscribeViolations++;
      return R.error(refused);
    }
    for (const name of names) {
      const err = s.add(kind, name);
      if (err !== null) {
        c.push(R.error(err));
        continue;
      }
      c.push(R.array([R.bulk(WORDS[kind][0]), R.bulk(name), R.int(countOf(c, kind))]));
    }
    return null;
  };
}

function unsubscribe(kind: SubKind) {
  return (ctx: CommandContext, args: readonly Buffer[]): null => {
    const c = client(ctx);
    const s = c.subscriptions;
    const names = args.length > 1 ? args.slice(1) : s.names(kind);
    const word = WORDS[kind][1];
    if (names.length === 0) {
      c.push(R.array([R.bulk(word), R.null, R.int(countOf(c, kind))]));
      return null;
    }
    for (const name of names) {
      s.remove(kind, name);
      c.push(R.array([R.bulk(word), R.bulk(name), R.int(countOf(c, kind))]));
    }
    return null;
  };
}

function glob(args: readonly Buffer[]): Buffer | null {
  return args.length > 2 ? args[2]! : null;
}

const PUBSUB_SUBCOMMANDS: readonly Command[] = [
  command('pubsub|channels', -2, ['pubsub', 'loading', 'stale'], (ctx, args) =>
    R.array(
      ctx.face.pubsub.names(ctx.client.account.name, 'channel', glob(args)).map((n) => R.bulk(n)),
    ),
  ),
  command('pubsub|shardchannels', -2, ['pubsub', 'loading', 'stale'], (ctx, args) =>
    R.array(
      ctx.face.pubsub.names(ctx.client.account.name, 'shard', glob(args)).map((n) => R.bulk(n)),
    ),
  ),
  command('pubsub|numsub', -2, ['pubsub', 'loading', 'stale'], (ctx, args) =>
    R.array(
      args
        .slice(2)
        .flatMap((n) => [
          R.bulk(n),
          R.int(ctx.face.pubsub.count(ctx.client.account.name, 'channel', n)),
        ]),
    ),
  ),
  command('pubsub|shardnumsub', -2, ['pubsub', 'loading', 'stale'], (ctx, args) =>
    R.array(
      args
        .slice(2)
        .flatMap((n) => [
          R.bulk(n),
          R.int(ctx.face.pubsub.count(ctx.client.account.name, 'shard', n)),
        ]),
    ),
  ),
  command('pubsub|numpat', 2, ['pubsub', 'loading', 'stale'], (ctx) =>
    R.int(ctx.face.pubsub.patterns(ctx.client.account.name)),
  ),
];

const SUB_FLAGS = ['pubsub', 'noscript', 'loading', 'stale'] as const;

export const PUBSUB_COMMANDS: readonly Command[] = [
  command('publish', 3, ['pubsub', 'loading', 'stale', 'fast'], publish),
  command('spublish', 3, ['pubsub', 'loading', 'stale', 'fast'], publish, {
    firstKey: 1,
    lastKey: 1,
    step: 1,
  }),
  command('subscribe', -2, SUB_FLAGS, subscribe('channel')),
  command('unsubscribe', -1, SUB_FLAGS, unsubscribe('channel')),
  command('psubscribe', -2, SUB_FLAGS, subscribe('pattern')),
  command('punsubscribe', -1, SUB_FLAGS, unsubscribe('pattern')),
  command('ssubscribe', -2, SUB_FLAGS, subscribe('shard'), { firstKey: 1, lastKey: -1, step: 1 }),
  command('sunsubscribe', -1, SUB_FLAGS, unsubscribe('shard'), {
    firstKey: 1,
    lastKey: -1,
    step: 1,
  }),
  command('pubsub', -2, [], undefined, { subcommands: PUBSUB_SUBCOMMANDS }),
];
